"""Confirmatory factor analysis (ML) and measurement invariance, agreeing with lavaan.

``cfa(data, model)`` fits a simple-structure measurement model by maximum likelihood with
lavaan's defaults for ``cfa(model, data, meanstructure = TRUE)``: marker-variable
identification (first loading of each factor fixed at 1), free latent covariances, free item
intercepts with latent means fixed at 0, the normal likelihood with N (not N - 1), standard
errors from the expected information, listwise deletion. Fit measures follow lavaan's
``fitMeasures`` (CFI truncated to [0, 1], TLI not truncated, RMSEA and its 90% interval from
the noncentral chi-square, SRMR as lavaan's ``srmr`` including the mean residuals).

``invariance(data, model, group)`` fits the configural, metric (equal loadings) and scalar
(equal loadings and intercepts) multi-group models as lavaan's ``group.equal`` does and
tabulates the chi-square difference tests and changes in CFI and RMSEA.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize

from acap import _dist
from acap._blas import blas_threads
from acap.errors import AcapInputError
from acap.factor._sem import LOG2PI, Engine, GroupStats, Pattern, build_table, em_h1
from acap.factor._robust import (RobustParts, available_case_gamma, missing_information, ml_delta, ml_weight,
                                 robust_sums, spd_inverse, vech_index)
from acap.factor.syntax import parse_model
from acap.itemdata import numeric_items

__all__ = ["cfa", "CFA", "CFAResult", "FitMeasures", "invariance", "modification_indices"]

_MISSING = ("listwise", "fiml", "two.stage")
_GROUP_EQUAL = ("loadings", "intercepts")


# ---------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------
class FitMeasures(Mapping):
    """Read-only mapping of fit measures (also readable as attributes, e.g. ``fit.cfi``).

    Keys: ``n``, ``ngroups``, ``npar``, ``fmin``, ``chisq``, ``df``, ``pvalue``,
    ``baseline_chisq``, ``baseline_df``, ``baseline_pvalue``, ``cfi``, ``tli``, ``loglik``,
    ``unrestricted_loglik``, ``aic``, ``bic``, ``rmsea``, ``rmsea_ci_lower``,
    ``rmsea_ci_upper``, ``srmr``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, float]):
        object.__setattr__(self, "_values", dict(values))

    def __getitem__(self, key: str) -> float:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, key: str) -> float:
        if key.startswith("_"):  # not a measure (and not yet set while unpickling)
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __reduce__(self):
        return (FitMeasures, (self._values,))

    def __setattr__(self, key, value):
        raise AttributeError("FitMeasures is read-only")

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.6g}" for k, v in self._values.items())
        return f"FitMeasures({body})"

    def to_series(self) -> pd.Series:
        """The measures as a pandas Series indexed by name."""
        return pd.Series(self._values, name="fit", dtype=float)


@dataclass(frozen=True)
class CFAResult:
    """A fitted confirmatory factor model.

    Attributes
    ----------
    fit : FitMeasures
        Fit measures (chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper,
        srmr, baseline_chisq, baseline_df, aic, bic, loglik, npar, n, ...).
    loadings : pandas.DataFrame
        One row per loading (index ``factor=~item``, plus ``[group]`` with several groups):
        columns factor, item, (group,) est, se, std (lavaan's std.all).
    params : pandas.DataFrame
        lavaan-style parameter table: lhs, op, rhs, group, est, se, z, pvalue, std_lv, std_all.
    model : Mapping[str, tuple[str, ...]]
        The factors and their items, as fitted.
    groups : tuple[str, ...]
        Group labels (one group: ``("all",)``).
    nobs : Mapping[str, int]
        Rows used per group after listwise deletion.
    converged : bool
        Whether the optimiser met its convergence criterion.
    iterations : int
        Optimiser iterations.
    implied : Mapping[str, tuple[pandas.DataFrame, pandas.Series]]
        Model-implied covariance matrix and means per group.
    meanstructure : bool
        Whether the model has a mean structure (item intercepts), as lavaan decides it.
    srmr_kind : str
        Which SRMR ``fit["srmr"]`` is, in lavaan's names: ``"srmr_bentler"`` (covariance and
        mean residuals, with a mean structure) or ``"srmr_bentler_nomean"`` (covariance
        residuals only). Both are what lavaan's ``fitMeasures(fit, "srmr")`` reports for the
        same call.
    estimator : str
        ``"ML"`` or ``"WLSMV"`` (``ordered=True``).
    thresholds : pandas.DataFrame or None
        With ``ordered``: one row per threshold (index ``item|t1``, plus ``[group]``), columns
        item, threshold, (group,) est, se.
    """

    fit: FitMeasures
    loadings: pd.DataFrame
    params: pd.DataFrame
    model: Mapping[str, tuple[str, ...]]
    groups: tuple[str, ...]
    nobs: Mapping[str, int]
    converged: bool
    iterations: int
    implied: Mapping[str, tuple[pd.DataFrame, pd.Series]] = field(repr=False)
    meanstructure: bool = True
    srmr_kind: str = "srmr_bentler"
    estimator: str = "ML"
    thresholds: pd.DataFrame | None = None
    _state: object = field(repr=False, compare=False, default=None)

    @cached_property
    def modification_indices(self) -> pd.DataFrame:
        """lavaan-style modification indices (cross-loadings and residual covariances).

        Columns lhs, op, rhs, (group,) mi, epc, sepc_lv, sepc_all, sorted by mi descending;
        computed on first access from the expected information, as ``lavaan::modindices``.
        """
        if self._state is None or self.estimator != "ML":
            raise AcapInputError("modification indices are computed for ML fits only",
                                 "modification_indices")
        with blas_threads(1):
            return _modification_indices(*self._state)


