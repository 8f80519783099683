"""Exports (GEXF, GraphML, Gephi CSV, UCINET DL) and sociograms, read back by other readers."""

import xml.etree.ElementTree as ET

import igraph as ig
import numpy as np
import pandas as pd
import pytest

from acap.errors import AcapInputError
from acap.network import (
    AdviceNetwork, draw_sociogram, export_all, node_metrics, write_gephi_csv,
    write_gexf, write_graphml, write_ucinet_dl,
)
from acap.network.export import METRIC_COLUMNS, STRUCTURAL_ATTRIBUTES, select_attributes
from acap.network.sociogram import sociogram_layout
from conftest import FIXTURES

FIX = FIXTURES / "network"


@pytest.fixture(scope="module")
def board():
    e = pd.read_csv(FIX / "board15_edges.csv")
    nd = pd.read_csv(FIX / "board15_nodes.csv").drop(columns="responded")
    nd["name"] = [f"Person {k}" for k in range(len(nd))]
    return e, nd


def labelled_edges(e, nd):
    """Ties keyed by export label (P01... in roster order) -> weight."""
    lab = dict(zip(nd["id"], [f"P{k:02d}" for k in range(1, len(nd) + 1)]))
    return {(lab[s], lab[t]): float(w) for s, t, w in e[["source", "target", "weight"]].itertuples(index=False)}


def test_gexf_structure_and_viz(board, tmp_path):
    e, nd = board
    met = node_metrics(e, nd)
    p = write_gexf(e, nd, tmp_path / "b.gexf", metrics=met)
    root = ET.parse(p).getroot()
    ns = {"g": "http://gexf.net/1.3", "viz": "http://gexf.net/1.3/viz"}
    assert root.get("version") == "1.3"
    assert root.find("g:graph", ns).get("defaultedgetype") == "directed"
    nodes = root.findall(".//g:node", ns)
    assert len(nodes) == len(nd)                      # isolates kept
    text = p.read_text()
    assert "Person" not in text and "b01" not in text  # pseudonymous by default
    sizes = np.array([float(n.find("viz:size", ns).get("value")) for n in nodes])
    order_b = np.argsort(met["betweenness"].to_numpy(), kind="stable")
    assert np.all(np.diff(sizes[order_b]) >= -1e-9)     # size follows betweenness
    reds = np.array([int(n.find("viz:color", ns).get("g")) for n in nodes])
    deg = (met.in_degree + met.out_degree).to_numpy()
    assert reds[np.argmax(deg)] < reds[np.argmin(deg)]  # darker (less green) = higher degree
    edges = root.findall(".//g:edge", ns)
    want = labelled_edges(e, nd)
    got = {(x.get("source"), x.get("target")): float(x.find("viz:thickness", ns).get("value"))
           for x in edges}
    assert got == want                                  # thickness = frequency


def test_gexf_reads_in_networkx(board, tmp_path):
    import networkx as nx  # a test dependency: missing, the test fails
    e, nd = board
    p = write_gexf(e, nd, tmp_path / "b.gexf", names_enabled=True)
    G = nx.read_gexf(p)
    assert G.is_directed() and G.number_of_nodes() == len(nd) and G.number_of_edges() == len(e)
    assert {G.nodes[v]["label"] for v in G} == set(nd["name"])
    want = labelled_edges(e, nd)
    assert {(a, b): d["weight"] for a, b, d in G.edges(data=True)} == want


def test_graphml_reads_in_igraph(board, tmp_path):
    e, nd = board
    met = node_metrics(e, nd)
    p = write_graphml(e, nd, tmp_path / "b.graphml", metrics=met)
    g = ig.Graph.Read_GraphML(str(p))
    assert g.is_directed() and g.vcount() == len(nd) and g.ecount() == len(e)
    names = g.vs["id"]
    got = {(names[x.source], names[x.target]): x["weight"] for x in g.es}
    assert got == labelled_edges(e, nd)
    np.testing.assert_allclose(g.vs["betweenness"], met["betweenness"].to_numpy())
    assert g.vs["group"] == list(nd["group"])


def test_gephi_csv(board, tmp_path):
    e, nd = board
    ep, npth = write_gephi_csv(e, nd, tmp_path / "e.csv", tmp_path / "n.csv")
    edges = pd.read_csv(ep)
    assert list(edges.columns) == ["Source", "Target", "Weight", "Type"]
    assert set(edges.Type) == {"Directed"}
    got = {(a, b): float(w) for a, b, w in edges[["Source", "Target", "Weight"]].itertuples(index=False)}
    assert got == labelled_edges(e, nd)
    nodes = pd.read_csv(npth)
    assert list(nodes.columns[:2]) == ["Id", "Label"] and len(nodes) == len(nd)
    assert "name" not in nodes.columns


