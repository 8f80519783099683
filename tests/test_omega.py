"""omega / schmid_leiman against psych::omega (default settings: minres, oblimin, 3 factors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import acap.factor as af
from acap.errors import AcapInputError

FIX = Path(__file__).parent / "fixtures" / "efa"


@pytest.mark.parametrize("tag,file,k", [("omega_bfi3", "bfi25.csv", 3), ("omega_bfi5", "bfi25.csv", 5),
                                        ("omega_sim3", "sim12.csv", 3), ("omega_sim2", "sim12.csv", 2)])
def test_omega_against_psych(tag, file, k):
    data = pd.read_csv(FIX / file)
    ref = json.loads((FIX / f"{tag}.json").read_text())
    sl = pd.read_csv(FIX / f"{tag}_sl.csv", index_col=0)
    grp = pd.read_csv(FIX / f"{tag}_group.csv", index_col=0)
    res = af.omega(data, n_factors=k)
    assert res.omega_total == pytest.approx(ref["omega_tot"], abs=1e-3)
    assert res.omega_hierarchical == pytest.approx(ref["omega_h"], abs=1e-3)
    assert res.omega_limit == pytest.approx(ref["omega_lim"], abs=1e-3)
    assert res.alpha == pytest.approx(ref["alpha"], abs=1e-6)
    assert res.g6 == pytest.approx(ref["G6"], abs=1e-6)
    assert res.ecv == pytest.approx(ref["ECV"], abs=1e-3)
    np.testing.assert_allclose(res.schmid.g_loadings, ref["gloading"], atol=1e-3)
    # psych marks reverse-keyed items with a trailing "-" in its row names.
    assert [n + ("-" if s < 0 else "") for n, s in res.key.items()] == list(sl.index)
    np.testing.assert_allclose(res.loadings.to_numpy(), sl.to_numpy(), atol=1e-3)
    if k > 2:
        np.testing.assert_allclose(res.omega_subscales.to_numpy(), grp.to_numpy(), atol=1e-3,
                                   equal_nan=True)


def test_schmid_leiman_identities():
    data = pd.read_csv(FIX / "bfi25.csv")
    sl = af.schmid_leiman(data, 3)
    t = sl.loadings
    # Group loadings are the oblique loadings shrunk by sqrt(1 - g_j^2); g loadings = L g.
    obl = sl.oblique.to_numpy()
    gj = sl.g_loadings.to_numpy()
    np.testing.assert_allclose(t["g"], obl @ gj, atol=1e-12)
    np.testing.assert_allclose(np.abs(t[["F1*", "F2*", "F3*"]].to_numpy()),
                               np.abs(obl) * np.sqrt(1 - gj ** 2), atol=1e-12)
    # The oblique solution reproduces the varimax one's common part.
    orth = sl.orthogonal.to_numpy()
    np.testing.assert_allclose(obl @ sl.phi.to_numpy() @ obl.T, orth @ orth.T, atol=1e-8)
    np.testing.assert_allclose(t["h2"] + t["u2"], 1.0, atol=1e-12)
    np.testing.assert_allclose(t["p2"], t["g"] ** 2 / t["h2"], atol=1e-12)
    np.testing.assert_allclose(np.diag(sl.phi), 1.0, atol=1e-10)


def test_omega_bad_input():
    data = pd.read_csv(FIX / "sim12.csv")
    with pytest.raises(AcapInputError, match="n_factors"):
        af.omega(data, n_factors=0)
    with pytest.raises(AcapInputError, match="oblique"):
        af.omega(data, n_factors=3, rotation="varimax")
