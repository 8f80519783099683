"""Golden tests for acap.network metrics against sna / igraph (R), fixtures from tests/r/network.R."""

import json

import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.network import (
    AdviceNetwork, board_density, contacts_by_category, ei_index, node_metrics,
    outside_diversity, prepare_ties, summary,
)
from conftest import FIXTURES

FIX = FIXTURES / "network"
GRAPHS = ["board15", "random40", "study"]
TOL = 1e-6
NODE_COLS = ["in_degree", "out_degree", "in_strength", "out_strength", "betweenness",
             "closeness", "closeness_harmonic", "constraint", "coordinator", "itinerant",
             "representative", "gatekeeper", "liaison"]
GRAPH_KEYS = ["n_nodes", "n_ties", "density", "valued_density", "reciprocity",
              "degree_centralization", "indegree_centralization", "outdegree_centralization",
              "betweenness_centralization", "ei_index"]


def load(name):
    e = pd.read_csv(FIX / f"{name}_edges.csv")
    nd = pd.read_csv(FIX / f"{name}_nodes.csv")
    return e, nd


def complete(name):
    """The full network (every row observed): drop the responded column."""
    e, nd = load(name)
    return e, nd.drop(columns="responded")


@pytest.mark.parametrize("name", GRAPHS)
def test_node_metrics_match_sna_and_igraph(name):
    e, nd = complete(name)
    ref = pd.read_csv(FIX / f"{name}_node.csv").set_index("id")
    got = node_metrics(e, nd, group="group")
    assert list(got.index) == list(ref.index)  # isolates kept, roster order
    for c in NODE_COLS:
        np.testing.assert_allclose(got[c].to_numpy(), ref[c].to_numpy(), atol=TOL, rtol=0,
                                   err_msg=c)
    n = len(nd)
    np.testing.assert_allclose(got["betweenness_norm"], ref["betweenness"] / ((n - 1) * (n - 2)),
                               atol=TOL)


@pytest.mark.parametrize("name", GRAPHS)
def test_binary_constraint_matches_igraph(name):
    e, nd = complete(name)
    ref = pd.read_csv(FIX / f"{name}_node.csv").set_index("id")
    got = node_metrics(e.assign(weight=1), nd)
    np.testing.assert_allclose(got["constraint"], ref["constraint_binary"], atol=TOL)


@pytest.mark.parametrize("name", GRAPHS)
def test_effective_size_matches_networkx_definition(name):
    import networkx as nx  # a test dependency: missing, the test fails
    e, nd = complete(name)
    G = nx.DiGraph()
    G.add_nodes_from(nd["id"])
    G.add_weighted_edges_from(e[["source", "target", "weight"]].itertuples(index=False))
    # nodes=list(G) takes networkx's per-node path (its whole-graph scipy path divides the
    # marginal strengths by the wrong row's maximum in networkx 3.6).
    ref = pd.Series(nx.effective_size(G, nodes=list(G), weight="weight"))
    ref = ref.reindex(nd["id"])
    got = node_metrics(e, nd)
    # networkx also returns NaN for a node with in-ties only (it tests G[v], the
    # successors); Burt's measure is defined there, so compare where networkx has a value.
    has = ref.notna().to_numpy()
    np.testing.assert_allclose(got["effective_size"].to_numpy()[has], ref.to_numpy()[has],
                               atol=TOL)
    ties = (got["in_degree"] + got["out_degree"]).to_numpy() > 0
    assert np.isfinite(got["effective_size"].to_numpy()[ties]).all()


@pytest.mark.parametrize("name", GRAPHS)
def test_summary_matches_sna(name):
    e, nd = complete(name)
    ref = json.loads((FIX / f"{name}_graph.json").read_text())
    s = summary(e, nd, group="group")
    for k in GRAPH_KEYS:
        assert s[k] == pytest.approx(ref[k], abs=TOL), k
    assert ei_index(e, nd, "group") == pytest.approx(ref["ei_index"], abs=TOL)
    if "board_density" in ref:
        assert s["board_density"] == pytest.approx(ref["board_density"], abs=TOL)
        assert board_density(e, nd) == pytest.approx(ref["board_density"], abs=TOL)
    assert s["nonresponse"] == "observed" and s["symmetrise"] == "none"
    assert s["warning"] is None


