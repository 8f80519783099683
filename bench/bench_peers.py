"""Python peers beside acap and R on the same data: reliability and EFA (issue 10, item 6).

psych's bfi (2,800 x 25, tests/fixtures/researcher/bfi.csv). For each statistic: acap's
figure and time, pingouin's and factor_analyzer's where they run on the installed stack (and
the error where they do not), and psych's (R) as the reference. semopy (CFA) is in
bench_cfa.py.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, best_of, load_line, run_r  # noqa: E402

from acap.factor import bartlett, efa, kmo  # noqa: E402
from acap.reliability import alpha  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "researcher"
ITEMS = [f"{s}{i}" for s in "ACENO" for i in range(1, 6)]
SCALES = {"agreeableness": ["A1", "A2", "A3", "A4", "A5"], "conscientiousness": ["C1", "C2", "C3", "C4", "C5"]}
REVERSE = ["A1", "C4", "C5"]


def first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def version(mod: str) -> str:
    from importlib.metadata import PackageNotFoundError, version as v

    try:
        return v(mod)
    except PackageNotFoundError:
        return "not installed"


def main():
    print(f"load average 1/5/15 min {load_line()}; pingouin {version('pingouin')}, factor_analyzer "
          f"{version('factor_analyzer')}")
    bfi = pd.read_csv(FIX / "bfi.csv")
    x = bfi[ITEMS].astype(float)
    keyed = x.copy()
    for c in REVERSE:
        keyed[c] = 7 - keyed[c]
    r_alpha = json.loads((FIX / "bfi_alpha.json").read_text())

    print("1. Cronbach's alpha (pairwise / available cases), bfi scales")
    try:
        import pingouin as pg
    except Exception as exc:  # noqa: BLE001 - a peer that does not import is reported
        pg = None
        print(f"   pingouin: does not import ({first_line(exc)})")
    for name, its in SCALES.items():
        best, _ = best_of(lambda: alpha(keyed[its]), 5)
        a = alpha(keyed[its]).alpha
        line = f"   {name}: acap {a:.6f} ({best * 1e3:.1f} ms); psych {r_alpha[name]:.6f}"
        if pg is not None:
            try:
                t, _ = best_of(lambda: pg.cronbach_alpha(keyed[its], nan_policy="pairwise"), 5)
                pa = pg.cronbach_alpha(keyed[its], nan_policy="pairwise")[0]
                line += f"; pingouin {pa:.6f} ({t * 1e3:.1f} ms, |diff to psych| {abs(pa - r_alpha[name]):.1e})"
            except Exception as exc:  # noqa: BLE001
                line += f"; pingouin fails: {first_line(exc)}"
        print(line)

    print("2. KMO and Bartlett, 25 items")
    k = kmo(x)
    b = bartlett(x)
    t_k, _ = best_of(lambda: kmo(x), 5)
    print(f"   acap: KMO {k.overall:.6f}, Bartlett chi2 {b.chi2:.2f} ({t_k * 1e3:.1f} ms for KMO)")
    try:
        from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

        t, _ = best_of(lambda: calculate_kmo(x), 5)
        fk = calculate_kmo(x)[1]
        fb = calculate_bartlett_sphericity(x)[0]
        print(f"   factor_analyzer: KMO {fk:.6f} ({t * 1e3:.1f} ms), Bartlett chi2 {fb:.2f} "
              "(it drops incomplete rows for the correlations: a different sample from psych's pairwise)")
    except Exception as exc:  # noqa: BLE001
        print(f"   factor_analyzer fails on data with missing answers: {first_line(exc)}")
        try:
            cc = x.dropna()
            fk = calculate_kmo(cc)[1]
            print(f"   factor_analyzer on the {len(cc)} complete rows: KMO {fk:.6f}; acap on the same rows "
                  f"{kmo(cc).overall:.6f}")
        except Exception as exc2:  # noqa: BLE001
            print(f"   factor_analyzer fails on complete rows too: {first_line(exc2)}")

    print("3. EFA, 5 factors, minres + oblimin")
    res = efa(x, 5)
    t_e, _ = best_of(lambda: efa(x, 5), 5)
    want = pd.read_csv(FIX / "bfi_fa5_pattern.csv", index_col=0)
    got = res.loadings

    def matched(l_got: np.ndarray, l_want: np.ndarray) -> float:
        worst = 0.0
        for c in range(l_want.shape[1]):
            worst = max(worst, min(min(np.abs(l_got[:, g] - l_want[:, c]).max(), np.abs(l_got[:, g] + l_want[:, c]).max())
                                   for g in range(l_got.shape[1])))
        return worst

    print(f"   acap: {t_e * 1e3:.1f} ms; max |pattern loading - psych| {matched(got.to_numpy(), want.to_numpy()):.1e}")
    try:
        from factor_analyzer import FactorAnalyzer

        fa = FactorAnalyzer(n_factors=5, rotation="oblimin", method="minres")
        t0 = time.perf_counter()
        fa.fit(x)
        t = time.perf_counter() - t0
        print(f"   factor_analyzer: {t * 1e3:.1f} ms; max |pattern loading - psych| "
              f"{matched(fa.loadings_, want.to_numpy()):.1e}")
        phi = getattr(fa, "phi_", None)
        if phi is not None:
            # Phi must follow the loadings' column order; factor_analyzer reorders the loadings only
            implied = fa.loadings_ @ phi @ fa.loadings_.T
            print(f"   factor_analyzer: max |L Phi L' - acap's| {np.abs(implied - (got @ res.phi @ got.T).to_numpy()).max():.1e}"
                  " (large when its Phi does not follow its reordered loadings)")
    except Exception as exc:  # noqa: BLE001
        print(f"   factor_analyzer: fit fails on this stack: {first_line(exc)}")
        if "-v" in sys.argv:
            traceback.print_exc()
    out = run_r("suppressMessages({library(psych); library(GPArotation)}); x <- read.csv('%s')[, 1:25]; "
                "ts <- c(); for (i in 1:3) ts[i] <- system.time(f <- fa(x, 5))[['elapsed']]; "
                "cat('ELAPSED', min(ts), '\\n')" % (FIX / "bfi.csv").as_posix())
    if out is not None:
        for ln in out.splitlines():
            if ln.startswith("ELAPSED"):
                print(f"   psych fa: {float(ln.split()[1]) * 1e3:.0f} ms (best of 3)")


if __name__ == "__main__":
    main()
