"""Exports (GEXF, GraphML, Gephi CSV, UCINET DL) and sociograms, read back by other readers."""

import xml.etree.ElementTree as ET

import igraph as ig
import numpy as np
import pandas as pd
import pytest

from acap.network import (
    AdviceNetwork, OUTSIDE_CATEGORIES, draw_sociogram, export_all, node_metrics, write_gephi_csv,
    write_gexf, write_graphml, write_ucinet_dl,
)
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
    nx = pytest.importorskip("networkx")
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
    rows = [(i, k, 2, 3) for i, k in zip(nd["id"][:6], list(OUTSIDE_CATEGORIES)[:6])]
    contacts = pd.DataFrame(rows, columns=["respondent", "category", "count", "frequency"])
    paths = draw_sociogram(e, tmp_path / "soc", nd, contacts=contacts, seed=3)
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