def test_nonresponse_observed_matches_sna_na_rows():
    e, nd = load("board15")
    ref = json.loads((FIX / "board15_graph.json").read_text())
    s = summary(e, nd)
    assert s["density"] == pytest.approx(ref["observed_density"], abs=TOL)
    assert s["valued_density"] == pytest.approx(ref["observed_valued_density"], abs=TOL)
    assert s["reciprocity"] == pytest.approx(ref["observed_reciprocity"], abs=TOL)
    assert s["response_rate"] == pytest.approx(ref["response_rate"], abs=TOL)
    m = node_metrics(e, nd)
    nonresp = nd.loc[~nd.responded, "id"]
    assert m.loc[nonresp, "out_degree"].isna().all()   # missing, not zero
    assert m.loc[nonresp, "in_degree"].notna().all()
    assert m.attrs["nonresponse"] == "observed"


def test_nonresponse_zero_and_reconstruct_match_r():
    e, nd = load("board15")
    ref = json.loads((FIX / "board15_graph.json").read_text())
    z = summary(e, nd, nonresponse="zero")
    assert z["density"] == pytest.approx(ref["zero_density"], abs=TOL)
    assert z["reciprocity"] == pytest.approx(ref["zero_reciprocity"], abs=TOL)
    r = summary(e, nd, nonresponse="reconstruct")
    assert r["density"] == pytest.approx(ref["reconstruct_density"], abs=TOL)
    assert r["valued_density"] == pytest.approx(ref["reconstruct_valued_density"], abs=TOL)
    assert r["reciprocity"] == pytest.approx(ref["reconstruct_reciprocity"], abs=TOL)
    assert r["betweenness_centralization"] == pytest.approx(
        ref["reconstruct_betweenness_centralization"], abs=TOL)
    assert r["nonresponse"] == "reconstruct" and r["n_reconstructed"] > 0
    rn = pd.read_csv(FIX / "board15_reconstruct_node.csv").set_index("id")
    got = node_metrics(e, nd, nonresponse="reconstruct")
    for c in rn.columns:
        np.testing.assert_allclose(got[c], rn[c], atol=TOL, err_msg=c)


def test_symmetrise_rules_match_r():
    e, nd = complete("board15")
    ref = json.loads((FIX / "board15_graph.json").read_text())
    for rule in ("max", "min"):
        s = summary(e, nd, symmetrise=rule)
        assert s["density"] == pytest.approx(ref[f"{rule}_density"], abs=TOL)
        assert s["valued_density"] == pytest.approx(ref[f"{rule}_valued_density"], abs=TOL)
        assert s["reciprocity"] == pytest.approx(1.0) and s["symmetrise"] == rule


def test_low_response_rate_warns():
    e, nd = load("board15")
    nd = nd.assign(responded=[i % 2 == 0 for i in range(len(nd))])
    s = summary(e, nd)
    assert s["response_rate"] < 0.8
    assert "Costenbader" in s["warning"]


def test_outside_diversity_matches_r():
    c = pd.read_csv(FIX / "contacts.csv")
    ref = pd.read_csv(FIX / "contacts_diversity.csv").set_index("id")
    got = outside_diversity(c).loc[ref.index]
    for col in ref.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float),
                                   atol=TOL, err_msg=col)
    _, nd = load("board15")
    full = outside_diversity(c, nd)
    assert list(full.index) == list(nd["id"])
    by_cat = contacts_by_category(c)
    assert by_cat["total_count"].sum() == c["count"].sum()


def test_weights_are_never_distances():
    # Same binary structure, different frequencies: path metrics must not change.
    e, nd = complete("random40")
    a = node_metrics(e, nd)
    b = node_metrics(e.assign(weight=6 - e.weight), nd)
    for c in ("betweenness", "closeness", "closeness_harmonic"):
        np.testing.assert_array_equal(a[c], b[c])
    assert not np.allclose(a["in_strength"], b["in_strength"])


