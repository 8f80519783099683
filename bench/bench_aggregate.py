"""Benchmark acap.aggregate.organisation_results.

100,000 respondents x 11 scales (48 items) in 1,000 organisations: the organisation table
(n, mean, SD, CI with FPC, rwg(j)), ICC(1)/ICC(2) per scale, role breakdown and
suppression. When Rscript with multilevel is present, the same scale-level work in R
(tapply mean/SD/n, multilevel::rwg, ICC1/ICC2 from aov) is timed on the same data.
Run: python bench/bench_aggregate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, have_r, r_numbers, run_r, scratch  # noqa: E402

from acap.aggregate import organisation_results  # noqa: E402

N, N_ORG, SEED = 100_000, 1_000, 7
SIZES = [5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3]  # 48 items over 11 scales


def make_data():
    rng = np.random.default_rng(SEED)
    org_names = np.array([f"org{i:04d}" for i in range(N_ORG)])
    code = rng.integers(0, N_ORG, N)
    u = rng.normal(0, 0.5, N_ORG)[code]
    roles = np.array(["board", "clinical", "manager", "analyst", "finance", "public health", "other"])
    cols, items, k = {}, {}, 0
    for s, size in enumerate(SIZES):
        names = []
        for _ in range(size):
            k += 1
            v = np.clip(np.round(4 + u + rng.normal(0, 1.2, N)), 1, 7)
            v[rng.random(N) < 0.05] = np.nan
            cols[f"i{k:02d}"] = v
            names.append(f"i{k:02d}")
        items[f"scale{s + 1:02d}"] = names
    df = pd.DataFrame(cols)
    for s, names in items.items():
        df[s] = df[names].mean(axis=1)
    df["organisation"] = org_names[code]
    df["role"] = roles[rng.integers(0, len(roles), N)]
    invited = pd.Series(np.bincount(code, minlength=N_ORG) + 20, index=org_names)
    return df, items, invited


R_CODE = r"""
suppressPackageStartupMessages(library(multilevel))
d <- read.csv(commandArgs(TRUE)[1])
items <- jsonlite::fromJSON(commandArgs(TRUE)[2])
run <- function() for (s in names(items)) {
  x <- d[[s]]; g <- d$organisation
  n <- tapply(!is.na(x), g, sum); m <- tapply(x, g, mean, na.rm = TRUE); sd <- tapply(x, g, sd, na.rm = TRUE)
  r <- rwg.j(d[, items[[s]]], g, ranvar = 4)
}
t <- replicate(3, system.time(run())[["elapsed"]])
cat(min(t), "\n")
"""


def r_time(df, items):
    """R's time for n/mean/SD per organisation and multilevel::rwg.j, all scales; None without R.

    ICC1/ICC2 are left out of the R side: multilevel computes them from aov(), whose model
    matrix with 1,000 organisations takes over a minute per scale at this size.
    """
    if not have_r():
        return None
    with scratch() as tmp:
        data, spec = tmp / "d.csv", tmp / "items.json"
        cols = [c for names in items.values() for c in names] + list(items) + ["organisation"]
        df[cols].to_csv(data, index=False)
        spec.write_text(json.dumps(items))
        nums = r_numbers(run_r(R_CODE, data, spec, timeout=600))
    return None if nums is None else nums[-1]


def main():
    df, items, invited = make_data()
    scales = list(items)
    plain = df[scales + ["organisation", "role"]]
    b1, m1 = best_of(lambda: organisation_results(plain, invited=invited), 7)
    b2, m2 = best_of(lambda: organisation_results(df, scales=scales, items=items, invited=invited), 7)
    print(f"organisation_results {N:,} respondents x {len(scales)} scales, {N_ORG:,} organisations")
    print(f"  scale-score rwg, roles, FPC, suppression: best {b1:.3f} s, median {m1:.3f} s")
    print(f"  + rwg(j) from {sum(SIZES)} items:              best {b2:.3f} s, median {m2:.3f} s")
    r = r_time(df, items)
    if r is None:
        print("  R (multilevel) not available (or failed): no comparison")
    else:
        print(f"  R: tapply n/mean/SD + multilevel::rwg.j, all scales: {r:.3f} s "
              f"(acap's full run with items is {r / b2:.1f}x faster; R's aov-based ICC1 not timed)")


if __name__ == "__main__":
    main()
