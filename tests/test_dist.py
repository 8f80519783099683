"""acap._dist (scipy.special) gives scipy.stats' numbers without importing scipy.stats."""

import subprocess
import sys

import numpy as np
import scipy.stats as st

from acap import _dist as d


def test_same_numbers_as_scipy_stats():
    x = np.array([0.0, 0.5, 3.84, 20.0, 300.0])
    np.testing.assert_allclose(d.chi2_sf(x, 3), st.chi2.sf(x, 3), rtol=1e-12)
    np.testing.assert_allclose(d.chi2_cdf(x, 7), st.chi2.cdf(x, 7), rtol=1e-12)
    np.testing.assert_allclose(d.ncx2_cdf(x, 24, 12.5), st.ncx2.cdf(x, 24, 12.5), rtol=1e-9)
    np.testing.assert_allclose(d.f_sf(x, 4, 50), st.f.sf(x, 4, 50), rtol=1e-12)
    np.testing.assert_allclose(d.f_ppf(np.array([0.025, 0.975]), 10, 2000), st.f.ppf([0.025, 0.975], 10, 2000),
                               rtol=1e-10)
    np.testing.assert_allclose(d.t_ppf(0.975, np.array([1, 4, 30])), st.t.ppf(0.975, [1, 4, 30]), rtol=1e-10)
    np.testing.assert_allclose(d.norm_sf(x), st.norm.sf(x), rtol=1e-12)
    np.testing.assert_allclose(d.norm_pdf(x), st.norm.pdf(x), rtol=1e-12)
    assert np.isclose(d.hmean([1.0, 2.0, 4.0]), st.hmean([1.0, 2.0, 4.0]))


def test_validation_path_does_not_import_scipy_stats_or_numba():
    code = ("import sys; import acap.cli, acap.validate, acap.report_html, acap.reliability, acap.aggregate, "
            "acap.factor.cfa, acap.factor.efa, acap.factor.adequacy, acap.factor.retention; "
            "print(sorted(m for m in ('scipy.stats', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