def test_nodes_optional_and_isolates_kept():
    e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [2, 5]})
    m = node_metrics(e)
    assert list(m.index) == ["a", "b", "c"] and m.loc["b", "betweenness"] == 1
    nd = pd.DataFrame({"id": ["a", "b", "c", "z"]})
    m2 = node_metrics(e, nd)
    assert m2.loc["z", "in_degree"] == 0 and np.isnan(m2.loc["z", "constraint"])


@pytest.mark.parametrize("bad, msg", [
    (pd.DataFrame({"source": ["a"], "target": ["q"], "weight": [1]}), "not on the roster"),
    (pd.DataFrame({"source": ["a"], "target": ["a"], "weight": [1]}), "self-tie"),
    (pd.DataFrame({"source": ["a", "a"], "target": ["b", "b"], "weight": [1, 2]}), "duplicate"),
    (pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [7]}), "frequency"),
])
def test_model_validation(bad, msg):
    roster = pd.DataFrame({"id": ["a", "b", "c"]})
    with pytest.raises(AcapInputError, match=msg):
        AdviceNetwork.from_frames(roster, bad, organisation="ICB X")


def test_network_model_labels_and_board():
    roster = pd.DataFrame({"id": [10, 11, 12], "name": ["Ann", "Bo", ""],
                           "board": [True, True, False], "responded": [True, False, True]})
    ties = pd.DataFrame({"source": [10, 12], "target": [11, 10], "weight": [3, 4]})
    contacts = pd.DataFrame({"respondent": [10], "category": ["academia"], "count": [2]})
    net = AdviceNetwork.from_frames(roster, ties, contacts, organisation="ICB")
    assert list(net.labels()) == ["P01", "P02", "P03"]
    named = AdviceNetwork.from_frames(roster, ties, names_enabled=True)
    assert list(named.labels()) == ["Ann", "Bo", "P03"]
    assert net.response_rate == pytest.approx(2 / 3)
    assert len(net.board().nodes) == 2 and len(net.board().ties) == 1
    rec = net.prepared(nonresponse="reconstruct")
    assert ((rec.edges.source == 11) & (rec.edges.target == 10)).any()
    bad = pd.DataFrame({"source": [11], "target": [10], "weight": [2]})
    with pytest.raises(AcapInputError, match="non-respondent"):
        AdviceNetwork.from_frames(roster, bad)
    with pytest.raises(AcapInputError, match="category"):
        AdviceNetwork.from_frames(roster, ties, pd.DataFrame(
            {"respondent": [10], "category": ["pubs"], "count": [1]}))


def test_prepare_ties_bad_option():
    e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [1]})
    with pytest.raises(AcapInputError, match="nonresponse"):
        prepare_ties(e, nonresponse="impute")
    with pytest.raises(AcapInputError, match="role"):
        node_metrics(e, pd.DataFrame({"id": ["a", "b"]}), group="role")


def test_split_organisations_and_empty_graphs():
    from acap.network import split_organisations
    e, nd = load("board15")
    e = e[~e.source.isin(nd.loc[~nd.responded, "id"])]
    nd2 = nd.assign(id=nd["id"] + "x")
    e2 = e.assign(source=e.source + "x", target=e.target + "x")
    nodes = pd.concat([nd.assign(organisation="A"), nd2.assign(organisation="B")])
    edges = pd.concat([e.assign(organisation="A"), e2.assign(organisation="B")])
    nets = split_organisations(edges, nodes, names_enabled={"B": True})
    assert list(nets) == ["A", "B"] and not nets["A"].names_enabled and nets["B"].names_enabled
    a = summary(nets["A"].ties, nets["A"].nodes)
    b = summary(nets["B"].ties, nets["B"].nodes)
    assert a["density"] == b["density"] and a["response_rate"] == pytest.approx(13 / 15)
    empty = pd.DataFrame({"source": [], "target": [], "weight": []})
    m = node_metrics(empty, pd.DataFrame({"id": ["a", "b", "c"]}))
    assert (m["betweenness"] == 0).all() and m["constraint"].isna().all()
    assert summary(empty, pd.DataFrame({"id": ["a", "b", "c"]}))["density"] == 0
