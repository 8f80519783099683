"""Timing of acap's QAP and MRQAP against sna (qaptest, netlm) on the same sizes.

Run: python bench/bench_qap.py. Prints acap's time, sna's when Rscript and sna are present,
and their ratio (sna / acap: above 1 means acap is faster).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_of, r_numbers, run_r  # noqa: E402

from acap.network.link import mrqap, qap  # noqa: E402

SIZES = [(30, 1000), (100, 300)]   # (nodes, permutations)
N_X = 3


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(n, n)) for _ in range(N_X)]
    y = (0.4 * xs[0] + 0.2 * xs[1] + rng.normal(size=(n, n)) > 0.8).astype(float)
    np.fill_diagonal(y, 0)
    return y, xs


def acap_times(n: int, reps: int) -> tuple[float, float]:
    y, xs = data(n)
    t_qap, _ = best_of(lambda: qap(xs[0], y, n_perm=reps, seed=1), 1)
    t_mrqap, _ = best_of(lambda: mrqap(y, xs, n_perm=reps, seed=1, method="dekker"), 1)
    return t_qap, t_mrqap


R_CODE = """
suppressMessages(library(sna)); set.seed(1)
n <- {n}; reps <- {reps}
xs <- lapply(1:{k}, function(i) matrix(rnorm(n * n), n, n))
y <- (0.4 * xs[[1]] + 0.2 * xs[[2]] + matrix(rnorm(n * n), n, n) > 0.8) * 1; diag(y) <- 0
t1 <- system.time(qaptest(list(xs[[1]], y), gcor, g1 = 1, g2 = 2, reps = reps))[["elapsed"]]
t2 <- system.time(netlm(y, xs, nullhyp = "qapspp", reps = reps))[["elapsed"]]
cat(t1, t2, "\\n")
"""


def r_times(n: int, reps: int) -> tuple[float, float] | None:
    nums = r_numbers(run_r(R_CODE.format(n=n, reps=reps, k=N_X), timeout=900), count=2)
    return None if nums is None else (nums[0], nums[1])


def main() -> None:
    acap_times(10, 10)  # warm up imports and BLAS
    print(f"QAP / MRQAP (Dekker semi-partialling, {N_X} predictors, t statistic)")
    print(f"{'nodes':>6} {'perms':>6} {'test':>6} {'acap s':>9} {'sna s':>9} {'sna/acap':>9}")
    for n, reps in SIZES:
        a = acap_times(n, reps)
        r = r_times(n, reps)
        for k, name in enumerate(("qap", "mrqap")):
            if r is None:
                print(f"{n:>6} {reps:>6} {name:>6} {a[k]:>9.3f} {'n/a':>9} {'n/a':>9}")
            else:
                print(f"{n:>6} {reps:>6} {name:>6} {a[k]:>9.3f} {r[k]:>9.3f} {r[k] / a[k]:>9.1f}")


if __name__ == "__main__":
    main()
