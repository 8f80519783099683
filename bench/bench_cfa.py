"""Benchmark: ML CFA with p = 30 items (5 factors x 6 items), N = 100,000 simulated rows.

Times ``acap.factor.cfa`` against ``lavaan::cfa`` on the same data (only the cfa call is timed
in R, with system.time) and prints the ratio and the agreement of chi-square and CFI.
Without Rscript (or lavaan) it prints the acap timing alone.

Run: python bench/bench_cfa.py [N]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import have_r, measure, r_json, run_r, scratch  # noqa: E402

from acap.factor.cfa import cfa  # noqa: E402

N_FACTORS, N_PER = 5, 6

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- readLines(args[2])
tm <- system.time(fit <- cfa(model, data = d, meanstructure = TRUE))
fm <- fitMeasures(fit, c("chisq", "cfi", "rmsea", "srmr"))
cat(jsonlite::toJSON(list(elapsed = tm[["elapsed"]], chisq = fm[["chisq"]], cfi = fm[["cfi"]],
                          rmsea = fm[["rmsea"]], srmr = fm[["srmr"]]),
                     auto_unbox = TRUE, digits = NA))
"""


def simulate(n: int, seed: int = 42) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    rng = np.random.default_rng(seed)
    phi = np.full((N_FACTORS, N_FACTORS), 0.3) + 0.7 * np.eye(N_FACTORS)
    f = rng.multivariate_normal(np.zeros(N_FACTORS), phi, size=n)
    lam = np.zeros((N_FACTORS * N_PER, N_FACTORS))
    model = {}
    for j in range(N_FACTORS):
        rows = range(j * N_PER, (j + 1) * N_PER)
        lam[rows, j] = rng.uniform(0.5, 0.9, N_PER)
        model[f"f{j + 1}"] = [f"x{i + 1}" for i in rows]
    lam[0, 1] = 0.2  # a little misfit so the model is not exactly true
    x = f @ lam.T + rng.normal(scale=0.6, size=(n, N_FACTORS * N_PER)) + 3.0
    return pd.DataFrame(x, columns=[f"x{i + 1}" for i in range(N_FACTORS * N_PER)]), model


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data, model = simulate(n)
    cfa(data.iloc[:500], model)  # warm-up (imports, first-call overheads)
    runs = measure(lambda: cfa(data, model), 3)
    res, t_acap = runs.result, runs.best
    print(f"CFA ML, p = {N_FACTORS * N_PER} ({N_FACTORS} factors x {N_PER} items), N = {n:,}")
    print(f"acap  : {t_acap:.3f} s (best of 3; {res.iterations} iterations, "
          f"converged={res.converged})  chisq={res.fit['chisq']:.4f} cfi={res.fit['cfi']:.6f}")
    if not have_r():
        print("Rscript not found: lavaan timing skipped")
        return
    with scratch() as tmp:
        csv, mod = tmp / "d.csv", tmp / "m.txt"
        data.to_csv(csv, index=False)
        mod.write_text("\n".join(f"{f} =~ {' + '.join(items)}" for f, items in model.items()))
        r = r_json(run_r(R_SCRIPT, csv, mod))
    if r is None:
        print("lavaan: no comparison")
        return
    print(f"lavaan: {r['elapsed']:.3f} s (system.time of cfa())  chisq={r['chisq']:.4f} "
          f"cfi={r['cfi']:.6f}")
    print(f"ratio acap / lavaan = {t_acap / r['elapsed']:.3f}  (below 1: acap faster)")
    print(f"agreement: |d chisq| = {abs(res.fit['chisq'] - r['chisq']):.2e}, "
          f"|d cfi| = {abs(res.fit['cfi'] - r['cfi']):.2e}, "
          f"|d rmsea| = {abs(res.fit['rmsea'] - r['rmsea']):.2e}, "
          f"|d srmr| = {abs(res.fit['srmr'] - r['srmr']):.2e}")


if __name__ == "__main__":
    main()
