"""Factor analysis: sampling adequacy, factor retention, EFA with rotations, omega, CFA and invariance.

Submodules: ``adequacy`` (kmo, bartlett), ``retention`` (parallel analysis, Velicer's MAP),
``efa`` and ``rotation`` (extraction and rotation), ``omega`` (Schmid-Leiman, omega),
``polychoric`` (ordinal correlations), ``cfa`` (confirmatory factor analysis and
measurement invariance: ML, two-stage ML, WLSMV), ``syntax`` (lavaan model syntax).

The functions are imported here, after their submodules: several share their submodule's
name (``efa``, ``omega``, ``polychoric``, ``cfa``), and binding them last makes
``acap.factor.efa`` the function whatever is imported later.
"""

from acap.factor.adequacy import bartlett, kmo
from acap.factor.cfa import CFA, cfa, invariance, modification_indices
from acap.factor.efa import EFA, efa
from acap.factor.omega import omega, schmid_leiman
from acap.factor.polychoric import ordinal_efa, polychoric
from acap.factor.retention import parallel_analysis, velicer_map
from acap.factor.rotation import rotate
from acap.factor.syntax import ModelSpec, parse_model

__all__ = ["CFA", "EFA", "ModelSpec", "bartlett", "cfa", "efa", "invariance", "kmo", "modification_indices", "omega",
           "ordinal_efa", "parallel_analysis", "parse_model", "polychoric", "rotate", "schmid_leiman", "velicer_map"]
