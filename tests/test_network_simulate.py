"""acap.network.simulate: plausible, seeded advice networks, and linking recovers what was planted."""

from __future__ import annotations

import igraph as ig
import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.network.link import link_individual, link_organisation
from acap.network.model import OUTSIDE_CATEGORIES
from acap.network.simulate import simulate_networks

ROLES = ["board_chair", "board_chief_executive", "board_non_executive", "board_executive_director",
         "gp_clinical_lead", "commissioning_manager", "analyst", "finance", "public_health",
         "patient_public_rep"]


def people(n_org=10, seed=0, sizes=(8, 35)):
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_org):
        m = int(rng.integers(*sizes))
        for i in range(m):
            rows.append({"respondent_id": f"o{k}r{i}", "organisation": f"Org {k}",
                         "role": ROLES[int(rng.integers(len(ROLES)))]})
    df = pd.DataFrame(rows)
    df["acap"] = rng.normal(size=len(df))
    return df


@pytest.fixture(scope="module")
def sim():
    return simulate_networks(people(), seed=11)


def graph(edges, nodes) -> ig.Graph:
    pos = {v: k for k, v in enumerate(nodes.id)}
    return ig.Graph(n=len(pos), edges=list(zip(edges.source.map(pos), edges.target.map(pos))),
                    directed=True)


def board_density(edges, nodes):
    """Ties among board members over observed cells (respondent sender)."""
    b = nodes[nodes.board]
    ids = set(b.id)
    ties = edges[edges.source.isin(ids) & edges.target.isin(ids)]
    cells = b.responded.sum() * (len(b) - 1)
    return len(ties) / cells


def test_board_density_in_range(sim):
    dens = []
    for org in sim.organisations.index:
        e, n = sim.organisation(org)
        dens.append(board_density(e, n))
    dens = np.array(dens)
    assert ((dens >= 0.4) & (dens <= 0.8)).all(), dens
    assert dens.std() > 0.03  # boards differ
    assert (sim.organisations.board_size >= 5).all()


def test_board_density_agrees_with_metrics_summary(sim):
    from acap.network import summary
    org = sim.organisations.index[0]
    e, n = sim.organisation(org)
    b = n[n.board]
    eb = e[e.source.isin(b.id) & e.target.isin(b.id)]
    assert summary(eb, b)["density"] == pytest.approx(board_density(e, n))


