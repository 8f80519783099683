"""Exports a Gephi or UCINET user expects: GEXF 1.3, GraphML, Gephi CSV, UCINET DL.

Identities: every export uses pseudonyms (``P01`` ... in roster order, from
:func:`acap.network.model.pseudonyms`) as node ids and labels. A roster's ``label`` and
``name`` columns may hold real names: they appear (as labels only, never as ids) when the
organisation's lead enabled names (``names_enabled=True``). Roster ids never leave the
library, since they may be e-mails or staff numbers.

Node attributes are an allow-list (:func:`select_attributes`), not a deny-list: the
computed metrics (:data:`METRIC_COLUMNS`: degrees, strengths, betweenness, closeness,
constraint, effective size, brokerage roles) and the structural roster attributes
:data:`STRUCTURAL_ATTRIBUTES` (``role``, ``role_group``, ``group``, ``board``,
``responded``). Every other roster or metrics column is left out, numeric or not: an
individual ACAP score (``potential``), a staff or NHS number, initials, an e-mail. A caller
who needs more names the columns with ``attributes=(...)`` (:func:`write_gexf`,
:func:`write_graphml`, :func:`write_gephi_csv`, :func:`export_all`) and takes
responsibility for what they hold; ``id``, ``label`` and ``name`` can never be named. The
names (never the values) of dropped columns go to the ``acap.network.export`` logger at
INFO level. UCINET DL files carry labels and ties only.

Visual encoding (GEXF ``viz`` attributes, as in the reference study's Gephi figures):
colour = total degree on a yellow-to-red ramp, size = betweenness, edge thickness =
frequency, arrows = direction (``defaultedgetype="directed"``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
# The helpers exports share with sociograms live in _shared; the public ones are re-exported.
from acap.network._shared import (  # noqa: F401
    METRIC_COLUMNS, NEVER_EXPORTED, SIZE_MAX, SIZE_MIN, STRUCTURAL_ATTRIBUTES, AttributeSelection, _inputs, _log,
    _prepare, _ties_and_roster, betweenness_sizes, degree_colours, export_labels, select_attributes,
)
from acap.network.model import AdviceNetwork

GEXF_NS = "http://gexf.net/1.3"
VIZ_NS = "http://gexf.net/1.3/viz"
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "double"
    return "string"


def _fmt(v, kind: str) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if kind == "boolean":
        return "true" if bool(v) else "false"
    if kind == "integer":
        return str(int(v))
    if kind == "double":
        return repr(float(v))
    return str(v)


def _write_xml(root: ET.Element, path: Path) -> Path:
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    ET.parse(path)  # fail here, not in Gephi, if the file is not well-formed
    return path


def write_gexf(edges, nodes: pd.DataFrame | None, path, *, names_enabled: bool = False,
               metrics: pd.DataFrame | None = None, organisation: str = "",
               layout: np.ndarray | None = None, attributes=()) -> Path:
    """Write a GEXF 1.3 file with Gephi ``viz`` attributes.

    Parameters
    ----------
    edges : DataFrame or AdviceNetwork
        source, target, weight (frequency). An :class:`AdviceNetwork` supplies nodes and
        ``names_enabled`` itself.
    nodes : DataFrame or None
        Roster (``id`` and attributes).
    path : str or Path
    names_enabled : bool
        Use real names (the ``name`` column, else ``label``) as node labels; node ids stay
        pseudonymous.
    metrics : DataFrame, optional
        Output of :func:`acap.network.node_metrics` (computed when omitted); written as
        node attributes and used for colour (degree) and size (betweenness).
    organisation : str
        Written in the file's description.
    layout : array (n, 2), optional
        Node positions (``viz:position``).
    attributes : sequence of str, default ()
        Roster (or metrics) columns to write besides the allow-list (metrics and
        :data:`STRUCTURAL_ATTRIBUTES`); see :func:`select_attributes`. The caller takes
        responsibility for what they hold (e.g. ``("potential",)`` publishes individual
        scores).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [4]})
    >>> p = write_gexf(e, None, os.path.join(tempfile.mkdtemp(), "net.gexf"))
    >>> p.suffix
    '.gexf'
    """
    e, nd, cols, met, xid, lab = _prepare(edges, nodes, metrics, names_enabled, attributes)
    ET.register_namespace("", GEXF_NS)
    ET.register_namespace("viz", VIZ_NS)
    G, V = f"{{{GEXF_NS}}}", f"{{{VIZ_NS}}}"
    root = ET.Element(G + "gexf", {"version": "1.3"})
    meta = ET.SubElement(root, G + "meta", {"lastmodifieddate": _dt.date.today().isoformat()})
    ET.SubElement(meta, G + "creator").text = "acap"
    ET.SubElement(meta, G + "description").text = (
        f"Advice network{' of ' + organisation if organisation else ''}: i -> j means i goes "
        "to j for advice; weight = frequency 1-5. Colour = degree, size = betweenness.")
    graph = ET.SubElement(root, G + "graph", {"defaultedgetype": "directed", "mode": "static"})
    attrs = ET.SubElement(graph, G + "attributes", {"class": "node", "mode": "static"})
    kinds = []
    for k, (c, s) in enumerate(cols):
        kinds.append(_kind(s))
        ET.SubElement(attrs, G + "attribute", {"id": str(k), "title": c, "type": kinds[-1]})
    eattrs = ET.SubElement(graph, G + "attributes", {"class": "edge", "mode": "static"})
    ET.SubElement(eattrs, G + "attribute", {"id": "frequency", "title": "frequency",
                                            "type": "double"})
    deg = (met["in_degree"].fillna(0) + met["out_degree"].fillna(0)).to_numpy()
    colours = degree_colours(deg)
    sizes = betweenness_sizes(met["betweenness"].to_numpy())
    nodes_el = ET.SubElement(graph, G + "nodes")
    ids = pd.Index(nd["id"])
    for r in range(len(nd)):
        node = ET.SubElement(nodes_el, G + "node", {"id": xid.iloc[r], "label": lab.iloc[r]})
        av = ET.SubElement(node, G + "attvalues")
        for k, (c, s) in enumerate(cols):
            v = _fmt(s.iloc[r], kinds[k])
            if v is not None:
                ET.SubElement(av, G + "attvalue", {"for": str(k), "value": v})
        rgb = colours[r]
        ET.SubElement(node, V + "color", {"r": str(rgb[0]), "g": str(rgb[1]), "b": str(rgb[2]),
                                          "a": "1.0"})
        ET.SubElement(node, V + "size", {"value": f"{sizes[r]:.4g}"})
        if layout is not None:
            ET.SubElement(node, V + "position", {"x": f"{layout[r, 0]:.4f}",
                                                 "y": f"{layout[r, 1]:.4f}", "z": "0.0"})
    edges_el = ET.SubElement(graph, G + "edges")
    pos_s, pos_t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    for k in range(len(e)):
        w = float(e.weight.iloc[k])
        edge = ET.SubElement(edges_el, G + "edge", {
            "id": str(k), "source": xid.iloc[pos_s[k]], "target": xid.iloc[pos_t[k]],
            "weight": repr(w)})
        av = ET.SubElement(edge, G + "attvalues")
        ET.SubElement(av, G + "attvalue", {"for": "frequency", "value": repr(w)})
        ET.SubElement(edge, V + "thickness", {"value": repr(w)})
    return _write_xml(root, path)


def write_graphml(edges, nodes: pd.DataFrame | None, path, *, names_enabled: bool = False,
                  metrics: pd.DataFrame | None = None, attributes=()) -> Path:
    """Write GraphML (directed; node label, allow-listed attributes, metrics, edge ``weight``).

    Parameters
    ----------
    edges, nodes, path, names_enabled, metrics
        As for :func:`write_gexf`.
    attributes : sequence of str, default ()
        Columns to write besides the allow-list (see :func:`select_attributes`); the
        caller takes responsibility for them.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [4]})
    >>> write_graphml(e, None, os.path.join(tempfile.mkdtemp(), "n.graphml")).suffix
    '.graphml'
    """
    e, nd, cols, _, xid, lab = _prepare(edges, nodes, metrics, names_enabled, attributes)
    ET.register_namespace("", GRAPHML_NS)
    N = f"{{{GRAPHML_NS}}}"
    root = ET.Element(N + "graphml")
    gm_type = {"boolean": "boolean", "integer": "long", "double": "double", "string": "string"}
    cols = [("label", lab.reset_index(drop=True))] + cols
    kinds = []
    for k, (c, s) in enumerate(cols):
        kinds.append("string" if c == "label" else _kind(s))
        ET.SubElement(root, N + "key", {"id": f"d{k}", "for": "node", "attr.name": c,
                                        "attr.type": gm_type[kinds[-1]]})
    ET.SubElement(root, N + "key", {"id": "weight", "for": "edge", "attr.name": "weight",
                                    "attr.type": "double"})
    graph = ET.SubElement(root, N + "graph", {"id": "G", "edgedefault": "directed"})
    for r in range(len(nd)):
        node = ET.SubElement(graph, N + "node", {"id": xid.iloc[r]})
        for k, (c, s) in enumerate(cols):
            v = _fmt(s.iloc[r], kinds[k])
            if v is not None:
                ET.SubElement(node, N + "data", {"key": f"d{k}"}).text = v
    ids = pd.Index(nd["id"])
    pos_s, pos_t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    for k in range(len(e)):
        edge = ET.SubElement(graph, N + "edge", {"source": xid.iloc[pos_s[k]],
                                                 "target": xid.iloc[pos_t[k]]})
        ET.SubElement(edge, N + "data", {"key": "weight"}).text = repr(float(e.weight.iloc[k]))
    return _write_xml(root, path)


def write_gephi_csv(edges, nodes: pd.DataFrame | None, edges_path, nodes_path=None, *,
                    names_enabled: bool = False, metrics: pd.DataFrame | None = None,
                    attributes=()) -> tuple[Path, Path | None]:
    """Write Gephi's spreadsheet import: edges (Source,Target,Weight,Type) and nodes (Id,Label,...).

    Parameters
    ----------
    edges, nodes, names_enabled, metrics
        As for :func:`write_gexf`.
    edges_path, nodes_path : str or Path
        The node table is written only when ``nodes_path`` is given: ``Id``, ``Label``,
        then the allow-listed attributes and metrics.
    attributes : sequence of str, default ()
        Columns to write besides the allow-list (see :func:`select_attributes`); the
        caller takes responsibility for them.

    Returns
    -------
    (Path, Path or None)

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [4]})
    >>> ep, np_ = write_gephi_csv(e, None, os.path.join(d, "e.csv"), os.path.join(d, "n.csv"))
    >>> open(ep).readline().strip()
    'Source,Target,Weight,Type'
    """
    e, nd, cols, _, xid, lab = _prepare(edges, nodes, metrics, names_enabled, attributes)
    ids = pd.Index(nd["id"])
    out = pd.DataFrame({"Source": xid.to_numpy()[ids.get_indexer(e.source)],
                        "Target": xid.to_numpy()[ids.get_indexer(e.target)],
                        "Weight": e.weight.to_numpy(), "Type": "Directed"})
    edges_path = Path(edges_path)
    edges_path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(edges_path, index=False, quoting=csv.QUOTE_MINIMAL)
    if nodes_path is None:
        return edges_path, None
    tab = pd.DataFrame({"Id": xid.to_numpy(), "Label": lab.to_numpy()})
    for c, v in cols:
        tab[c] = v.to_numpy()
    nodes_path = Path(nodes_path)
    tab.to_csv(nodes_path, index=False)
    return edges_path, nodes_path


def _dl_label(s: str) -> str:
    # UCINET splits labels on spaces and commas unless quoted.
    return f'"{s}"' if any(ch in s for ch in " ,\t") else s


def write_ucinet_dl(edges, nodes: pd.DataFrame | None, path, *, format: str = "fullmatrix",
                    names_enabled: bool = False) -> Path:
    """Write a UCINET DL file (valued, directed; rows send advice ties).

    Parameters
    ----------
    format : {"fullmatrix", "edgelist1"}
        ``fullmatrix``: an n x n matrix of frequencies (0 = no tie). ``edgelist1``: one
        ``sender receiver frequency`` line per tie, numbered as the labels list.

    Notes
    -----
    A non-respondent's row is written as observed (no ties, i.e. 0); record the response
    status from the node CSV if the analysis in UCINET must treat it as missing.

    Examples
    --------
    >>> import tempfile, os
    >>> e = pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [4]})
    >>> p = write_ucinet_dl(e, None, os.path.join(tempfile.mkdtemp(), "n.dl"))
    >>> open(p).readline().strip()
    'DL N=2'
    """
    if format not in ("fullmatrix", "edgelist1"):
        raise AcapInputError(f"format must be 'fullmatrix' or 'edgelist1', not {format!r}",
                             "write_ucinet_dl")
    e, nd, names_enabled = _ties_and_roster(edges, nodes, names_enabled)
    _, lab = export_labels(nd, names_enabled)
    ids = pd.Index(nd["id"])
    s, t = ids.get_indexer(e.source), ids.get_indexer(e.target)
    n = len(nd)

    def num(v):
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    lines = [f"DL N={n}", f"FORMAT = {format.upper()}", "LABELS:"]
    lines += [_dl_label(x) for x in lab]
    lines.append("DATA:")
    if format == "fullmatrix":
        mat = np.zeros((n, n))
        mat[s, t] = e.weight.to_numpy(float)
        lines += [" ".join(num(v) for v in row) for row in mat]
    else:
        lines += [f"{a + 1} {b + 1} {num(w)}" for a, b, w in zip(s, t, e.weight)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def export_all(network: AdviceNetwork, directory, stem: str | None = None, *,
               nonresponse: str = "observed", sociogram: bool = True,
               attributes=()) -> dict[str, Path]:
    """Write every export for one organisation (GEXF, GraphML, Gephi CSVs, UCINET DL, sociograms).

    Parameters
    ----------
    network : AdviceNetwork
    directory : str or Path
    stem : str, optional
        File-name stem (default: a slug of the organisation name, else ``network``).
    nonresponse : str
        Passed to :func:`acap.network.node_metrics` for the metrics written with the nodes.
    sociogram : bool
        Also draw PNG and SVG sociograms.
    attributes : sequence of str, default ()
        Roster columns written to GEXF, GraphML and the node CSV besides the allow-list
        (metrics and :data:`STRUCTURAL_ATTRIBUTES`; see :func:`select_attributes`). The
        caller takes responsibility for them. The DL file and sociograms never carry
        attributes.

    Returns
    -------
    dict
        Format name -> path.

    Examples
    --------
    >>> import tempfile
    >>> net = AdviceNetwork.from_frames(pd.DataFrame({"id": [1, 2]}),
    ...     pd.DataFrame({"source": [1], "target": [2], "weight": [3]}), organisation="ICB A")
    >>> sorted(export_all(net, tempfile.mkdtemp(), sociogram=False))
    ['dl', 'edges_csv', 'gexf', 'graphml', 'nodes_csv']
    """
    from acap.network.metrics import node_metrics
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if stem is None:
        slug = "".join(ch if ch.isalnum() else "_" for ch in network.organisation).strip("_")
        stem = slug.lower() or "network"
    met = node_metrics(network.ties, network.nodes, nonresponse=nonresponse)
    kw = dict(names_enabled=network.names_enabled, metrics=met, attributes=attributes)
    out = {
        "gexf": write_gexf(network.ties, network.nodes, d / f"{stem}.gexf",
                           organisation=network.organisation, **kw),
        "graphml": write_graphml(network.ties, network.nodes, d / f"{stem}.graphml", **kw),
    }
    out["edges_csv"], out["nodes_csv"] = write_gephi_csv(
        network.ties, network.nodes, d / f"{stem}_edges.csv", d / f"{stem}_nodes.csv", **kw)
    out["dl"] = write_ucinet_dl(network.ties, network.nodes, d / f"{stem}.dl",
                                names_enabled=network.names_enabled)
    if sociogram:
        from acap.network.sociogram import draw_sociogram
        paths = draw_sociogram(network, d / f"{stem}_sociogram", metrics=met)
        out.update({f"sociogram_{p.suffix.lstrip('.')}": p for p in paths})
    return out