def test_ucinet_dl_fullmatrix_and_edgelist(board, tmp_path):
    e, nd = board
    p = write_ucinet_dl(e, nd, tmp_path / "b.dl", format="fullmatrix")
    lines = p.read_text().splitlines()
    assert lines[0] == f"DL N={len(nd)}" and lines[1] == "FORMAT = FULLMATRIX"
    data = lines[lines.index("DATA:") + 1:]
    mat = np.array([[float(v) for v in row.split()] for row in data])
    labels = lines[lines.index("LABELS:") + 1:lines.index("DATA:")]
    ref = np.zeros_like(mat)
    for (a, b), w in labelled_edges(e, nd).items():
        ref[labels.index(a), labels.index(b)] = w
    np.testing.assert_array_equal(mat, ref)
    p2 = write_ucinet_dl(e, nd, tmp_path / "b2.dl", format="edgelist1")
    g = ig.Graph.Read_DL(str(p2))                      # igraph's UCINET reader
    names = g.vs["name"]
    got = {(names[x.source], names[x.target]): x["weight"] for x in g.es}
    assert got == labelled_edges(e, nd)


def test_sociogram_png_svg(board, tmp_path):
    e, nd = board
    paths = draw_sociogram(e, tmp_path / "soc", nd, seed=3)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[0].stat().st_size > 10_000
    svg = ET.parse(paths[1]).getroot()
    assert svg.tag.endswith("svg")
    assert "Person" not in paths[1].read_text()