def test_reproducible_with_seed():
    p = people(n_org=4, seed=1)
    a = simulate_networks(p, seed=5, score="acap", score_effect=0.5)
    b = simulate_networks(p, seed=5, score="acap", score_effect=0.5)
    c = simulate_networks(p, seed=6, score="acap", score_effect=0.5)
    for name in ("edges", "nodes", "contacts"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not a.edges.equals(c.edges)


def test_nonrespondents_have_no_out_ties(sim):
    nodes = sim.nodes.set_index("id")
    nonresp = set(nodes.index[~nodes.responded])
    assert 0 < len(nonresp) < 0.3 * len(nodes)
    assert not sim.edges.source.isin(nonresp).any()
    assert sim.edges.target.isin(nonresp).any()  # others still name them
    assert not sim.contacts.respondent.isin(nonresp).any()


def test_edges_weights_and_structure(sim):
    e = sim.edges
    assert e.weight.between(1, 5).all() and e.weight.nunique() >= 4
    assert not (e.source == e.target).any()
    assert not e.duplicated(["source", "target"]).any()
    same_org = e.source.map(sim.nodes.set_index("id").organisation) == e.organisation
    assert same_org.all() and (e.target.map(sim.nodes.set_index("id").organisation) == e.organisation).all()
    # reciprocity typical of advice networks: well above chance, well below all
    rec = []
    for org in sim.organisations.index:
        x, _ = sim.organisation(org)
        pairs = set(zip(x.source, x.target))
        rec.append(np.mean([(t, s) in pairs for s, t in pairs]))
    assert 0.3 < np.mean(rec) < 0.85


def test_labels_pseudonymous(sim):
    for org, n in sim.nodes.groupby("organisation"):
        assert n.label.is_unique
        assert n.label.str.fullmatch(r"P\d+").all()
    assert not (sim.nodes.label == sim.nodes.id).any()


def test_contacts(sim):
    c = sim.contacts
    assert set(c.category) == set(OUTSIDE_CATEGORIES)
    assert (c.groupby("respondent").size() == len(OUTSIDE_CATEGORIES)).all()
    assert ((c["count"] > 0) == c.frequency.notna()).all()
    assert c.frequency.dropna().between(1, 5).all()
    # role shapes contacts: GP leads see more GP practices than analysts do
    role = c.respondent.map(sim.nodes.set_index("id").role)
    gp = c[(c.category == "gp_practices")]
    assert gp[role[gp.index] == "gp_clinical_lead"]["count"].mean() > \
        gp[role[gp.index] == "analyst"]["count"].mean()


def test_brokers_have_high_betweenness(sim):
    ratio = []
    for org in sim.organisations.index:
        e, n = sim.organisation(org)
        if not n.broker.any():
            continue
        g = graph(e, n)
        btw = pd.Series(g.betweenness(directed=True), index=n.id)
        ratio.append(btw[n.id[n.broker]].mean() / max(btw[n.id[~n.broker]].mean(), 1e-9))
    assert np.median(ratio) > 2


def test_linking_recovers_planted_score_degree_association():
    p = people(n_org=10, seed=2)
    planted = simulate_networks(p, seed=3, score="acap", score_effect=0.6)
    null = simulate_networks(p, seed=3, score="acap", score_effect=0.0)
    out = {}
    for name, s in (("planted", planted), ("null", null)):
        rows = []
        for org in s.organisations.index:
            e, n = s.organisation(org)
            g = graph(e, n)
            rows.append(pd.DataFrame({"in_degree": g.degree(mode="in"),
                                      "organisation": org}, index=n.id))
        metrics = pd.concat(rows)
        out[name] = link_individual(p[["respondent_id", "acap"]], metrics,
                                    organisation="organisation", n_perm=999, seed=1).table
    hit = out["planted"].loc[("acap", "in_degree")]
    assert hit.slope > 0 and hit.p_slope < 0.01 and hit.spearman_rho > 0.2
    assert out["null"].loc[("acap", "in_degree"), "p_slope"] > 0.05


def test_organisation_level_runs_on_simulated_boards(sim):
    rows = {}
    for org in sim.organisations.index:
        e, n = sim.organisation(org)
        rows[org] = {"density": board_density(e, n)}
    scores = pd.DataFrame({"acap": np.linspace(3, 6, len(rows))}, index=list(rows))
    res = link_organisation(scores, pd.DataFrame.from_dict(rows, orient="index"), seed=1)
    assert res.table.loc[("acap", "density"), "n"] == len(rows)


def test_bad_input():
    p = people(n_org=2)
    with pytest.raises(AcapInputError):
        simulate_networks(p.drop(columns="role"))
    with pytest.raises(AcapInputError):
        simulate_networks(p, score_effect=0.5)
    with pytest.raises(AcapInputError):
        simulate_networks(p, board_density=(0.9, 0.2))
    with pytest.raises(AcapInputError):
        simulate_networks(pd.concat([p, p.iloc[:1]]))


def test_link_networks_end_to_end_finds_planted_dyadic_effect():
    from acap.network.link import link_networks
    p = people(n_org=6, seed=8, sizes=(25, 36))
    s = simulate_networks(p, seed=9, score="acap", score_effect=0.7)
    org_scores = p.groupby("organisation")[["acap"]].mean()
    res = link_networks(s.edges, s.nodes, p[["respondent_id", "acap"]], org_scores,
                        dyadic_score="acap", n_perm=500, seed=1)
    assert res.individual.loc[("acap", "in_degree"), "p_slope"] < 0.01
    assert "few organisations" in res.organisation.loc[("acap", "density"), "caution"]
    assert set(res.dyadic.index.get_level_values("organisation")) == set(s.organisations.index)
    recv = res.dyadic.xs("acap_receiver", level="term")
    assert (recv.estimate > 0).mean() >= 5 / 6 and (recv.p_greater < 0.05).mean() >= 0.5
    assert set(res.metrics.organisation) == set(s.organisations.index)
    assert {"density", "reciprocity"} <= set(res.org_network.columns)
