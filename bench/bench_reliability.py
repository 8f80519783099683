"""Benchmark: coefficient alpha with item statistics and a 1,000-resample bootstrap interval.

N = 10,000 respondents x k = 20 items on 1-7 (seeded), once complete and once with 5% of the
responses missing. Times ``acap.reliability.alpha(x, n_boot=1000)`` (best of 3) and, when
Rscript is on the PATH, ``psych::alpha(x, n.iter = 1000)`` on the same data (written to a temp
CSV; only the alpha call is timed, with system.time; psych's bootstrap runs on
``getOption("mc.cores", 2)`` cores through parallel::mclapply). Prints the times and the ratio.

Run: python bench/bench_reliability.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import have_r, load_line, measure, r_numbers, run_r, scratch  # noqa: E402

from acap.reliability import alpha  # noqa: E402

N, K, N_BOOT = 10_000, 20, 1_000

R_SCRIPT = r"""
suppressPackageStartupMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
x <- read.csv(args[1])
t <- system.time(a <- suppressWarnings(psych::alpha(x, n.iter = as.integer(args[2]), warnings = FALSE)))
cat(sprintf("%.6f %.10f %.10f %.10f\n", t[["elapsed"]], a$total$raw_alpha, a$boot.ci[1], a$boot.ci[3]))
"""


def simulate(missing: float, seed: int = 20261121) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(N, 1))
    x = np.clip(np.round(4 + 1.2 * (0.6 * f + 0.8 * rng.normal(size=(N, K)))), 1, 7)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"item{j + 1:02d}" for j in range(K)])


def time_acap(df: pd.DataFrame, repeats: int = 3):
    alpha(df.iloc[:200], n_boot=10, seed=0)  # warm-up (imports, threadpoolctl discovery)
    runs = measure(lambda: alpha(df, n_boot=N_BOOT, seed=1), repeats)
    return runs.best, runs.result


def time_r(df: pd.DataFrame):
    if not have_r():
        return None
    with scratch() as tmp:
        csv = tmp / "x.csv"
        df.to_csv(csv, index=False, na_rep="NA")
        nums = r_numbers(run_r(R_SCRIPT, csv, N_BOOT), count=4)
    if nums is None:
        return None
    elapsed, raw_alpha, lo, hi = nums
    return elapsed, raw_alpha, lo, hi


def main() -> None:
    print(f"alpha + item statistics + {N_BOOT}-resample bootstrap CI, N = {N:,}, k = {K}")
    print(f"load average (1/5/15 min) at start: {load_line()}")
    for label, missing in (("complete data", 0.0), ("5% missing", 0.05)):
        df = simulate(missing)
        t_acap, res = time_acap(df)
        print(f"[{label}]")
        print(f"  acap  : {t_acap:8.3f} s   alpha = {res.alpha:.6f}   boot 95% CI = ({res.boot_ci[0]:.4f}, {res.boot_ci[1]:.4f})")
        r = time_r(df)
        if r is None:
            print("  R     : Rscript not found (or psych failed); acap timing only")
            continue
        elapsed, raw_alpha, lo, hi = r
        print(f"  psych : {elapsed:8.3f} s   alpha = {raw_alpha:.6f}   boot 95% CI = ({lo:.4f}, {hi:.4f})")
        print(f"  |alpha difference| = {abs(raw_alpha - res.alpha):.2e}")
        print(f"  ratio psych / acap = {elapsed / t_acap:.1f}x  (target >= 20x)")
    print(f"load average (1/5/15 min) at end: {load_line()}")


if __name__ == "__main__":
    main()
