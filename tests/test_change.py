"""acap.change against R's Welch t.test (tests/r/change.R) and its own rules."""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from acap.change import scale_change, standard_error_from_ci

FIX = Path(__file__).parent / "fixtures" / "change"


def _summary(x: pd.Series) -> dict:
    n, m, sd = len(x), x.mean(), x.std(ddof=1)
    half = stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
    return dict(n=n, mean=m, ci_low=m - half, ci_high=m + half)


def test_matches_r_welch_t_test():
    answers = pd.read_csv(FIX / "answers.csv")
    ref = pd.read_csv(FIX / "welch.csv").set_index("case")
    rows = {w: pd.DataFrame({c: _summary(g["value"]) for c, g in answers[answers.wave == w].groupby("case")}).T
            for w in ("now", "before")}
    got = scale_change(rows["now"], rows["before"])
    for col in ("change", "ci_low", "ci_high", "df", "p"):
        np.testing.assert_allclose(got[col].to_numpy(), ref[col].to_numpy(), rtol=1e-9, atol=1e-12)
    expected = (ref["ci_low"] > 0) | (ref["ci_high"] < 0)
    assert got["larger_than_uncertainty"].astype(bool).tolist() == expected.tolist()
    assert expected.any() and not expected.all()  # the fixture has both verdicts


def test_missing_wave_or_suppressed_cell_gives_no_verdict():
    now = pd.DataFrame({"n": [10, 10, np.nan], "mean": [5.0, 4.0, np.nan], "ci_low": [4.5, 3.5, np.nan],
                        "ci_high": [5.5, 4.5, np.nan]}, index=["a", "b", "c"])
    before = now.loc[["a"]].assign(mean=4.0, ci_low=3.5, ci_high=4.5)
    got = scale_change(now, before)
    assert bool(got.loc["a", "larger_than_uncertainty"]) is True
    assert got.loc[["b", "c"], "larger_than_uncertainty"].isna().all()
    assert got.loc[["b", "c"], "change"].isna().all()


def test_standard_error_inverts_the_interval():
    se = standard_error_from_ci([12], [4.0], [5.0])
    assert abs(se[0] * 2 * stats.t.ppf(0.975, 11) - 1.0) < 1e-12
