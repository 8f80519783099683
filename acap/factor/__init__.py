"""Factor analysis: sampling adequacy, factor retention, EFA with rotations, omega, CFA and invariance.

Submodules: ``adequacy`` (kmo, bartlett), ``retention`` (parallel analysis, Velicer's MAP),
``efa`` (extraction and rotation), ``omega`` (Schmid-Leiman, omega), ``polychoric``
(ordinal correlations), ``cfa`` (ML confirmatory factor analysis and measurement invariance).
Names are loaded on first use so that importing one part does not pay for the others.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "kmo": "adequacy", "bartlett": "adequacy",
    "parallel_analysis": "retention", "velicer_map": "retention",
    "efa": "efa", "EFA": "efa", "rotate": "rotation",
    "polychoric": "polychoric",
    "omega": "omega", "schmid_leiman": "omega",
    "cfa": "cfa", "CFA": "cfa", "invariance": "cfa", "modification_indices": "cfa",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
