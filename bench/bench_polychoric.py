"""Benchmark: polychoric correlation matrix, 50 items x 1,000 rows (1,225 pairs), 5 categories.

Run ``python bench/bench_polychoric.py``. Prints acap's time and, when Rscript with psych is
installed, psych::polychoric's time on the same data (single core) and the largest absolute
difference between the two matrices.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import have_r, measure, r_json, run_r, scratch  # noqa: E402

from acap.factor.polychoric import polychoric  # noqa: E402

N_ROWS, N_ITEMS, REPEATS = 1000, 50, 3


def make_data(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_f = 5
    lam = np.zeros((N_ITEMS, n_f))
    for j in range(N_ITEMS):
        lam[j, j % n_f] = rng.uniform(0.45, 0.8)
    z = rng.normal(size=(N_ROWS, n_f)) @ lam.T
    z += rng.normal(size=z.shape) * np.sqrt(1 - (lam**2).sum(axis=1))
    cuts = np.array([-1.4, -0.5, 0.4, 1.3])
    x = (np.digitize(z, cuts) + 1).astype(float)
    x[rng.random(x.shape) < 0.02] = np.nan
    return pd.DataFrame(x, columns=[f"i{j + 1:02d}" for j in range(N_ITEMS)])


R_SCRIPT = r"""
suppressPackageStartupMessages(library(psych))
options(mc.cores = 1)
x <- read.csv(commandArgs(TRUE)[1])
t0 <- proc.time()[["elapsed"]]
p <- suppressWarnings(polychoric(x))
el <- proc.time()[["elapsed"]] - t0
write.csv(p$rho, commandArgs(TRUE)[2])
cat(jsonlite::toJSON(list(seconds = el), auto_unbox = TRUE))
"""


def main() -> None:
    data = make_data()
    polychoric(data.iloc[:50, :5])  # warm-up (imports, first BLAS call)
    runs = measure(lambda: polychoric(data), REPEATS)
    res, best = runs.result, runs.best
    print(f"acap polychoric {N_ITEMS} items x {N_ROWS} rows: best of {REPEATS} = {best:.3f} s")

    if not have_r():
        print("Rscript not found: no comparison with psych")
        return
    with scratch() as tmp:
        src, out = tmp / "x.csv", tmp / "rho.csv"
        data.to_csv(src, index=False)
        r = r_json(run_r(R_SCRIPT, src, out, timeout=1800))
        if r is None:
            print("psych: no comparison")
            return
        r_sec = r["seconds"]
        r_rho = pd.read_csv(out, index_col=0).to_numpy()
    diff = np.abs(res.rho.to_numpy() - r_rho).max()
    print(f"psych::polychoric (mc.cores = 1): {r_sec:.3f} s")
    print(f"speed-up acap vs psych: {r_sec / best:.1f}x")
    print(f"max |rho_acap - rho_psych| = {diff:.2e}")


if __name__ == "__main__":
    main()
