"""Benchmark acap.factor against psych (R) on the same data.

1. Parallel analysis, p = 30 items, N = 10,000 rows: acap with 100 iterations against
   psych::fa.parallel with n.iter = 20 (R's time is measured with system.time around the
   call only). Ratios are printed per iteration and for the whole call.
2. EFA minres + oblimin, 5 factors, on the 2,800 x 25 bfi items: acap.factor.efa against
   psych::fa.

Run: ``python bench/bench_efa.py``. Without Rscript only acap's timings are printed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acap.factor import efa, parallel_analysis  # noqa: E402

BFI = ROOT / "tests" / "fixtures" / "efa" / "bfi25.csv"


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def r_seconds(script: str) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=900)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("ELAPSED")]
    if out.returncode != 0 or not lines:
        print("  (R run failed:", out.stderr.strip().splitlines()[-1:] or "?", ")")
        return None
    return float(lines[-1].split()[1])


def main():
    rng = np.random.default_rng(2024)
    n, p = 10_000, 30
    f = rng.standard_normal((n, 3))
    lam = rng.uniform(0.0, 0.6, (p, 3))
    x = pd.DataFrame(f @ lam.T + rng.standard_normal((n, p)),
                     columns=[f"v{i + 1:02d}" for i in range(p)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pa.csv"
        x.to_csv(path, index=False)

        print("1. Parallel analysis, p = 30, N = 10,000")
        parallel_analysis(x, n_iter=5, seed=0)  # warm-up (imports, BLAS)
        acap = {}
        for solver in ("psych", "newton"):
            best, med = best_of(lambda: parallel_analysis(x, n_iter=100, seed=1, solver=solver), 3)
            acap[solver] = best
            res = parallel_analysis(x, n_iter=100, seed=1, solver=solver)
            print(f"   acap  solver={solver:6s} 100 iterations: best {best:.3f} s, median {med:.3f} s "
                  f"({best / 100 * 1e3:.2f} ms/iteration); suggests {res.n_factors} factors, "
                  f"{res.n_components} components")
        rt = r_seconds(
            "suppressMessages(library(psych)); x <- read.csv('%s'); "
            "t <- system.time(invisible(capture.output(fa.parallel(x, n.iter = 20, plot = FALSE))))"
            "[['elapsed']]; cat('ELAPSED', t, '\\n')" % path.as_posix())
        if rt is None:
            print("   psych: Rscript not available, skipped")
        else:
            print(f"   psych fa.parallel n.iter = 20: {rt:.3f} s ({rt / 20 * 1e3:.1f} ms/iteration)")
            for solver, t in acap.items():
                print(f"   ratio ({solver}): per iteration {rt / 20 / (t / 100):.0f}x faster; "
                      f"whole call (acap 100 iterations vs psych 20) {rt / t:.1f}x")

    print("2. EFA minres + oblimin, 5 factors, 2,800 x 25 (bfi)")
    bfi = pd.read_csv(BFI)
    efa(bfi, 5)
    best, med = best_of(lambda: efa(bfi, 5), 10)
    print(f"   acap  efa: best {best * 1e3:.1f} ms, median {med * 1e3:.1f} ms")
    reps = 10
    rt = r_seconds(
        "suppressMessages({library(psych); library(GPArotation)}); x <- read.csv('%s'); "
        "invisible(fa(x, 5)); t <- system.time(for (i in 1:%d) fa(x, 5))[['elapsed']] / %d; "
        "cat('ELAPSED', t, '\\n')" % (BFI.as_posix(), reps, reps))
    if rt is None:
        print("   psych: Rscript not available, skipped")
    else:
        print(f"   psych fa: {rt * 1e3:.1f} ms per call; ratio psych/acap {rt / best:.1f}x "
              f"(median {rt / med:.1f}x)")


if __name__ == "__main__":
    main()