# ---------------------------------------------------------------------------------------
# input checking and sufficient statistics
# ---------------------------------------------------------------------------------------
def _checked_input(data, model, group, covariances):
    """The data as a DataFrame, the parsed model, its items and residual-covariance index
    pairs, after checking that every item and the group are columns (shared with WLSMV)."""
    if not isinstance(data, pd.DataFrame):
        try:
            data = pd.DataFrame(data)
        except Exception as exc:  # noqa: BLE001 - report any conversion failure the same way
            raise AcapInputError(f"data must be a table of item responses ({exc})", "data")
    model_spec = parse_model(model)
    spec = model_spec.as_dict()
    factors = list(spec)
    items = list(model_spec.items)
    for f in factors:
        for i in spec[f]:
            if i not in data.columns:
                raise AcapInputError(f"item {i!r} of factor {f!r} is not a column of the data",
                                     f"model, item {i!r}")
    pairs = []
    for pair in tuple(model_spec.covariances) + tuple(covariances or ()):
        if len(pair) != 2 or pair[0] == pair[1]:
            raise AcapInputError("each residual covariance is a pair of two different items",
                                 f"covariances, {pair!r}")
        for i in pair:
            if i not in items:
                raise AcapInputError(f"item {i!r} is not an item of the model",
                                     f"covariances, {pair!r}")
        a, b = items.index(pair[0]), items.index(pair[1])
        if (a, b) in pairs or (b, a) in pairs:
            raise AcapInputError("residual covariance listed twice", f"covariances, {pair!r}")
        pairs.append((a, b))
    if group is not None:
        if group not in data.columns:
            raise AcapInputError(f"group column {group!r} is not a column of the data",
                                 f"group {group!r}")
        if group in items:
            raise AcapInputError("the group column cannot also be an item", f"group {group!r}")
    return data, model_spec, spec, factors, items, pairs


def _prepare(data, model, group, covariances, missing="listwise"):
    data, model_spec, spec, factors, items, pairs = _checked_input(data, model, group,
                                                                   covariances)
    # The group column stays as it is; the item columns get the common item-table rules. Row
    # counts are checked per group below (they need items + 1 usable rows, not just 2).
    frame = numeric_items(data[items], "data", min_items=1, min_rows=0)
    if group is not None:
        frame[group] = data[group]
    if missing in ("fiml", "two.stage"):
        # lavaan's missing = "ml" keeps every row with at least one observed item
        frame = frame[frame[items].notna().any(axis=1)]
        if group is not None:
            frame = frame[frame[group].notna()]
    else:
        frame = frame.dropna()  # listwise deletion, as lavaan's default missing = "listwise"
    p = len(items)
    parts = _group_parts(data, frame, group)
    group_stats = []
    for lab, part in parts:
        n = len(part)
        where = "data" if group is None else f"group {group!r} = {lab!r}"
        if n < p + 1:
            raise AcapInputError(
                f"has {n} usable rows; at least {p + 1} (items + 1) are needed", where)
        if missing == "fiml":
            group_stats.append(_fiml_stats(part[items].to_numpy(float), str(lab), items, where))
            continue
        if missing == "two.stage":
            # stage one: EM moments; stage two fits them as complete-data moments
            x = part[items].to_numpy(float)
            em = _fiml_stats(x, str(lab), items, where)
            group_stats.append(GroupStats(em.label, em.n, em.mean, em.cov, stage1=em.patterns,
                                          stage1_adf=available_case_gamma(x)))
            continue
        x = part[items].to_numpy(float)
        mean = x.mean(axis=0)
        xc = x - mean
        cov = xc.T @ xc / n  # biased: the ML likelihood uses N
        sd = np.sqrt(np.diag(cov))
        if np.any(sd <= 1e-12 * np.maximum(1.0, np.abs(mean))):
            bad = items[int(np.argmin(sd))]
            raise AcapInputError("has no variance (every response the same)",
                                 f"{where}, item {bad!r}")
        if np.linalg.eigvalsh(cov / np.outer(sd, sd))[0] <= 1e-10:
            raise AcapInputError("the item covariance matrix is singular (an item is a linear "
                                 "combination of others)", where)
        group_stats.append(GroupStats(str(lab), n, mean, cov))
    loadings = [(j, items.index(i)) + model_spec.loading(f, i)
                for j, f in enumerate(factors) for i in spec[f]]
    latent = {(j, k): model_spec.latent(factors[j], factors[k])
              for j in range(len(factors)) for k in range(j + 1)}
    return spec, factors, items, (loadings, latent), pairs, group_stats


def _group_parts(data: pd.DataFrame, frame: pd.DataFrame, group) -> list:
    """(label, rows) per group: order of first appearance, or category order (as lavaan)."""
    if group is None:
        return [("all", frame)]
    if isinstance(data[group].dtype, pd.CategoricalDtype):
        labels = [c for c in data[group].cat.categories if (frame[group] == c).any()]
    else:
        labels = list(pd.unique(data[group].dropna()))  # order of appearance, as lavaan
    parts = [(lab, frame[frame[group] == lab]) for lab in labels]
    if len(parts) < 2:
        raise AcapInputError("needs at least two groups with complete rows", f"group {group!r}")
    return parts


def _fiml_stats(x: np.ndarray, label: str, items: list[str], where: str) -> GroupStats:
    """Missing-data patterns, EM estimates of the unrestricted model, baseline loglik."""
    n, p = x.shape
    mask = ~np.isnan(x)
    base = 0.0
    for j in range(p):
        v = x[mask[:, j], j]
        if len(v) < 2 or np.ptp(v) <= 1e-12 * max(1.0, abs(v.mean())):
            raise AcapInputError("has fewer than two distinct observed values", f"{where}, "
                                 f"item {items[j]!r}")
        # independence model: each item's own ML mean and variance from its observed values
        base += -0.5 * len(v) * (LOG2PI + np.log(v.var()) + 1.0)
    keys, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    patterns = []
    for k, key in enumerate(keys):
        rows = x[inverse == k][:, key]
        m = rows.mean(axis=0)
        dev = rows - m
        patterns.append(Pattern(np.nonzero(key)[0], len(rows), m, dev.T @ dev / len(rows)))
    mu, sigma = em_h1(patterns, p, n)
    if np.linalg.eigvalsh(sigma)[0] <= 1e-10 * np.max(np.diag(sigma)):
        raise AcapInputError("the estimated item covariance matrix is singular", where)
    return GroupStats(label, n, mu, sigma, patterns=patterns, baseline_loglik=base)


