"""Benchmark: CFA by ML, FIML, two-stage ML and WLSMV, acap against lavaan (and semopy).

1. ML with p = 30 items (5 factors x 6 items), N = 100,000 simulated rows.
2. FIML and two-stage ML, p = 12 (3 x 4), N = 1,000 with 10% of answers missing at random.
3. WLSMV, p = 20 items (4 x 5) cut into 5 categories, N = 2,000.

Each times ``acap.factor.cfa`` against ``lavaan::cfa`` on the same data (only the cfa call is
timed in R, with system.time) and prints the ratio and the agreement of the fit measures;
semopy (where it runs on the installed stack) is timed on the same data and its failures are
printed as one line each. Without Rscript (or lavaan) acap's timings are printed alone.
Printed, never asserted; on a shared machine the figures are pessimistic.

Run: python bench/bench_cfa.py [N for the ML case]
"""

from __future__ import annotations

import sys
import time
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
tm <- system.time(fit <- cfa(model, data = d))
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


def ml_case(n: int) -> None:
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



R_SMALL = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- readLines(args[2])
how <- args[3]
tm <- system.time(fit <- switch(how,
  fiml = cfa(model, data = d, missing = "ml"),
  two.stage = cfa(model, data = d, missing = "two.stage"),
  wlsmv = cfa(model, data = d, ordered = TRUE)))
nm <- if (how == "fiml") c("chisq", "cfi", "rmsea", "srmr") else
  c("chisq", "cfi", "rmsea", "srmr", "chisq.scaled", "cfi.scaled")
fm <- as.list(fitMeasures(fit, nm))
names(fm) <- gsub(".", "_", names(fm), fixed = TRUE)
cat(jsonlite::toJSON(c(list(elapsed = tm[["elapsed"]]), fm), auto_unbox = TRUE, digits = NA))
"""


def simulate_small(n, n_factors, n_per, seed=7, missing=0.0, categories=None):
    rng = np.random.default_rng(seed)
    phi = np.full((n_factors, n_factors), 0.4) + 0.6 * np.eye(n_factors)
    f = rng.multivariate_normal(np.zeros(n_factors), phi, size=n)
    p = n_factors * n_per
    lam = np.zeros((p, n_factors))
    model = {}
    for j in range(n_factors):
        rows = range(j * n_per, (j + 1) * n_per)
        lam[rows, j] = rng.uniform(0.5, 0.85, n_per)
        model[f"f{j + 1}"] = [f"y{i + 1}" for i in rows]
    x = f @ lam.T + rng.normal(size=(n, p)) * np.sqrt(1 - (lam ** 2).sum(axis=1))
    if categories:
        cuts = np.array([-1.5, -0.5, 0.4, 1.3])[: categories - 1]
        x = (x[:, :, None] > cuts).sum(axis=2) + 1.0
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
        x = x[~np.isnan(x).all(axis=1)]
    return pd.DataFrame(x, columns=[f"y{i + 1}" for i in range(p)]), model


def _syntax(model):
    return "\n".join(f"{f} =~ {' + '.join(items)}" for f, items in model.items())


def _semopy(data, model, obj):
    """(seconds, fit statistics) of semopy on the same model, or None with a one-line note."""
    try:
        import semopy
    except ImportError:
        print("  semopy: not installed (pip install -e '.[bench]')")
        return None
    try:
        m = semopy.Model(_syntax(model))
        t0 = time.perf_counter()
        m.fit(data, obj=obj)
        elapsed = time.perf_counter() - t0
        st = semopy.calc_stats(m).T["Value"]
        print(f"  semopy: {elapsed:.3f} s (obj={obj})  chisq={st['chi2']:.4f} "
              f"cfi={st['CFI']:.6f} rmsea={st['RMSEA']:.6f}")
        return elapsed
    except Exception as exc:  # noqa: BLE001 - a bench reports any failure in one line
        print(f"  semopy (obj={obj}) fails: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
        return None


def small_case(how: str) -> None:
    if how == "wlsmv":
        data, model = simulate_small(2000, 4, 5, categories=5)
        label = "WLSMV (ordered = TRUE), p = 20 (4 x 5), 5 categories, N = 2,000"
        kwargs = dict(ordered=True)
    else:
        data, model = simulate_small(1000, 3, 4, missing=0.10)
        label = (f"{'FIML' if how == 'fiml' else 'two-stage ML'}, p = 12 (3 x 4), "
                 f"N = {len(data):,}, 10% missing")
        kwargs = dict(missing=how)
    cfa(data.iloc[:300].dropna() if how == "wlsmv" else data.iloc[:300], model, **kwargs)
    runs = measure(lambda: cfa(data, model, **kwargs), 3)
    res, t_acap = runs.result, runs.best
    extra = (f" chisq_scaled={res.fit['chisq_scaled']:.4f} cfi_scaled={res.fit['cfi_scaled']:.6f}"
             if "chisq_scaled" in res.fit else "")
    print(label)
    print(f"  acap  : {t_acap:.3f} s (best of 3)  chisq={res.fit['chisq']:.4f} "
          f"cfi={res.fit['cfi']:.6f}{extra}")
    if have_r():
        with scratch() as tmp:
            csv, mod = tmp / "d.csv", tmp / "m.txt"
            data.to_csv(csv, index=False, na_rep="NA")
            mod.write_text(_syntax(model))
            r = r_json(run_r(R_SMALL, csv, mod, how))
        if r is not None:
            extra = (f" chisq_scaled={r['chisq_scaled']:.4f} cfi_scaled={r['cfi_scaled']:.6f}"
                     if "chisq_scaled" in r else "")
            print(f"  lavaan: {r['elapsed']:.3f} s  chisq={r['chisq']:.4f} cfi={r['cfi']:.6f}"
                  f"{extra}")
            print(f"  ratio acap / lavaan = {t_acap / r['elapsed']:.3f}; |d chisq| = "
                  f"{abs(res.fit['chisq'] - r['chisq']):.2e}, |d cfi| = "
                  f"{abs(res.fit['cfi'] - r['cfi']):.2e}")
    if how == "fiml":
        _semopy(data, model, "FIML")
    elif how == "wlsmv":
        # semopy has no WLSMV; its polychoric correlations are the first step one would need
        try:
            from semopy.polycorr import polychoric_corr
            t0 = time.perf_counter()
            polychoric_corr(data["y1"], data["y2"])
            print(f"  semopy polychoric_corr (one pair): {time.perf_counter() - t0:.3f} s")
        except Exception as exc:  # noqa: BLE001
            print(f"  semopy polychoric fails: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0][:120] if str(exc) else ''}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    ml_case(n)
    data, model = simulate(20_000)
    print("ML case, N = 20,000, acap and semopy:")
    runs = measure(lambda: cfa(data, model), 3)
    print(f"  acap  : {runs.best:.3f} s (best of 3)  chisq={runs.result.fit['chisq']:.4f} "
          f"cfi={runs.result.fit['cfi']:.6f} rmsea={runs.result.fit['rmsea']:.6f}")
    _semopy(data, model, "MLW")
    for how in ("fiml", "two.stage", "wlsmv"):
        small_case(how)


if __name__ == "__main__":
    main()
