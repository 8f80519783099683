"""Advice networks: data model, metrics (as sna and UCINET compute them), linking to ACAP
scores, exports for Gephi and UCINET, sociograms and a simulator.

Submodules: ``model`` (rosters, ties, outside contacts, non-response), ``metrics``
(node_metrics, summary), ``link`` (correlation, fixed-effects OLS, QAP, MRQAP),
``export`` (GEXF, GraphML, CSV, UCINET DL), ``sociogram`` (Figure, positions, PNG/SVG),
``pipeline`` (collected data in, published files out), ``simulate``.
Names are loaded on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "node_metrics": "metrics", "summary": "metrics",
    "ei_index": "metrics", "board_density": "metrics",
    "outside_diversity": "metrics", "contacts_by_category": "metrics",
    "AdviceNetwork": "model", "PreparedTies": "model", "prepare_ties": "model",
    "split_organisations": "model",
    "validate_ties": "model", "validate_contacts": "model", "pseudonyms": "model",
    "node_pseudonyms": "model", "display_labels": "model",
    "OUTSIDE_CATEGORIES": "model",
    "write_gexf": "export", "write_graphml": "export", "write_gephi_csv": "export",
    "write_ucinet_dl": "export", "export_all": "export", "select_attributes": "export",
    "draw_sociogram": "sociogram", "sociogram_figure": "sociogram", "save_sociogram": "sociogram",
    "sociogram_positions": "sociogram",
    "NetworkRun": "pipeline", "run_networks": "pipeline", "network_files": "pipeline",
    "read_network_files": "pipeline", "public_role_groups": "pipeline",
    # link.py and simulate.py (written alongside; names from their __all__)
    "QAPResult": "link", "MRQAPResult": "link", "IndividualLink": "link",
    "OrganisationLink": "link", "NetworkLinks": "link", "qap": "link", "mrqap": "link",
    "adjacency_matrix": "link", "abs_difference": "link", "same_attribute": "link",
    "sender_matrix": "link", "receiver_matrix": "link", "link_individual": "link",
    "link_organisation": "link", "link_dyadic": "link", "link_networks": "link",
    "SimulatedNetworks": "simulate", "simulate_networks": "simulate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