# ---------------------------------------------------------------------------------------
# fit measures
# ---------------------------------------------------------------------------------------
def _rmsea_ci(x2: float, df: float, n: int, g: int, level: float = 0.90):
    """lavaan's noncentral chi-square interval for RMSEA (lav_fit_rmsea_ci)."""
    if not (np.isfinite(x2) and np.isfinite(df)) or df < 1:
        return 0.0, 0.0
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(lam):
        return _dist.chi2_cdf(x2, df) if lam <= 0 else _dist.ncx2_cdf(x2, df, lam)

    if cdf(0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = optimize.brentq(lambda l: cdf(l) - upper_p, 0.0, x2, xtol=1e-12)
        lo = math.sqrt(lam / (n * df)) * math.sqrt(g)
    n_rmsea = max(n, 4 * x2)
    if cdf(n_rmsea) - lower_p > 0 or cdf(0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = optimize.brentq(lambda l: cdf(l) - lower_p, 0.0, n_rmsea, xtol=1e-12)
        hi = math.sqrt(lam / (n * df)) * math.sqrt(g)
    return lo, hi


def _srmr_group(s: GroupStats, sigma: np.ndarray, mu: np.ndarray, means: bool = True) -> float:
    """lavaan's ``srmr`` for one group: Bentler's residual correlations, plus the mean
    residuals when the model has a mean structure (lavaan's ``srmr_bentler``)."""
    sd = np.sqrt(np.diag(s.cov))
    r_cov = (s.cov - sigma) / np.outer(sd, sd)
    p = len(sd)
    tri = r_cov[np.tril_indices(p)]
    if not means:
        return math.sqrt(np.sum(tri ** 2) / (p * (p + 1) / 2))
    r_mean = (s.mean - mu) / sd
    return math.sqrt((np.sum(tri ** 2) + np.sum(r_mean ** 2)) / (p * (p + 1) / 2 + p))


def _incremental(chisq, df, base, base_df):
    """CFI (truncated to [0, 1]) and TLI (not truncated) as lavaan's fitMeasures."""
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, base - base_df, 0.0)
    cfi = 1.0 if (math.isclose(t1, 0.0, abs_tol=1.5e-8) and math.isclose(t2, 0.0, abs_tol=1.5e-8)) \
        else 1.0 - t1 / t2
    tt1 = (chisq - df) * base_df
    tt2 = (base - base_df) * df
    tli = 1.0 - tt1 / tt2 if (df > 0 and abs(tt2) > 0) else 1.0
    return cfi, tli


def _rmsea(chisq, df, n, g_n):
    return math.sqrt(max(chisq / (n * df) - 1.0 / n, 0.0)) * math.sqrt(g_n) if df > 0 else 0.0


def scaled_measures(chisq, df, base, base_df, n, g_n, test, base_test) -> dict:
    """The ``*_scaled`` fit measures from a corrected test of the model and of the baseline.

    ``test`` and ``base_test`` are (scale, shift) pairs: T_scaled = T / scale + shift (Satorra-
    Bentler: shift 0; scaled-and-shifted: scale 1/a). CFI, TLI and RMSEA are then lavaan 0.6's
    ``cfi.scaled``, ``tli.scaled`` and ``rmsea.scaled``: the usual formulas on the scaled
    statistics and the model's df.
    """
    chisq_s = chisq / test[0] + test[1] if df > 0 else chisq
    base_s = base / base_test[0] + base_test[1]
    cfi_s, tli_s = _incremental(chisq_s, df, base_s, base_df)
    return dict(chisq_scaled=chisq_s, df_scaled=float(df),
                pvalue_scaled=float(_dist.chi2_sf(chisq_s, df)) if df > 0 else float("nan"),
                chisq_scaling_factor=float(test[0]) if df > 0 else float("nan"),
                chisq_shift=float(test[1]) if df > 0 else float("nan"),
                baseline_chisq_scaled=base_s, baseline_chisq_scaling_factor=float(base_test[0]),
                cfi_scaled=cfi_s, tli_scaled=tli_s, rmsea_scaled=_rmsea(chisq_s, df, n, g_n))


def _fit_measures(engine: Engine, x: np.ndarray, fmin2: float, npar: int,
                  meanstructure: bool = True, scaled: dict | None = None) -> FitMeasures:
    """Fit measures; without a mean structure the (saturated) means and intercepts are left
    out of both the moments and the parameters, as lavaan's default ``cfa()`` does."""
    p, g_n, n = engine.p, engine.ngroups, engine.ntotal
    chisq = n * fmin2
    moments = p * (p + 1) / 2 + (p if meanstructure else 0)
    df = g_n * moments - npar
    pvalue = float(_dist.chi2_sf(chisq, df)) if df > 0 else float("nan")
    # baseline: independent items with free means and variances in every group
    base = sum(2.0 * (s.h1_loglik - s.baseline_loglik) for s in engine.stats)
    base_df = g_n * p * (p - 1) / 2
    cfi, tli = _incremental(chisq, df, base, base_df)
    logl = 0.0
    unres = 0.0
    srmr = 0.0
    fg = engine.group_f(x)
    for gi, s in enumerate(engine.stats):
        # F_g is the discrepancy from the unrestricted model: logl_g = logl_h1,g - N_g F_g / 2
        logl += s.h1_loglik - 0.5 * s.n * fg[gi]
        unres += s.h1_loglik
        sigma, mu = engine.implied(x, gi)
        srmr += s.n / n * _srmr_group(s, sigma, mu, meanstructure)
    rmsea = _rmsea(chisq, df, n, g_n)
    lo, hi = _rmsea_ci(chisq, df, n, g_n)
    extra = {} if scaled is None else scaled_measures(chisq, df, base, base_df, n, g_n, **scaled)
    return FitMeasures(dict(
        n=float(n), ngroups=float(g_n), npar=float(npar), fmin=fmin2 / 2, chisq=chisq,
        df=float(df), pvalue=pvalue, baseline_chisq=base, baseline_df=float(base_df),
        baseline_pvalue=float(_dist.chi2_sf(base, base_df)), cfi=cfi, tli=tli, loglik=logl,
        unrestricted_loglik=unres, aic=-2 * logl + 2 * npar, bic=-2 * logl + npar * math.log(n),
        rmsea=rmsea, rmsea_ci_lower=lo, rmsea_ci_upper=hi, srmr=srmr, **extra))


# ---------------------------------------------------------------------------------------
# parameter table, standardisation
# ---------------------------------------------------------------------------------------
def _standardise(kind, r, c, est, theta, psi, sigma):
    """(std_lv, std_all) of the parameters of one group (arrays: kind, row, col, estimate), as
    lavaan's standardizedSolution."""
    sd_ov = np.sqrt(np.diag(sigma))
    sd_lv = np.sqrt(np.maximum(np.diag(psi), 0))
    std_lv = np.full(len(est), np.nan)
    std_all = np.full(len(est), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = kind == "lambda"
        std_lv[k] = est[k] * sd_lv[c[k]]
        std_all[k] = std_lv[k] / sd_ov[r[k]]
        k = kind == "theta"
        std_lv[k] = est[k]
        diag = k & (r == c)
        std_all[diag] = est[diag] / sigma[r[diag], r[diag]]
        off = k & (r != c)
        prod = theta[r[off], r[off]] * theta[c[off], c[off]]
        std_all[off] = np.where(prod > 0, est[off] / np.sqrt(np.where(prod > 0, prod, 1.0)),
                                np.nan)
        k = kind == "psi"
        std_lv[k] = std_all[k] = est[k] / (sd_lv[r[k]] * sd_lv[c[k]])
        k = kind == "nu"
        std_lv[k] = est[k]
        std_all[k] = est[k] / sd_ov[r[k]]
        k = kind == "alpha"
        std_lv[k] = std_all[k] = est[k] / sd_lv[r[k]]
    return std_lv, std_all


def _param_table(engine: Engine, x: np.ndarray, vcov: np.ndarray) -> pd.DataFrame:
    t = engine.table
    cols = engine._cols
    free = cols["free"]
    is_free = free >= 0
    se_free = np.sqrt(np.clip(np.diag(vcov), 0, None)) if vcov is not None \
        else np.full(engine.nfree, np.nan)
    est = np.where(is_free, x[np.where(is_free, free, 0)], cols["value"])
    se = np.where(is_free, se_free[np.where(is_free, free, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(is_free & (se > 0), est / se, np.nan)
    pv = np.where(np.isfinite(z), 2 * _dist.norm_sf(np.abs(np.where(np.isfinite(z), z, 0.0))),
                  np.nan)
    std_lv = np.empty(len(est))
    std_all = np.empty(len(est))
    for g in range(engine.ngroups):
        in_g = cols["group"] == g
        _, theta, psi, _, _ = engine.matrices(x, g)
        sigma = engine.implied(x, g)[0]
        std_lv[in_g], std_all[in_g] = _standardise(cols["kind"][in_g], cols["row"][in_g],
                                                   cols["col"][in_g], est[in_g], theta, psi,
                                                   sigma)
    return pd.DataFrame({"lhs": t["lhs"].to_numpy(object), "op": t["op"].to_numpy(object),
                         "rhs": t["rhs"].to_numpy(object), "group": cols["group"] + 1, "est": est,
                         "se": se, "z": z, "pvalue": pv, "std_lv": std_lv, "std_all": std_all})


# ---------------------------------------------------------------------------------------
# modification indices
# ---------------------------------------------------------------------------------------
def _modification_indices(engine: Engine, x: np.ndarray, info: np.ndarray,
                          group_labels: tuple[str, ...]) -> pd.DataFrame:
    t = engine.table
    p, m = engine.p, engine.m
    extra = []
    k = engine.nfree
    for g in range(engine.ngroups):
        sub = t[t["group"] == g]
        lam = sub[sub.kind == "lambda"]
        lam_set = set(zip(lam["row"], lam["col"]))
        th = sub[sub.kind == "theta"]
        th_set = set(zip(th["row"], th["col"]))
        psi_diag = sub[(sub.kind == "psi") & (sub.row == sub.col)]
        factors = {int(c): lhs for lhs, c in zip(psi_diag["lhs"], psi_diag["row"])}
        items = {int(r): lhs for lhs, r in zip(sub.loc[sub.kind == "nu", "lhs"],
                                               sub.loc[sub.kind == "nu", "row"])}
        for j in range(m):
            for i in range(p):
                if (i, j) not in lam_set:
                    extra.append(dict(lhs=factors[j], op="=~", rhs=items[i], group=g,
                                      kind="lambda", row=i, col=j, free=k, value=0.0))
                    k += 1
        for a in range(p):
            for b in range(a + 1, p):
                if (b, a) not in th_set:
                    extra.append(dict(lhs=items[a], op="~~", rhs=items[b], group=g,
                                      kind="theta", row=b, col=a, free=k, value=0.0))
                    k += 1
    cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
    if not extra:
        return pd.DataFrame(columns=cols if engine.ngroups > 1 else
                            [c for c in cols if c != "group"])
    ext = pd.concat([t, pd.DataFrame(extra)], ignore_index=True)
    x_ext = np.concatenate([x, np.zeros(k - engine.nfree)])
    mod = np.arange(engine.nfree)
    add = np.arange(engine.nfree, k)
    # only the information's columns of the model's parameters and its diagonal are needed
    grad, i_mod, diag = engine.derivatives(x_ext, table=ext, ncols=k, info_cols=mod)
    score = -0.5 * grad  # gradient of the per-observation loglikelihood
    i12 = i_mod[add]
    i22 = 0.5 * (i_mod[mod] + i_mod[mod].T) if info is None else info
    v = diag[add] - np.einsum("ij,ji->i", i12, np.linalg.solve(i22, i12.T))
    v = np.where(v < np.finfo(float).eps ** (1 / 3), np.nan, v)
    n = engine.ntotal
    s_add = score[add]
    mi = n * s_add ** 2 / v
    epc = s_add / v
    rows = []
    mats = [engine.matrices(x, g)[:3] + (engine.implied(x, g)[0],) for g in range(engine.ngroups)]
    for e, mi_, epc_ in zip(extra, mi, epc):
        lam, theta, psi, sigma = mats[e["group"]]
        if e["kind"] == "lambda":
            sd_lv = math.sqrt(psi[e["col"], e["col"]]) if psi[e["col"], e["col"]] > 0 else np.nan
            lv, al = epc_ * sd_lv, epc_ * sd_lv / math.sqrt(sigma[e["row"], e["row"]])
        else:
            prod = theta[e["row"], e["row"]] * theta[e["col"], e["col"]]
            lv, al = epc_, epc_ / math.sqrt(prod) if prod > 0 else np.nan
        rows.append((e["lhs"], e["op"], e["rhs"], group_labels[e["group"]], mi_, epc_, lv, al))
    out = pd.DataFrame(rows, columns=cols)
    out = out[out["mi"].notna()]
    out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
    if engine.ngroups == 1:
        out = out.drop(columns="group")
    return out


# ---------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------
def _fit(data, model, group=None, group_equal=(), covariances=(), missing="listwise",
         meanstructure=None, stats=None):
    # the sufficient statistics are computed outside the limit (big matrix products can use
    # threads); the optimiser works on p x p matrices where BLAS threads only add overhead.
    # ``stats``: _prepare's result for the same data, model, group and missing, when the
    # caller fits several models to them (the invariance steps)
    prepared = _prepare_fit(data, model, group, group_equal, covariances, missing,
                            meanstructure, stats)
    with blas_threads(1):
        return _fit_prepared(*prepared)


def _meanstructure(meanstructure, group, group_equal, missing) -> bool:
    """lavaan's rule: a mean structure with several groups, with missing = "ml" or
    "two.stage", or when asked for; otherwise none (means are then saturated)."""
    needed = missing != "listwise" or "intercepts" in group_equal
    if meanstructure is None:
        return needed or group is not None
    if not meanstructure and needed:
        raise AcapInputError("this model needs a mean structure (missing-data methods other "
                             "than listwise, and equal intercepts, fit the means)",
                             "meanstructure")
    return bool(meanstructure)


def _checked_group_equal(group_equal, group, allowed=_GROUP_EQUAL) -> tuple[str, ...]:
    """``group_equal`` as a tuple, after checking each constraint is one of ``allowed`` and
    that there is a group column to hold them across (shared with WLSMV)."""
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    for ge in group_equal:
        if ge not in allowed:
            raise AcapInputError(f"unknown constraint {ge!r}; use any of {allowed}",
                                 "group_equal")
    if group_equal and group is None:
        raise AcapInputError("equality constraints need a group column", "group_equal")
    return tuple(group_equal)


def _prepare_fit(data, model, group, group_equal, covariances, missing, meanstructure=None,
                 stats=None):
    if missing not in _MISSING:
        raise AcapInputError(f"unknown missing-data method {missing!r}; use one of {_MISSING}",
                             "missing")
    group_equal = _checked_group_equal(group_equal, group)
    if "intercepts" in group_equal and "loadings" not in group_equal:
        raise AcapInputError("equal intercepts need equal loadings too", "group_equal")
    means = _meanstructure(meanstructure, group, group_equal, missing)
    if stats is None:
        stats = _prepare(data, model, group, covariances, missing)
    return (stats, group_equal, means)


def _two_stage(engine: Engine, x: np.ndarray):
    """Two-stage ML's sandwich covariance and Satorra-Bentler scalings, as lavaan's
    ``missing = "two.stage"`` (se = "two.stage", information "observed" from the unstructured
    h1 model, test "satorra.bentler"): Gamma_g is the inverse of the per-case observed
    information of the saturated model under missingness, W_g the complete-data normal-theory
    weight at the EM moments."""
    p, gn, n = engine.p, engine.ngroups, engine.ntotal
    frac = engine.weights
    deltas, weights, gammas = [], [], []
    for g, s in enumerate(engine.stats):
        deltas.append(ml_delta(*engine.jacobian(x, g)))
        if "two_stage" not in s.derived:
            info_g = missing_information(s.stage1, s.mean, s.cov, s.n)
            s.derived["two_stage"] = (ml_weight(s.cov), spd_inverse(info_g))
        w_g, gamma_g = s.derived["two_stage"]
        weights.append(w_g)
        gammas.append(gamma_g)
    e_mat, middle, trace = robust_sums(RobustParts(deltas, weights, gammas, frac))
    e_inv = np.linalg.inv(e_mat)
    vcov = e_inv @ middle @ e_inv / n  # the sandwich
    df = gn * (p * (p + 1) / 2 + p) - engine.nfree
    tr = trace - float(np.sum(e_inv * middle.T))  # tr(U Gamma)
    # the baseline (independent items, free means and variances per group)
    vi, vj = vech_index(p)
    diag_rows = p + np.nonzero(vi == vj)[0]
    bdeltas = []
    for g in range(gn):
        d = np.zeros((p + len(vi), 2 * p * gn))
        d[np.arange(p), 2 * p * g + np.arange(p)] = 1.0
        d[diag_rows, 2 * p * g + p + np.arange(p)] = 1.0
        bdeltas.append(d)
    # lavaan scales its baseline model with an available-case ADF Gamma, not the two-stage
    # one (the baseline is refitted without standard errors, so it falls back on NACOV)
    b_mat, b_middle, b_trace = robust_sums(RobustParts(bdeltas, weights, [s.stage1_adf for s in engine.stats],
                                                       frac))
    btr = b_trace - float(np.sum(np.linalg.inv(b_mat) * b_middle.T))
    base_df = gn * p * (p - 1) / 2
    scale = tr / df if df > 0 else float("nan")
    return vcov, dict(test=(scale, 0.0), base_test=(btr / base_df, 0.0))


def _fit_prepared(prepared, group_equal, meanstructure=True):
    spec, factors, items, loadings, pairs, gstats = prepared
    p, m = len(items), len(factors)
    table = build_table(factors, items, loadings, len(gstats),
                        equal_loadings="loadings" in group_equal,
                        equal_intercepts="intercepts" in group_equal, residual_covs=pairs)
    engine = Engine(table, p, m, gstats)
    npar = engine.nfree
    df = len(gstats) * (p * (p + 1) / 2 + p) - npar
    if df < 0:
        raise AcapInputError(f"the model has more parameters ({npar}) than moments; "
                             f"it is not identified (df = {df:g})", "model")
    x, fmin2, iters, converged = engine.fit()
    if not converged:
        warnings.warn("CFA did not converge; estimates may be unreliable", RuntimeWarning,
                      stacklevel=4)
    _, info = engine.derivatives(x)
    fiml = any(s.patterns is not None for s in gstats)
    two_stage = any(s.stage1 is not None for s in gstats)
    scaled = None
    try:
        if two_stage:
            vcov, scaled = _two_stage(engine, x)
        elif fiml:
            # lavaan's default for missing = "ml": observed information (Hessian of -logl)
            vcov = np.linalg.inv(0.5 * engine.ntotal * engine.hessian(x))
        else:
            vcov = np.linalg.inv(engine.ntotal * info)
        if np.any(np.diag(vcov) < 0):
            raise np.linalg.LinAlgError("negative variances")
    except np.linalg.LinAlgError:
        warnings.warn("the information matrix is singular: standard errors are not available "
                      "(the model may not be identified)", RuntimeWarning, stacklevel=4)
        vcov = None
    params = _param_table(engine, x, vcov)
    # row masks from the engine's arrays (comparing the table's string columns costs more)
    kind = engine._cols["kind"]
    diag = engine._cols["row"] == engine._cols["col"]
    if not meanstructure:
        # the intercepts only reproduce the sample means: lavaan's default model has neither
        keep = (kind != "nu") & (kind != "alpha")
        params = params[keep].reset_index(drop=True)
        kind, diag = kind[keep], diag[keep]
        npar -= int(table.loc[table["kind"].isin(["nu", "alpha"]) & (table["free"] >= 0),
                              "free"].nunique())
    fit = _fit_measures(engine, x, fmin2, npar, meanstructure, scaled)
    est = params["est"].to_numpy()
    variance = ((kind == "theta") | (kind == "psi")) & diag
    if (est[variance] < 0).any():
        # a Heywood case: lavaan warns too and, like lavaan, the estimates are kept as they are
        worst = params.iloc[np.flatnonzero(variance)[np.argmin(est[variance])]]
        warnings.warn(f"some estimated variances are negative (e.g. {worst['lhs']}: "
                      f"{worst['est']:.3g}); the model may be misspecified or N too small",
                      RuntimeWarning, stacklevel=4)
    labels = tuple(s.label for s in gstats)
    params["group"] = params["group"].astype(int)
    lo = params[kind == "lambda"].rename(columns={"lhs": "factor", "rhs": "item", "std_all": "std"})
    if len(gstats) > 1:
        lo["group"] = [labels[g - 1] for g in lo["group"]]
        lo.index = [f"{f}=~{i} [{g}]" for f, i, g in zip(lo["factor"], lo["item"], lo["group"])]
        lo = lo[["factor", "item", "group", "est", "se", "std"]]
    else:
        lo.index = [f"{f}=~{i}" for f, i in zip(lo["factor"], lo["item"])]
        lo = lo[["factor", "item", "est", "se", "std"]]
    lo.index.name = "parameter"
    implied = {}
    for g, s in enumerate(gstats):
        sigma, mu = engine.implied(x, g)
        implied[s.label] = (pd.DataFrame(sigma, index=items, columns=items),
                            pd.Series(mu, index=items, name="mean"))
    return CFAResult(
        fit=fit, loadings=lo, params=params,
        model={f: tuple(v) for f, v in spec.items()}, groups=labels,
        nobs={s.label: s.n for s in gstats}, converged=converged, iterations=iters,
        implied=implied, meanstructure=meanstructure,
        srmr_kind="srmr_bentler" if meanstructure else "srmr_bentler_nomean",
        _state=(engine, x, info, labels))


def cfa(data, model, *, group=None, group_equal=(), covariances=(), missing="listwise",
        meanstructure=None, ordered=False):
    """Confirmatory factor analysis, as lavaan's ``cfa`` (ML, two-stage ML, or WLSMV).

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses, one row per respondent (non-numeric cells are an error; rows with a
        missing item are dropped, as lavaan's default listwise deletion).
    model : str or Mapping[str, Sequence[str]]
        lavaan model syntax (``"visual =~ x1 + x2 + x3\\n textual =~ x4 + x5 + x6"``, with
        ``~~`` residual covariances and ``1*x`` / ``NA*x`` fixed or freed values; see
        :func:`acap.factor.syntax.parse_model`), or ``{factor: [items]}``. The first item of
        each factor is its marker (loading 1) unless the syntax says otherwise. An item may
        load on more than one factor.
    group : str, optional
        Column holding group labels, for a multi-group model (groups in order of first
        appearance, or category order for a categorical column).
    group_equal : sequence of {"loadings", "intercepts"}, optional
        Equality constraints across groups, as lavaan's ``group.equal`` (with ``ordered``,
        also "thresholds").
    covariances : sequence of (item, item), optional
        Residual covariances to free (beside any ``~~`` in the syntax).
    missing : {"listwise", "fiml", "two.stage"}
        ``"listwise"`` (lavaan's default) drops rows with any missing item; ``"fiml"`` is
        full-information ML as lavaan's ``missing = "ml"``: every row with at least one item,
        chi-square against the EM-estimated unrestricted model, SRMR from the EM moments, and
        standard errors from the observed information (lavaan's default for that case).
        ``"two.stage"`` is lavaan's ``missing = "two.stage"`` (Savalei and Bentler 2009): the
        model is fitted by ML to the EM means and covariances, with sandwich standard errors
        and a Satorra-Bentler scaled chi-square (``fit["chisq_scaled"]``, ``cfi_scaled``,
        ``tli_scaled``, ``rmsea_scaled``) that account for the missing data.
    meanstructure : bool, optional
        Fit item intercepts. By default lavaan's rule: yes with several groups or a
        missing-data method other than listwise, no otherwise (SRMR then has no mean
        residuals, and npar, AIC and BIC count no intercepts: the numbers equal lavaan's for
        the same call). ``result.srmr_kind`` names the SRMR reported.
    ordered : bool or sequence of str, optional
        Treat the items (``True``: all of them) as ordinal and fit by WLSMV, as lavaan's
        ``cfa(model, data, ordered = TRUE)``: see :mod:`acap.factor.wlsmv`.

    Returns
    -------
    CFAResult
        ``.fit`` (fit measures), ``.loadings``, ``.params`` (lavaan-style parameter table),
        ``.modification_indices``.

    Raises
    ------
    AcapInputError
        Unknown item, factor with a single item, a group with too few complete rows, an
        unidentified model, non-numeric or constant items.

    References
    ----------
    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. Journal of
    Statistical Software, 48(2), 1-36.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> df = pd.DataFrame(f @ [[.8, .7, .6, .7]] + rng.normal(scale=.6, size=(300, 4)),
    ...                   columns=["a", "b", "c", "d"])
    >>> res = cfa(df, {"acap": ["a", "b", "c", "d"]})
    >>> res.fit["df"]
    2.0
    >>> list(res.loadings["item"])
    ['a', 'b', 'c', 'd']
    """
    if ordered:
        from acap.factor.wlsmv import fit_ordinal
        return fit_ordinal(data, model, group=group, group_equal=group_equal,
                           covariances=covariances, ordered=ordered)
    return _fit(data, model, group=group, group_equal=group_equal, covariances=covariances,
                missing=missing, meanstructure=meanstructure)


class CFA:
    """Estimator form of :func:`cfa` (scikit-learn style).

    Parameters
    ----------
    model : Mapping[str, Sequence[str]]
        ``{factor: [items]}``.
    group, group_equal, covariances, missing
        As in :func:`cfa`.

    Attributes
    ----------
    result_ : CFAResult
    fit_ : FitMeasures
    loadings_ : pandas.DataFrame
    params_ : pandas.DataFrame
    modification_indices_ : pandas.DataFrame (computed on first access)

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> f = rng.normal(size=(200, 1))
    >>> df = pd.DataFrame(f @ [[.8, .7, .6]] + rng.normal(scale=.6, size=(200, 3)),
    ...                   columns=["a", "b", "c"])
    >>> est = CFA({"f": ["a", "b", "c"]}).fit(df)
    >>> est.fit_["df"]
    0.0
    """

    def __init__(self, model, *, group=None, group_equal=(), covariances=(),
                 missing="listwise", meanstructure=None, ordered=False):
        self.model = model
        self.group = group
        self.group_equal = group_equal
        self.covariances = covariances
        self.missing = missing
        self.meanstructure = meanstructure
        self.ordered = ordered

    def fit(self, data, y=None):
        """Fit the model to ``data``; returns self."""
        self.result_ = cfa(data, self.model, group=self.group, group_equal=self.group_equal,
                           covariances=self.covariances, missing=self.missing,
                           meanstructure=self.meanstructure, ordered=self.ordered)
        self.fit_ = self.result_.fit
        self.loadings_ = self.result_.loadings
        self.params_ = self.result_.params
        self.converged_ = self.result_.converged
        return self

    @property
    def modification_indices_(self) -> pd.DataFrame:
        return self.result_.modification_indices


def modification_indices(result_or_data, model=None, *, minimum=0.0, **kwargs) -> pd.DataFrame:
    """Modification indices for fixed-to-zero cross-loadings and residual covariances.

    Parameters
    ----------
    result_or_data : CFAResult or pandas.DataFrame
        A fitted result, or data to fit ``model`` to first.
    model : Mapping[str, Sequence[str]], optional
        Needed when data are given.
    minimum : float
        Keep rows with ``mi`` above this value.
    **kwargs
        Passed to :func:`cfa` when fitting.

    Returns
    -------
    pandas.DataFrame
        lhs, op, rhs, mi, epc, sepc_lv, sepc_all, sorted by mi descending
        (as ``lavaan::modindices(fit, sort. = TRUE)``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> f = rng.normal(size=(300, 2))
    >>> load = np.array([[.8, .7, .6, 0, 0, 0], [0, 0, 0, .7, .6, .8]])
    >>> df = pd.DataFrame(f @ load + rng.normal(scale=.6, size=(300, 6)), columns=list("abcdef"))
    >>> mi = modification_indices(df, {"f1": ["a", "b", "c"], "f2": ["d", "e", "f"]})
    >>> list(mi.columns)
    ['lhs', 'op', 'rhs', 'mi', 'epc', 'sepc_lv', 'sepc_all']
    """
    if isinstance(result_or_data, CFAResult):
        res = result_or_data
    else:
        if model is None:
            raise AcapInputError("a model is needed to fit the data", "model")
        res = cfa(result_or_data, model, **kwargs)
    out = res.modification_indices
    if minimum > 0:
        out = out[out["mi"] > minimum].reset_index(drop=True)
    return out


def invariance(data, model, group, *, missing="listwise", ordered=False) -> pd.DataFrame:
    """Configural, metric and scalar measurement invariance across groups (ML, as lavaan).

    Fits the model with free parameters in every group (configural), with equal loadings
    (metric; lavaan ``group.equal = "loadings"``) and with equal loadings and intercepts
    (scalar; ``c("loadings", "intercepts")``, latent means fixed at 0 in the first group and
    free in the others), and compares each with the row before by the chi-square difference
    test (``lavaan::lavTestLRT``) and the changes in CFI and RMSEA.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses plus the group column.
    model : Mapping[str, Sequence[str]]
        ``{factor: [items]}``.
    group : str
        Column with group labels.
    missing : {"listwise", "fiml"}
        Missing-data handling, as in :func:`cfa`.

    Returns
    -------
    pandas.DataFrame
        Indexed ``["configural", "metric", "scalar"]``; columns chisq, df, pvalue, cfi, tli,
        rmsea, rmsea_ci_lower, rmsea_ci_upper, srmr, aic, bic, npar, delta_chisq, delta_df,
        delta_pvalue, delta_cfi, delta_rmsea (differences are against the previous row).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> f = rng.normal(size=(400, 1))
    >>> df = pd.DataFrame(f @ [[.8, .7, .6, .7]] + rng.normal(scale=.6, size=(400, 4)),
    ...                   columns=["a", "b", "c", "d"])
    >>> df["org"] = np.repeat(["icb", "la"], 200)
    >>> tab = invariance(df, {"acap": ["a", "b", "c", "d"]}, "org")
    >>> list(tab.index)
    ['configural', 'metric', 'scalar']
    """
    return invariance_table(invariance_fits(data, model, group, missing=missing,
                                            ordered=ordered))


#: The nested invariance models and the parameters each holds equal across groups.
INVARIANCE_STEPS = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts")}
#: The same for ordered items (WLSMV), as lavaan's group.equal for them: thresholds and
#: loadings together, then intercepts too (which lavaan 0.6, in the delta parameterization,
#: leaves as they are: the last model equals the one before, with a zero difference).
ORDERED_INVARIANCE_STEPS = {"configural": (), "thresholds": ("thresholds", "loadings"),
                            "intercepts": ("thresholds", "loadings", "intercepts")}


def invariance_fits(data, model, group, *, missing="listwise", ordered=False) -> dict:
    """The configural, metric and scalar multi-group fits behind :func:`invariance`.

    Returns a dict name -> :class:`CFAResult`, so that a caller can read each fit's
    convergence and estimates as well as the comparison table (:func:`invariance_table`).
    """
    if group is None:
        raise AcapInputError("invariance needs a group column", "group")
    if ordered:
        from acap.factor.wlsmv import fit_ordinal
        return {name: fit_ordinal(data, model, group=group, group_equal=eq, ordered=ordered)
                for name, eq in ORDERED_INVARIANCE_STEPS.items()}
    # the sufficient statistics (EM moments with missing data) are the same for every step
    stats = _prepare_fit(data, model, group, (), (), missing)[0]
    return {name: _fit(data, model, group=group, group_equal=eq, missing=missing, stats=stats)
            for name, eq in INVARIANCE_STEPS.items()}


def invariance_table(fits) -> pd.DataFrame:
    """Fit of each nested model and the change from the previous one (see :func:`invariance`).

    WLSMV fits (``ordered=True``) get the scaled columns too (chisq_scaled, cfi_scaled,
    tli_scaled, rmsea_scaled), and their ``delta_chisq`` / ``delta_pvalue`` are lavaan's
    ``lavTestLRT`` scaled-and-shifted difference test (Satorra 2000); ``delta_cfi`` and
    ``delta_rmsea`` are then differences of the scaled indices.
    """
    names = list(fits)
    ordinal = any(getattr(res, "estimator", "ML") == "WLSMV" for res in fits.values())
    keys = (("chisq", "df", "pvalue", "chisq_scaled", "pvalue_scaled", "cfi", "tli",
             "cfi_scaled", "tli_scaled", "rmsea", "rmsea_scaled", "srmr", "npar") if ordinal else
            ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
             "rmsea_ci_upper", "srmr", "aic", "bic", "npar"))
    rows = {name: {k: res.fit[k] for k in keys} for name, res in fits.items()}
    tab = pd.DataFrame.from_dict(rows, orient="index")
    if ordinal:
        from acap.factor.wlsmv import scaled_difference

        diffs = [(float("nan"),) * 3] + [scaled_difference(fits[a], fits[b])
                                         for a, b in zip(names, names[1:])]
        tab["delta_chisq"] = [d[0] for d in diffs]
        tab["delta_df"] = tab["df"].diff()
        tab["delta_pvalue"] = [d[2] for d in diffs]
        tab["delta_cfi"] = tab["cfi_scaled"].diff()
        tab["delta_rmsea"] = tab["rmsea_scaled"].diff()
    else:
        d_chisq = tab["chisq"].diff()
        d_df = tab["df"].diff()
        tab["delta_chisq"] = d_chisq
        tab["delta_df"] = d_df
        tab["delta_pvalue"] = [float("nan") if not np.isfinite(c) else
                               float(_dist.chi2_sf(max(c, 0.0), d))
                               for c, d in zip(d_chisq, d_df)]
        tab["delta_cfi"] = tab["cfi"].diff()
        tab["delta_rmsea"] = tab["rmsea"].diff()
    tab.index.name = "model"
    return tab