def test_layout_is_seeded():
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    a = sociogram_layout(4, edges, w, seed=7)
    b = sociogram_layout(4, edges, w, seed=7)
    c = sociogram_layout(4, edges, w, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_export_all(board, tmp_path):
    e, nd = board
    net = AdviceNetwork.from_frames(nd, e, organisation="NHS Test ICB")
    out = export_all(net, tmp_path)
    assert set(out) == {"gexf", "graphml", "edges_csv", "nodes_csv", "dl",
                        "sociogram_png", "sociogram_svg"}
    assert all(p.exists() for p in out.values())
    assert out["gexf"].name == "nhs_test_icb.gexf"


# ---------------------------------------------------------------------------------------------
# identities: pseudonyms by default, names only when enabled, raw ids never
# ---------------------------------------------------------------------------------------------

FIRST = ["Alice", "Bashir", "Ceri", "Dmitri", "Eilidh", "Farah", "Gwen", "Hamish", "Ifeoma",
         "Jonah", "Keziah", "Lorcan", "Morwenna", "Nkechi", "Oisin"]


@pytest.fixture(scope="module")
def named_roster(board):
    """board15 with respondent-style ids, real-looking names in both ``label`` and ``name``,
    and attribute columns that carry identities (an e-mail, a staff number, a manager)."""
    e, nd = board
    rid = {old: f"RSP-{7301 + k}" for k, old in enumerate(nd["id"])}
    roster = nd.drop(columns="name").assign(
        id=nd["id"].map(rid),
        label=[f"{f} Label-Surname{k}" for k, f in enumerate(FIRST)],
        name=[f"{f} Name-Surname{k}" for k, f in enumerate(FIRST)],
        email=[f"{f.lower()}.x@nhs.example" for f in FIRST],
        staff_id=np.arange(880011, 880011 + len(nd)),
        line_manager=[f"{FIRST[0]} Name-Surname0"] * len(nd),
        team=["north", "south", "east"] * 5,
    )
    roster.loc[3, "name"] = ""  # no name: the label column stands in when names are enabled
    ties = e.assign(source=e["source"].map(rid), target=e["target"].map(rid))
    return ties, roster


def _write_everything(ties, roster, directory, names_enabled):
    """Every export writer's files, as text."""
    net = AdviceNetwork.from_frames(roster, ties, organisation="ICB Q", names_enabled=names_enabled)
    out = export_all(net, directory)
    kw = dict(names_enabled=names_enabled)
    extra = [write_gexf(ties, roster, directory / "direct.gexf", **kw),
             write_graphml(ties, roster, directory / "direct.graphml", **kw),
             *write_gephi_csv(ties, roster, directory / "de.csv", directory / "dn.csv", **kw),
             write_ucinet_dl(ties, roster, directory / "d1.dl", format="edgelist1", **kw),
             write_ucinet_dl(ties, roster, directory / "d2.dl", format="fullmatrix", **kw)]
    files = [p for k, p in out.items() if k != "sociogram_png"] + extra
    assert len(files) == 12
    return {p.name: p.read_text(encoding="utf-8") for p in files}


def _identities(roster):
    ids = roster["id"].tolist()
    names = [x for col in ("label", "name") for x in roster[col].tolist() if x]
    surnames = [x.split()[-1] for x in names]
    return ids, names + surnames + roster["email"].tolist() + [str(v) for v in roster["staff_id"]]


def test_no_name_or_raw_id_in_any_export_by_default(named_roster, tmp_path):
    ties, roster = named_roster
    texts = _write_everything(ties, roster, tmp_path, names_enabled=False)
    ids, personal = _identities(roster)
    for fname, text in texts.items():
        for value in ids + personal:
            assert value not in text, (fname, value)
        assert "P01" in text or fname.endswith(".svg"), fname
    # the sociogram SVG writes each drawn label as a comment; they are pseudonyms
    svg = next(t for f, t in texts.items() if f.endswith(".svg"))
    assert "P01" in svg
    # structural attributes survive; anything off the allow-list does not, harmless or not
    nodes = pd.read_csv(tmp_path / "dn.csv")
    assert "group" in nodes.columns and "betweenness" in nodes.columns
    assert not {"team", "email", "staff_id", "line_manager", "label", "name", "id"} & set(nodes.columns)
    assert list(nodes["Id"]) == list(nodes["Label"]) == [f"P{k:02d}" for k in range(1, 16)]


def test_names_appear_as_labels_only_when_enabled(named_roster, tmp_path):
    ties, roster = named_roster
    texts = _write_everything(ties, roster, tmp_path, names_enabled=True)
    ids, _ = _identities(roster)
    want = roster["name"].where(roster["name"] != "", roster["label"]).tolist()
    assert want[3].startswith("Dmitri Label-")  # the label column stands in for a blank name
    for fname, text in texts.items():
        for value in ids + roster["email"].tolist() + [str(v) for v in roster["staff_id"]]:
            assert value not in text, (fname, value)  # raw ids and id columns: never
        if not fname.endswith((".svg", "edges.csv", "de.csv")):  # files that carry labels
            for label in want:
                assert label in text, (fname, label)
    # ids stay pseudonymous; the names are labels
    ns = {"g": "http://gexf.net/1.3"}
    gexf_nodes = ET.parse(tmp_path / "direct.gexf").getroot().findall(".//g:node", ns)
    assert [n.get("id") for n in gexf_nodes] == [f"P{k:02d}" for k in range(1, 16)]
    assert [n.get("label") for n in gexf_nodes] == want
    g = ig.Graph.Read_GraphML(str(tmp_path / "direct.graphml"))
    assert g.vs["id"] == [f"P{k:02d}" for k in range(1, 16)] and g.vs["label"] == want
    nodes = pd.read_csv(tmp_path / "dn.csv")
    assert nodes["Label"].tolist() == want and nodes["Id"].str.fullmatch(r"P\d\d").all()
    dl = (tmp_path / "d1.dl").read_text().splitlines()
    assert dl[dl.index("LABELS:") + 1:dl.index("DATA:")] == [f'"{x}"' for x in want]
    # and never a name that was not asked for: label column names stay out where a name exists
    assert "Alice Label-Surname0" not in texts["direct.gexf"]


def test_pseudonymous_label_column_is_kept_other_labels_are_not():
    from acap.network.model import display_labels, node_pseudonyms
    ids = ["u1", "u2", "u3"]
    shuffled = pd.DataFrame({"id": ids, "label": ["P03", "P01", "P02"]})
    assert node_pseudonyms(shuffled).tolist() == ["P03", "P01", "P02"]  # as simulate_networks makes
    for bad in (["Ann", "Bo", "Cy"],            # names
                ["P01", "P1", "P02"],           # not one width
                ["P01", "P01", "P02"],          # not unique
                ["P01", "P02", None],           # incomplete
                ["P001x", "P002", "P003"]):     # not the pseudonym form
        assert node_pseudonyms(pd.DataFrame({"id": ids, "label": bad})).tolist() == ["P01", "P02", "P03"], bad
    # raw ids that look like pseudonyms are raw ids all the same
    looks = pd.DataFrame({"id": ["P02", "P01"], "label": ["P01", "P02"]})
    assert node_pseudonyms(looks).tolist() == ["P01", "P02"]
    named = pd.DataFrame({"id": ids, "label": ["Ann Lee", "", None], "name": ["", "Bo Li", None]})
    assert display_labels(named).tolist() == ["P01", "P02", "P03"]
    assert display_labels(named, names_enabled=True).tolist() == ["Ann Lee", "Bo Li", "P03"]
    net = AdviceNetwork.from_frames(named, pd.DataFrame({"source": ["u1"], "target": ["u2"], "weight": [2]}))
    assert net.labels().tolist() == ["P01", "P02", "P03"]


def test_board_subnetwork_keeps_each_persons_pseudonym(board):
    e, nd = board
    net = AdviceNetwork.from_frames(nd.assign(board=[k % 2 == 0 for k in range(len(nd))]), e)
    sub = net.board()
    assert sub.labels().tolist() == net.labels()[sub.nodes["id"]].tolist()
    assert sub.labels().tolist()[:3] == ["P01", "P03", "P05"]


# ---------------------------------------------------------------------------------------------
# node attributes: an allow-list (metrics + structural roster columns + what the caller names)
# ---------------------------------------------------------------------------------------------

SENSITIVE = ["potential", "staff_no", "NHS number", "initials", "email", "name"]


@pytest.fixture(scope="module")
def scored_roster(board):
    """board15 with numeric staff-number ids, an individual ACAP score and personal columns."""
    e, nd = board
    rng = np.random.default_rng(20261121)
    n = len(nd)
    rid = dict(zip(nd["id"], range(4470001, 4470001 + n)))
    roster = nd.drop(columns="name").assign(
        id=nd["id"].map(rid),
        role=["board_chair", "gp_lead", "finance", "analyst", "nurse_lead"] * 3,
        # 7 decimals: each value's text is distinctive (a coordinate will not match it)
        potential=np.round(rng.uniform(1.5, 4.9, n), 7),
        staff_no=nd["id"].map(rid).to_numpy(),            # numeric, a copy of the roster id
        initials=[f"{f[0]}.{chr(75 + k % 10)}.W." for k, f in enumerate(FIRST)],
        email=[f"{f.lower()}.w@nhs.example" for f in FIRST],
        name=[f"{f} Surname{k}" for k, f in enumerate(FIRST)],
    )
    roster["NHS number"] = [f"943 476 {5910 + k:04d}" for k in range(n)]
    roster["responded"] = [k % 7 != 3 for k in range(n)]
    ties = e.assign(source=e["source"].map(rid), target=e["target"].map(rid))
    ties = ties[ties["source"].isin(roster.loc[roster["responded"], "id"])]
    return ties.reset_index(drop=True), roster


def _all_files(ties, roster, directory, attributes=()):
    """GEXF, GraphML, both CSVs, DL edgelist1 and fullmatrix and the SVG, as text."""
    net = AdviceNetwork.from_frames(roster, ties, organisation="ICB S")
    out = export_all(net, directory / "all", attributes=attributes)
    kw = dict(attributes=attributes)
    files = [out[k] for k in ("gexf", "graphml", "edges_csv", "nodes_csv", "dl", "sociogram_svg")]
    files += [write_gexf(ties, roster, directory / "d.gexf", **kw),
              write_graphml(ties, roster, directory / "d.graphml", **kw),
              *write_gephi_csv(ties, roster, directory / "de.csv", directory / "dn.csv", **kw),
              write_ucinet_dl(ties, roster, directory / "d1.dl", format="edgelist1"),
              write_ucinet_dl(ties, roster, directory / "d2.dl", format="fullmatrix")]
    return {str(p.relative_to(directory)): p.read_text(encoding="utf-8") for p in files}


def _attribute_names(directory):
    """Node attribute names as GEXF, GraphML and the node CSVs declare them."""
    out = {}
    for gexf in ("all/icb_s.gexf", "d.gexf"):
        root = ET.parse(directory / gexf).getroot()
        out[gexf] = [a.get("title") for a in root.findall(
            ".//{http://gexf.net/1.3}attributes[@class='node']/{http://gexf.net/1.3}attribute")]
    for gml in ("all/icb_s.graphml", "d.graphml"):
        root = ET.parse(directory / gml).getroot()
        out[gml] = [k.get("attr.name") for k in root.findall("{http://graphml.graphdrawing.org/xmlns}key")
                    if k.get("for") == "node"]
    for csv_ in ("all/icb_s_nodes.csv", "dn.csv"):
        out[csv_] = list(pd.read_csv(directory / csv_).columns)
    return out


def _sensitive_values(roster):
    vals = [str(v) for v in roster["potential"]] + [str(v) for v in roster["staff_no"]]
    for col in ("NHS number", "initials", "email", "name"):
        vals += [str(v) for v in roster[col]]
    return vals


def test_scores_and_identifiers_are_not_exported_by_default(scored_roster, tmp_path):
    ties, roster = scored_roster
    texts = _all_files(ties, roster, tmp_path)
    assert len(texts) == 12
    values = _sensitive_values(roster)
    for fname, text in texts.items():
        for col in ("potential", "staff_no", "NHS number", "initials"):
            assert col not in text, (fname, col)
        for v in values:
            assert v not in text, (fname, v)
    for fname, names in _attribute_names(tmp_path).items():
        assert not set(SENSITIVE) & set(names), (fname, names)
        # exactly the allow-list: structural roster columns, then metrics
        assert set(names) - {"Id", "Label", "label"} <= set(STRUCTURAL_ATTRIBUTES) | set(METRIC_COLUMNS), names
        assert {"role", "group", "board", "betweenness", "in_degree"} <= set(names), (fname, names)
    nodes = pd.read_csv(tmp_path / "all" / "icb_s_nodes.csv")
    assert nodes["responded"].tolist() == roster["responded"].tolist()
    assert nodes["role"].tolist() == roster["role"].tolist()


def test_named_attributes_are_exported(scored_roster, tmp_path):
    ties, roster = scored_roster
    texts = _all_files(ties, roster, tmp_path, attributes=("potential",))
    pot = roster["potential"].to_numpy()
    for fname, names in _attribute_names(tmp_path).items():
        assert "potential" in names and not set(SENSITIVE[1:]) & set(names), (fname, names)
    for fname in ("all/icb_s_nodes.csv", "dn.csv"):
        np.testing.assert_array_equal(pd.read_csv(tmp_path / fname)["potential"].to_numpy(), pot)
    g = ig.Graph.Read_GraphML(str(tmp_path / "d.graphml"))
    np.testing.assert_array_equal(g.vs["potential"], pot)
    import networkx as nx  # a test dependency: missing, the test fails
    G = nx.read_gexf(tmp_path / "all" / "icb_s.gexf")
    np.testing.assert_array_equal([G.nodes[v]["potential"] for v in G], pot)
    # the DL file and the sociogram carry no attributes, named or not
    for fname in ("all/icb_s.dl", "d1.dl", "d2.dl", "all/icb_s_sociogram.svg", "de.csv"):
        assert "potential" not in texts[fname] and str(pot[0]) not in texts[fname], fname
    # other sensitive values stay out even when one column is named
    for fname, text in texts.items():
        for v in _sensitive_values(roster)[len(pot):]:
            assert v not in text, (fname, v)


def test_select_attributes_allow_list(scored_roster, caplog, tmp_path):
    ties, roster = scored_roster
    sel = select_attributes(roster)
    assert sel.roster == ("role", "group", "board", "responded") and sel.metrics == ()
    assert set(SENSITIVE) <= set(sel.dropped) and "id" not in sel.dropped
    # a caller's metrics frame is filtered too: only metric columns, unless named
    met = node_metrics(ties, roster).assign(potential=roster["potential"].to_numpy())
    sel = select_attributes(roster, met)
    assert set(sel.metrics) == set(METRIC_COLUMNS) & set(met.columns) and "potential" not in sel.metrics
    sel = select_attributes(roster, met, attributes=["potential", "role"])
    assert sel.roster == ("group", "board", "responded", "potential", "role")
    assert "potential" not in sel.metrics
    assert select_attributes(roster, attributes="staff_no").roster[-1] == "staff_no"  # one name
    # never: raw ids and names (names only ever appear as labels with names_enabled)
    for bad in ("id", "name", "label", " Name"):
        with pytest.raises(AcapInputError, match="cannot be exported"):
            select_attributes(roster, attributes=(bad,))
    with pytest.raises(AcapInputError, match="potental"):
        write_gexf(ties, roster, tmp_path / "never.gexf", attributes=("potental",))
    assert not (tmp_path / "never.gexf").exists()
    # structural columns that copy the id or hold names are dropped all the same
    odd = roster.assign(group=roster["name"], role_group=roster["id"], role=roster["role"])
    assert select_attributes(odd).roster == ("role", "board", "responded")
    codes = roster.assign(group=np.arange(1, len(roster) + 1) % 3)  # numeric codes are fine
    assert "group" in select_attributes(codes).roster
    # the note lists column names, never values
    with caplog.at_level("INFO", logger="acap.network.export"):
        write_graphml(ties, roster, tmp_path / "n.graphml")
    note = " ".join(r.getMessage() for r in caplog.records)
    assert "potential" in note and "NHS number" in note
    assert not any(v in note for v in _sensitive_values(roster))

