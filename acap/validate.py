"""One reproducible validation report of a questionnaire on a table of answers.

The questionnaire is acap's (responses scored and refused exactly as :func:`acap.scoring.score`
does) or any set of numeric items with a measurement model (:mod:`acap.itemtable`: a
researcher's own scale, no bank needed). :func:`validation_report` orchestrates: every
statistic comes from the module that owns it, every cut-off from :mod:`acap.thresholds`, and
the suppression rule from :func:`acap.aggregate.suppress`. It runs every psychometric check a researcher needs to
judge the instrument on those data and returns a :class:`ValidationReport` of tables only:

* item descriptives, distributions, floor and ceiling, missingness and don't-knows;
* reliability per scale (alpha with item analysis and flags, omega for scales of 3+ items,
  omega hierarchical of the whole bank);
* sampling adequacy (KMO, Bartlett), factor retention (parallel analysis, Velicer's MAP) and
  an EFA with the suggested number of factors;
* a CFA of the bank's structure (or a model file) with fit and the largest modification
  indices, and invariance of each scale across groups (role groups, or a column named);
* aggregation statistics per scale (rwg(j), ICC(1), ICC(2)), over the organisations with at
  least ``min_n`` respondents on the scale only, so that nothing about a smaller one follows;
* a plain-language verdict per scale with the thresholds used and their sources.

Each analysis runs in its own section: if it cannot be done on the data (too few
respondents, no convergence), the section says why and the report carries on.
:mod:`acap.report_html` renders the report to HTML and JSON. The thresholds and their sources
are in :data:`THRESHOLDS` and ``docs/methods/validation-report.md``.

Examples
--------
>>> from acap.simulate import simulate
>>> from acap.validate import validation_report
>>> rep = validation_report(simulate(6, seed=1).responses, seed=1)  # doctest: +SKIP
>>> rep.verdicts["verdict"].head(2)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.thresholds import THRESHOLDS, cut, cut_text

__all__ = ["THRESHOLDS", "Section", "ValidationReport", "load_model", "validation_report"]

#: Verdict words, best first.
LEVELS = ("good", "acceptable", "questionable", "poor")

SECTIONS = ("items", "reliability", "adequacy", "retention", "efa", "cfa", "invariance", "aggregation")


@dataclass(frozen=True)
class Section:
    """One section of the report.

    Attributes
    ----------
    status : str
        ``"ok"``, ``"partial"`` (some parts could not be computed) or ``"not computed"``.
    notes : tuple of str
        Plain-language notes: what was done, what was dropped and why, what failed.
    tables : dict of str -> DataFrame
        The section's tables, indexed by item, scale, factor or model.
    values : dict of str -> scalar
        Single numbers and labels (e.g. ``kmo``, ``n_factors``).
    """

    status: str
    notes: tuple = ()
    tables: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationReport:
    """Everything :func:`validation_report` found; tables and dicts only.

    Attributes
    ----------
    meta : dict
        acap version, bank and bank version, data source and its sha256, date (UTC), numbers
        of respondents and organisations, library versions.
    settings : dict
        Every setting the analyses used (seed, iterations, missing-data handling, group column,
        minimum group size, ...), so the report can be re-run exactly.
    model : dict
        The measurement model analysed: {factor: [items]}.
    thresholds : DataFrame
        Indexed by key: statistic, rule, value, source (from :data:`THRESHOLDS`).
    verdicts : DataFrame
        One row per scale (model factor): the key statistics, the verdicts and a
        plain-language summary.
    key_findings : DataFrame
        Whole-instrument findings (KMO, Bartlett, number of factors, CFA fit, omega
        hierarchical): value, rule and reading, as text ready to show.
    items, reliability, adequacy, retention, efa, cfa, invariance, aggregation : Section
        The sections.
    """

    meta: dict
    settings: dict
    model: dict
    thresholds: pd.DataFrame
    verdicts: pd.DataFrame
    key_findings: pd.DataFrame
    items: Section
    reliability: Section
    adequacy: Section
    retention: Section
    efa: Section
    cfa: Section
    invariance: Section
    aggregation: Section

    def sections(self) -> dict[str, Section]:
        """The sections by name, in report order."""
        return {name: getattr(self, name) for name in SECTIONS}


# ---- input --------------------------------------------------------------------------------

def load_model(source, bank=None) -> dict[str, list[str]]:
    """Read and check a measurement model (YAML/JSON ``{factor: [items]}`` or lavaan syntax).

    Parameters
    ----------
    source : path-like, str or mapping
        See :func:`acap.itemtable.load_model`.
    bank : Bank, optional
        When given, every item must be one of its items.

    Returns
    -------
    dict
        {factor: [item IDs]} in file order.

    Raises
    ------
    AcapInputError
        As :func:`acap.itemtable.load_model`; an unknown item names the bank.

    Examples
    --------
    >>> from acap.items import load_bank
    >>> load_model({"f": ["AQ01", "AQ02", "AQ03"]}, load_bank())
    {'f': ['AQ01', 'AQ02', 'AQ03']}
    """
    from acap.itemtable import load_model as _load

    if bank is None:
        return _load(source)
    try:
        return _load(source, bank.items, what="item ID")
    except AcapInputError as exc:
        if "unknown item ID" in str(exc):
            raise AcapInputError(f"{exc.detail}: not in bank {bank.bank} {bank.version}", exc.where) from None
        raise


def _data_hash(data) -> tuple[str, str]:
    """(source label, sha256 hex) of the responses: the file's bytes, or the table as CSV."""
    from acap.readers import Table

    if isinstance(data, (str, os.PathLike)):
        p = Path(data)
        try:
            return p.name, hashlib.sha256(p.read_bytes()).hexdigest()
        except FileNotFoundError:
            raise AcapInputError("no such file", str(p)) from None
    frame = data.data if isinstance(data, Table) else data
    if isinstance(frame, pd.DataFrame):
        text = frame.to_csv(index=False, lineterminator="\n")
        return "table (hash of the table written as CSV)", hashlib.sha256(text.encode("utf-8")).hexdigest()
    return type(data).__name__, ""


def _cfa_diagnostics(res, consequence: str = "the estimates may not be a minimum") -> list[str]:
    """What a CFA result says went wrong, as notes, read from the result (not from warnings).

    Non-convergence (``res.converged``), standard errors that could not be computed (a
    singular information matrix leaves every free SE missing; fixed parameters have SE 0)
    and negative variance estimates (Heywood cases) in ``res.params``.
    """
    out = []
    if not res.converged:
        out.append(f"The optimiser did not report convergence; {consequence}.")
    par = res.params
    if par["se"].isna().any():
        out.append("The information matrix is singular: standard errors are not available "
                   "(the model may not be identified).")
    var = par[(par["op"] == "~~") & (par["lhs"] == par["rhs"])]
    if (var["est"] < 0).any():
        worst = var.loc[var["est"].idxmin()]
        out.append(f"Some estimated variances are negative (e.g. {worst['lhs']}: {worst['est']:.3g}), a "
                   f"Heywood case: the model may be misspecified or N too small.")
    return out


def _group_sizes(g: pd.Series, small_cells: bool, min_n: int) -> dict[str, int | None]:
    """Respondents per group; with ``small_cells`` (organisations) no group below min_n can be read.

    Groups with fewer than ``min_n`` respondents are not named. Their pooled count is shown
    only when they are at least two holding at least ``min_n`` together; otherwise it would
    be the small group's n (or a total under ``min_n``), so the count is left out (value
    None). Because the report also shows the number of respondents, the total minus the
    shown groups would still give it: the smallest other groups are then withheld too,
    until the withheld groups are at least two with at least ``min_n`` people together
    (the complementary rule of :func:`acap.aggregate.suppress`).
    """
    counts = g.value_counts()
    if not small_cells:
        return {str(k): int(v) for k, v in counts.items()}
    small = counts[counts < min_n]
    large = counts[counts >= min_n]
    if not len(small):
        return {str(k): int(v) for k, v in large.items()}
    label = f"{len(small)} group{'s' if len(small) != 1 else ''} of fewer than {min_n}"
    if len(small) >= 2 and small.sum() >= min_n:
        out = {str(k): int(v) for k, v in large.items()}
        out[f"{label}, not named"] = int(small.sum())
        return out
    extra = _withheld_groups(counts, min_n)
    out = {str(k): int(v) for k, v in large.items() if k not in extra}
    label += " left out"
    if extra:
        label += (f", and {len(extra)} other group{'s' if len(extra) != 1 else ''} withheld so that the total less "
                  f"the groups shown does not give {'its' if len(small) == 1 else 'their'} size")
    out[label] = None
    return out


def _withheld_groups(counts: pd.Series, min_n: int) -> list:
    """Groups of ``min_n`` or more whose size must not be shown, so the small groups' cannot be derived.

    ``counts`` is respondents per group; the total is shown elsewhere in the report, so the
    groups are one breakdown of it and :func:`acap.aggregate.suppress` (the one suppression
    rule) says which are withheld: those below ``min_n``, then complementary ones.
    """
    from acap.aggregate import suppress

    t = pd.DataFrame({"breakdown": 0, "n": counts.to_numpy(dtype=float)},
                     index=pd.Index(list(counts.index), name="group"))
    held = suppress(t, min_n, within=["breakdown"], values=["n"])["suppressed"].to_numpy()
    return [lab for lab, h, v in zip(counts.index, held, counts.to_numpy()) if h and v >= min_n]


def _bank_file(bank, path, default=None) -> str:
    """How the bank was given: its file, "default", or a Bank object that is not the default
    (``default``: the default bank, when the caller has loaded it already)."""
    if path is not None:
        return str(path)
    from acap.items import load_bank

    try:
        return "default" if bank == (default or load_bank()) else "Bank object (not the default bank)"
    except AcapInputError:
        return "Bank object"


#: What an analysis may legitimately raise on valid but awkward data: AcapInputError (a
#: ValueError: too few rows, a constant or singular item set), numpy's LinAlgError (also a
#: ValueError), scipy's ValueError on non-finite input, and ArithmeticError (a division by
#: zero or overflow in pure Python). A section catches only these, so a programming error
#: (TypeError, KeyError, AttributeError, IndexError, ...) still surfaces instead of turning
#: into "not computed".
_DATA_ERRORS = (ValueError, ArithmeticError)


def _need_answers(frame: pd.DataFrame) -> None:
    """Refuse items with fewer than two answers before an estimator computes on empty columns."""
    answered = frame.notna().sum().to_numpy()
    few = [str(c) for c, k in zip(frame.columns, answered) if k < 2]
    if few:
        raise AcapInputError(f"{'item' if len(few) == 1 else 'items'} {', '.join(few)} "
                             f"{'has' if len(few) == 1 else 'have'} fewer than two answers")


def _fail_note(what: str, exc: Exception) -> str:
    """One line saying what could not be computed and why."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{what} could not be computed: {msg}"


# ---- statistics helpers ----------------------------------------------------------------------

def _fmt(v, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    s = f"{v:.{digits}f}"
    return s[1:] if s.startswith("0.") else ("-" + s[2:] if s.startswith("-0.") else s)


# ---- sections -----------------------------------------------------------------------------------

def _items_section(d, model) -> Section:
    """Item descriptives, answer distributions and missingness (``d`` is an :class:`~acap.itemtable.ItemTable`)."""
    items = [i for its in model.values() for i in its]
    x, dk = d.items, d.dont_know
    n = len(x)
    owner = {i: f for f, its in model.items() for i in its}
    rows, dist = [], {}
    for iid in d.described:
        col = x[iid]
        answered = int(col.notna().sum())
        n_dk = int(dk[iid].sum())
        if answered == 0 and n_dk == 0 and iid not in owner:
            continue  # an optional block not asked: nothing to describe
        lo, hi = float(d.low[iid]), float(d.high[iid])
        pts = d.points(iid)
        v = col.dropna()
        if pts is not None:
            counts = v.value_counts().reindex(np.arange(lo, hi + 1), fill_value=0)
            dist[iid] = counts.to_numpy().tolist() + ([n_dk] if d.has_dont_know else []) + [n - answered - n_dk]
        rows.append(dict(
            item=iid, scale=owner.get(iid) or d.kinds.get(iid, ""),
            in_model=iid in owner, reverse=iid in d.reverse, low=lo, high=hi, n=answered,
            pct_skipped=(n - answered - n_dk) / n * 100, pct_dont_know=n_dk / n * 100,
            mean=v.mean() if answered else np.nan, sd=v.std() if answered > 1 else np.nan,
            median=v.median() if answered else np.nan,
            skew=v.skew() if answered > 2 else np.nan, kurtosis=v.kurt() if answered > 3 else np.nan,
            pct_floor=(v == lo).mean() * 100 if answered else np.nan,
            pct_ceiling=(v == hi).mean() * 100 if answered else np.nan,
            text=d.texts.get(iid, "")))
    table = pd.DataFrame(rows).set_index("item")
    if not d.has_dont_know:
        table = table.drop(columns="pct_dont_know")
    tables = {"descriptives": table}
    if dist:
        width = max(len(v) for v in dist.values())
        tail = (["dont_know"] if d.has_dont_know else []) + ["skipped"]
        lo_all = min(float(d.low[i]) for i in dist)
        dist_cols = [f"{lo_all + k:g}" for k in range(width - len(tail))] + tail
        tables["distribution"] = pd.DataFrame(
            {k: v[:-len(tail)] + [np.nan] * (width - len(v)) + v[-len(tail):] for k, v in dist.items()},
            index=dist_cols).T.rename_axis("item")
    miss_per_resp = x[items].isna().sum(axis=1)
    complete = int((miss_per_resp == 0).sum())
    resp = pd.DataFrame({"respondents": miss_per_resp.value_counts().sort_index()})
    resp.index.name = "items_missing"
    tables["missing_per_respondent"] = resp
    missing_words = "don't know and skipped are missing" if d.has_dont_know else "blank cells are missing"
    notes = [f"{n} respondents; {complete} ({complete / n:.0%}) answered every one of the {len(items)} "
             f"model items. Reverse-keyed items are scored after reversing; {missing_words}.",
             "Floor and ceiling of each item are the shares giving its lowest and highest possible answer; they "
             "are listed, not judged: the floor/ceiling criterion applies to scale scores (section 2)."]
    return Section("ok", tuple(notes), tables, {"n_respondents": n, "n_complete": complete, "n_items": len(items)})


def _scale_scores(d, model, min_share) -> pd.DataFrame:
    """Mean of answered items per factor when at least ``min_share`` are answered (as scoring)."""
    from acap.scoring import _mean_with_share

    return pd.DataFrame({f: _mean_with_share(d.items[its].to_numpy(dtype=float), min_share)
                         for f, its in model.items()}, index=d.items.index)


def _reliability_section(d, model, scale_scores) -> Section:
    from acap import reliability
    from acap.reliability import omega as omega_fn
    x = d.items
    r_cut = cut("item_rest")
    fc = THRESHOLDS["floor_ceiling"]["value"]
    summary, item_rows, notes = {}, [], []
    for f, its in model.items():
        row = dict(n_items=len(its), alpha=np.nan, alpha_lower=np.nan, alpha_upper=np.nan, std_alpha=np.nan,
                   g6=np.nan, average_r=np.nan, omega_total=np.nan, min_item_rest=np.nan,
                   n_items_low_r=np.nan, pct_floor=np.nan, pct_ceiling=np.nan)
        sc = scale_scores[f].dropna()
        # the lowest (highest) possible scale score: every item at its lowest (highest) answer
        lo, hi = float(d.low[its].mean()), float(d.high[its].mean())
        if len(sc):
            row["pct_floor"] = float((np.isclose(sc, lo)).mean() * 100)
            row["pct_ceiling"] = float((np.isclose(sc, hi)).mean() * 100)
        try:
            _need_answers(x[its])
            a = reliability.alpha(x[its], reverse=())
            row.update(alpha=a.alpha, alpha_lower=a.ci[0], alpha_upper=a.ci[1], std_alpha=a.std_alpha,
                       g6=a.g6, average_r=a.average_r)
            it = a.items
            for iid in its:
                r_drop = float(it.loc[iid, "r_drop"])
                aid = float(it.loc[iid, "alpha_if_deleted"])
                flags = []
                if r_drop < r_cut:
                    flags.append(f"item-rest r below {_fmt(r_cut)}")
                if aid > a.alpha + 0.01:
                    flags.append("alpha rises if dropped")
                item_rows.append(dict(scale=f, item=iid, n=int(it.loc[iid, "n"]), r_cor=float(it.loc[iid, "r_cor"]),
                                      r_drop=r_drop, alpha_if_deleted=aid, flag="; ".join(flags)))
            rd = it.loc[its, "r_drop"].astype(float)
            row["min_item_rest"] = float(rd.min())
            row["n_items_low_r"] = int((rd < r_cut).sum())
        except _DATA_ERRORS as exc:  # a scale that cannot be analysed is reported, not fatal
            notes.append(_fail_note(f"Alpha of {f}", exc))
        if len(its) >= 3:
            try:
                _need_answers(x[its])
                row["omega_total"] = float(omega_fn(x[its], n_factors=1).omega_total)
            except _DATA_ERRORS as exc:
                notes.append(_fail_note(f"Omega of {f}", exc))
        summary[f] = row
    table = pd.DataFrame.from_dict(summary, orient="index").rename_axis("scale")
    items_table = (pd.DataFrame(item_rows).set_index(["scale", "item"]) if item_rows
                   else pd.DataFrame(columns=["n", "r_cor", "r_drop", "alpha_if_deleted", "flag"]))
    values = {}
    general = pd.DataFrame()
    n_f = len(model)
    all_items = [i for its in model.values() for i in its]
    if n_f >= 2:
        try:
            _need_answers(x[all_items])
            om = omega_fn(x[all_items], n_factors=n_f)
            values.update(omega_total_bank=float(om.omega_total), omega_h_bank=float(om.omega_hierarchical))
            general = pd.DataFrame({"omega_total": [om.omega_total], "omega_hierarchical": [om.omega_hierarchical],
                                    "n_group_factors": [n_f]}, index=pd.Index(["whole bank"], name="model"))
            if hasattr(om, "ecv"):
                general["ecv"] = float(om.ecv)
            notes.append(f"Omega hierarchical of the whole bank uses a Schmid-Leiman solution with {n_f} group "
                         f"factors (one per scale), as psych::omega(x, nfactors = {n_f}).")
        except _DATA_ERRORS as exc:
            notes.append(_fail_note("Omega hierarchical of the whole bank", exc))
    notes.insert(0, "Alpha uses pairwise-complete item covariances as psych::alpha; omega total is "
                    "psych::omega with one factor per scale; scale floor/ceiling is the share of respondents "
                    f"whose scale score is the lowest/highest possible (flagged above {fc:.0%}).")
    status = "ok" if table["alpha"].notna().all() else ("partial" if table["alpha"].notna().any() else "not computed")
    return Section(status, tuple(notes), {"scales": table, "items": items_table, "general": general}, values)


def _adequacy_section(xm) -> Section:
    from acap.factor import bartlett, kmo

    notes, tables, values = [], {}, {}
    try:
        _need_answers(xm)
        k = kmo(xm)
        values.update(kmo=float(k.overall), kmo_label=getattr(k, "label", ""))
        per = k.per_item.rename("msa").to_frame()
        per["flag"] = np.where(per["msa"] < THRESHOLDS["kmo"]["value"], f"below {cut_text('kmo')}", "")
        tables["kmo_items"] = per
    except _DATA_ERRORS as exc:
        notes.append(_fail_note("KMO", exc))
    try:
        _need_answers(xm)
        b = bartlett(xm)
        values.update(bartlett_chi2=float(b.chi2), bartlett_df=int(b.df), bartlett_p=float(b.p_value),
                      bartlett_n=int(getattr(b, "n_obs", len(xm))))
    except _DATA_ERRORS as exc:
        notes.append(_fail_note("Bartlett's test", exc))
    notes.insert(0, "Pairwise-complete correlations, as psych::KMO and psych::cortest.bartlett.")
    status = "ok" if len(values) >= 6 else ("partial" if values else "not computed")
    return Section(status, tuple(notes), tables, values)


def _retention_section(xm, seed, n_iter, n_scales) -> Section:
    from acap.factor import parallel_analysis, velicer_map

    notes, tables, values = [], {}, {}
    try:
        _need_answers(xm)
        # the solver fixed by n_iter alone (as "auto" in a fresh process), so that the same data
        # give the same report in a process that has loaded the compiled solver for other work
        pa = parallel_analysis(xm, n_iter=n_iter, seed=seed, solver="newton" if n_iter >= 200 else "batched")
        values.update(pa_n_factors=pa.n_factors, pa_n_components=pa.n_components)
        tables["eigenvalues"] = pa.eigenvalues
    except _DATA_ERRORS as exc:
        notes.append(_fail_note("Parallel analysis", exc))
    try:
        _need_answers(xm)
        m = velicer_map(xm, n_factors=min(max(8, n_scales + 2), xm.shape[1] - 1))
        values.update(map_n_factors=int(m.n_factors), map4_n_factors=int(m.n_factors_map4))
        tables["map"] = m.values
    except _DATA_ERRORS as exc:
        notes.append(_fail_note("Velicer's MAP", exc))
    notes.insert(0, f"Parallel analysis: {n_iter} simulated normal data sets (seed {seed}; Horn 1965), 95th "
                    f"percentile, as psych::fa.parallel suggests from its simulated data; MAP as psych::vss. "
                    f"The model has {n_scales} factors.")
    status = "ok" if len(values) == 4 else ("partial" if values else "not computed")
    return Section(status, tuple(notes), tables, values)


def _efa_section(xm, retention: Section, n_scales, seed, model, n_factors=None) -> Section:
    from acap.factor import efa

    pa_k = retention.values.get("pa_n_factors")
    map_k = retention.values.get("map_n_factors")
    if n_factors:
        k, basis = int(n_factors), "the number asked for"
    elif pa_k:
        k, basis = int(pa_k), "parallel analysis"
    elif map_k:
        k, basis = int(map_k), "Velicer's MAP"
    else:
        k, basis = n_scales, "the number of scales (no retention result)"
    k = max(1, min(k, xm.shape[1] - 1))
    try:
        _need_answers(xm)
        res = efa(xm, k, method="minres", rotation="oblimin", seed=seed, n_starts=1)
    except _DATA_ERRORS as exc:
        return Section("not computed", (_fail_note(f"EFA with {k} factors", exc),), {}, {"n_factors": k})
    loadings = res.loadings.copy()
    owner = {i: f for f, its in model.items() for i in its}
    load = loadings.copy()
    load.insert(0, "scale", [owner.get(i, "") for i in load.index])
    load["communality"] = res.communalities
    load["primary"] = res.loadings.abs().idxmax(axis=1)
    notes = [f"{k} factors (suggested by {basis}), minres extraction, oblimin rotation, pairwise "
             f"correlations, as psych::fa(x, nfactors = {k}, fm = 'minres', rotate = 'oblimin')."]
    if not res.converged:
        notes.append("The EFA did not fully converge; read its loadings with care.")
    if res.heywood:
        notes.append(f"Heywood case(s) (communality >= 1): {', '.join(res.heywood)}.")
    # how cleanly the scales are recovered: does each scale have one primary factor?
    rec = []
    for f, its in model.items():
        prim = load.loc[its, "primary"]
        top = prim.mode().iloc[0]
        rec.append(dict(scale=f, primary_factor=top, share_on_primary=float((prim == top).mean()),
                        mean_abs_loading=float(res.loadings.loc[its, top].abs().mean())))
    values = dict(n_factors=k, basis=basis, rmsr=float(res.rmsr), tli=float(res.tli), rmsea=float(res.rmsea),
                  bic=float(res.bic), converged=bool(res.converged))
    structure = res.structure.copy()
    structure.insert(0, "scale", load["scale"])
    fit = pd.DataFrame([dict(n_factors=k, rmsr=float(res.rmsr), tli=float(res.tli), rmsea=float(res.rmsea),
                             bic=float(res.bic), chisq=float(res.chi_square), df=float(res.dof),
                             pvalue=float(res.p_value))], index=pd.Index(["EFA"], name="model"))
    return Section("ok", tuple(notes), {"loadings": load, "structure": structure, "phi": res.phi,
                                        "variance": res.variance, "fit": fit,
                                        "scale_recovery": pd.DataFrame(rec).set_index("scale")}, values)


def _cfa_section(x: pd.DataFrame, model, settings, n_mi: int = 10) -> Section:
    from acap.factor import cfa

    items = [i for its in model.values() for i in its]
    data = x[items]
    has_any = data.notna().any(axis=1)
    data = data[has_any]
    n = len(data)
    n_complete = int(data.notna().all(axis=1).sum())
    if n < len(items) + 1:
        return Section("not computed", (f"The CFA needs more respondents than items: {n} respondents answered "
                                        f"something, {len(items)} items.",), {},
                       {"missing": settings["cfa_missing"], "n": n, "n_complete": n_complete})
    answered = data.notna().sum()
    if (answered < 2).any():
        # nothing to estimate a variance from: say so now rather than let EM or the fit fail slowly
        few = answered[answered < 2]
        return Section("not computed", (f"The CFA needs at least two answers to every item; "
                                        f"{', '.join(few.index)} {'has' if len(few) == 1 else 'have'} "
                                        f"{'none' if few.max() == 0 else 'fewer'}.",), {},
                       {"missing": settings["cfa_missing"], "n": n, "n_complete": n_complete})
    mode = settings["cfa_missing"]
    if mode == "auto":
        mode = "listwise" if n_complete >= 0.9 * n and n_complete > len(items) + 1 else "two.stage"
    notes = []
    try:
        if mode == "listwise":
            fitdata = data.dropna()
            notes.append(f"ML CFA (lavaan's cfa() defaults: marker loadings, no mean structure) on the {n_complete} "
                         f"complete cases of {n} respondents (listwise deletion).")
        elif mode == "fiml":
            fitdata = data
            notes.append(f"Full-information ML CFA (lavaan missing = 'ml') on all {n} respondents with at least "
                         f"one answer.")
        else:
            fitdata = data
            lost = 1 - n_complete / n
            why = (f"Only {n_complete} of {n} respondents answered every item, so listwise deletion would discard "
                   f"{'most' if lost > 0.5 else 'some'} of the data ({lost:.0%}). "
                   if settings["cfa_missing"] == "auto" else "")
            notes.append(
                f"{why}Two-stage ML (lavaan missing = 'two.stage'): the item means and covariances were estimated "
                f"by EM from all {n} respondents, the CFA was fitted to them, and the standard errors and the "
                f"scaled chi-square account for the missing data (Savalei & Bentler 2009).")
        if settings.get("ordinal"):
            notes.append("Items treated as ordered categories: WLSMV (polychoric correlations and thresholds, "
                         "diagonally weighted least squares, scaled chi-square), as lavaan's ordered = TRUE.")
        method = {"listwise": "listwise", "fiml": "fiml"}.get(mode, "two.stage")
        kw = {"ordered": True} if settings.get("ordinal") else {}
        # lavaan syntax goes to the CFA as written (residual covariances, fixed values included)
        res = cfa(fitdata, settings.get("model_syntax") or model, missing=method, **kw)
    except _DATA_ERRORS as exc:
        return Section("not computed", tuple(notes + [_fail_note("The CFA", exc)]), {},
                       {"missing": mode, "n": n, "n_complete": n_complete})
    fit = {k: float(res.fit[k]) for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
                                          "rmsea_ci_upper", "srmr")}
    notes.extend(_cfa_diagnostics(res, "the fit below may not be a minimum"))
    crit = []
    for key, better in (("cfi", "ge"), ("tli", "ge"), ("rmsea", "le"), ("srmr", "le")):
        t = THRESHOLDS[key]["value"]
        val = fit[key]
        met = val >= t if better == "ge" else val <= t
        crit.append(dict(measure=key.upper(), value=val, threshold=THRESHOLDS[key]["rule"], met=bool(met),
                         source=THRESHOLDS[key]["source"]))
    crit = pd.DataFrame(crit).set_index("measure")
    n_met = int(crit["met"].sum())
    verdict = {4: "good", 3: "acceptable", 2: "questionable"}.get(n_met, "poor")
    loads = res.loadings.reset_index(drop=True)[["factor", "item", "est", "se", "std"]].set_index(["factor", "item"])
    loads["se"] = loads["se"].where(loads["se"] > 0)  # marker loadings are fixed at 1: no SE
    try:
        mi = res.modification_indices
        mi = mi.sort_values("mi", ascending=False).head(n_mi).reset_index(drop=True)
        mi.index = mi.index + 1
        mi.index.name = "rank"
    except _DATA_ERRORS as exc:
        notes.append(_fail_note("Modification indices", exc))
        mi = pd.DataFrame()
    fit_table = pd.DataFrame([fit], index=pd.Index(["model"], name="model"))
    # which SRMR: lavaan's srmr counts mean residuals when the model has a mean structure
    means = bool(getattr(res, "meanstructure", True))
    srmr_label = "SRMR (with mean residuals)" if means else "SRMR (covariance residuals)"
    notes.append("The SRMR shown is lavaan's srmr for this fit: "
                 + ("the model has a mean structure, so the (zero-df) mean residuals are counted with the "
                    "correlation residuals." if means else "no mean structure; correlation residuals only, as "
                                                           "lavaan's default cfa()."))
    values = dict(missing=mode, n=n, n_complete=n_complete, verdict=verdict, criteria_met=n_met,
                  converged=bool(res.converged), srmr_label=srmr_label, meanstructure=means, **fit)
    return Section("ok", tuple(notes), {"fit": fit_table, "criteria": crit, "loadings": loads,
                                        "modification_indices": mi}, values)


def _invariance_fits(d: pd.DataFrame, model, group: str) -> tuple[pd.DataFrame, list[str]]:
    """Configural, metric and scalar fits, as :func:`acap.factor.invariance`, plus diagnostics.

    The three fits are kept (:func:`acap.factor.cfa.invariance_fits`) so that convergence,
    standard errors and negative variances are read from each result rather than caught as
    warnings (changing warning filters is process-wide and not thread-safe).
    """
    from acap.factor.cfa import invariance_fits, invariance_table

    items = [i for its in model.values() for i in its]
    fits = invariance_fits(d, model, group, missing="two.stage" if d[items].isna().any().any() else "listwise")
    problems = [f"{name}: {p[0].lower()}{p[1:].rstrip('.')}"
                for name, res in fits.items() for p in _cfa_diagnostics(res)]
    tab = invariance_table(fits)
    for key in ("tli", "srmr"):  # changes beside the ones invariance_table gives, for a supplement's table
        tab[f"delta_{key}"] = tab[key].diff()
    return tab, problems


def _invariance_section(x: pd.DataFrame, background: pd.DataFrame, model, group, min_group_n,
                        min_n: int = 5, by_org: bool | None = None) -> Section:
    if group not in background.columns:
        return Section("not computed", (f"There is no column {group!r} to group respondents by.",))
    g = background[group]
    by_org = group == "organisation" if by_org is None else by_org
    if by_org:
        # organisations as groups: the small-cell rule applies to their names and sizes too
        min_group_n = max(min_group_n, min_n)
    total_n = g.value_counts()
    notes = [f"Configural, metric and scalar models per scale across {group.replace('_', ' ')}s, by ML "
             f"(two-stage ML when answers are missing, lavaan missing = 'two.stage'; lavaan group.equal); groups "
             f"with fewer than {min_group_n} respondents answering a scale are left out. A level holds when CFI drops by no more than .01 from the level "
             f"below ({THRESHOLDS['delta_cfi']['source']})."]
    rows, fits = [], {}
    dropped_any = {}
    for f, its in model.items():
        if len(its) < 3:
            rows.append(dict(scale=f, groups="", n=0, level="not tested",
                             note="fewer than 3 items"))
            continue
        d = pd.concat([x[its], g.rename("_group")], axis=1)
        d = d[d["_group"].notna() & d[its].notna().any(axis=1)]
        counts = d["_group"].value_counts()
        keep = counts[counts >= min_group_n].index
        dropped = counts[counts < min_group_n]
        for lab, c in dropped.items():
            dropped_any.setdefault(str(lab), []).append(int(c))
        d = d[d["_group"].isin(keep)]
        d["_group"] = d["_group"].astype(str)
        if len(keep) < 2:
            rows.append(dict(scale=f, groups=", ".join(map(str, keep)), n=len(d), level="not tested",
                             note=f"fewer than two groups with {min_group_n}+ respondents"))
            continue
        try:
            tab, problems = _invariance_fits(d, {f: its}, "_group")
            warned = "; ".join(problems)
        except _DATA_ERRORS as exc:
            rows.append(dict(scale=f, groups=", ".join(sorted(map(str, keep))), n=len(d), level="not tested",
                             note=_fail_note("invariance", exc).replace("invariance could not be computed: ", "")))
            continue
        fits[f] = tab
        thr = THRESHOLDS["delta_cfi"]["value"]
        metric_ok = bool(tab.loc["metric", "delta_cfi"] >= thr)
        scalar_ok = metric_ok and bool(tab.loc["scalar", "delta_cfi"] >= thr)
        level = "scalar" if scalar_ok else ("metric" if metric_ok else "configural only")
        rows.append(dict(scale=f, groups=", ".join(sorted(map(str, keep))), n=len(d),
                         cfi_configural=float(tab.loc["configural", "cfi"]),
                         delta_cfi_metric=float(tab.loc["metric", "delta_cfi"]),
                         delta_cfi_scalar=float(tab.loc["scalar", "delta_cfi"]),
                         p_metric=float(tab.loc["metric", "delta_pvalue"]),
                         p_scalar=float(tab.loc["scalar", "delta_pvalue"]), level=level, note=warned))
    if dropped_any:
        hidden = {lab for lab in dropped_any if by_org and total_n.get(lab, 0) < min_n}
        # an organisation whose size the group sizes withhold (see _group_sizes) is named
        # without its counts: with the total they would give a small organisation's n
        withheld = {str(lab) for lab in _withheld_groups(total_n, min_n)} if by_org else set()
        parts = [lab if lab in withheld else
                 f"{lab} (n = {min(c)}-{max(c)})" if min(c) != max(c) else f"{lab} (n = {c[0]})"
                 for lab, c in sorted(dropped_any.items()) if lab not in hidden]
        if hidden:
            parts.append(f"{len(hidden)} organisation{'s' if len(hidden) != 1 else ''} with fewer than {min_n} "
                         f"respondents (not named)")
        notes.append("Left out for too few respondents: " + "; ".join(parts) + ".")
    summary = pd.DataFrame(rows).set_index("scale")
    tables = {"summary": summary}
    if fits:
        tables["fits"] = pd.concat(fits, names=["scale", "model"])
    tested = (summary["level"] != "not tested").sum()
    status = "ok" if tested == len(summary) else ("partial" if tested else "not computed")
    return Section(status, tuple(notes), tables, {"group": group, "min_group_n": min_group_n})


def _aggregation_section(d, model, scale_scores, min_n: int = 5) -> Section:
    """rwg(j) per organisation and the across-organisation figures, over shown organisations only.

    An organisation enters a scale's figures only when at least ``min_n`` of its respondents
    have a score on that scale: the mask of the per-organisation table here and of
    :func:`acap.aggregate.organisation_results`. Every summary (median, minimum and share of
    rwg(j); ICC(1), ICC(2), F, p, k; number of organisations) is taken over those
    organisations, so nothing about a left-out organisation follows from the report by
    subtraction (the minimum would be its rwg(j), the share would say on which side of .70
    it fell, and k x G minus the shown organisations' n would be its n). The ICCs then equal
    ``OrganisationResults.public_reliability()``, which ``aggregation/icc.csv`` holds.
    """
    from acap.aggregate import icc, rwg_j, uniform_null_variance

    orgs = d.background[d.organisation]
    org_n = orgs.value_counts()
    rows, per_org, notes = [], {}, []
    rwg_cut = THRESHOLDS["rwg_j"]["value"]
    org_values = orgs.to_numpy()
    for f, its in model.items():
        pts = d.points(its[0])
        # respondents with a score on the scale, per organisation (0 for one with none)
        scored_n = scale_scores[f].notna().groupby(org_values).sum().reindex(org_n.index, fill_value=0)
        shown = scored_n.index[scored_n >= min_n]
        row = dict(n_organisations=len(shown), n_organisations_left_out=int(len(scored_n) - len(shown)),
                   rwg_j_median=np.nan, rwg_j_min=np.nan, pct_orgs_rwg_ok=np.nan, icc1=np.nan, icc2=np.nan,
                   icc_F=np.nan, icc_p=np.nan, k=np.nan)
        try:
            if pts is None or any(d.points(i) != pts for i in its):
                raise AcapInputError("rwg(j) needs items with the same whole-number response options")
            r = rwg_j(d.items[its].reset_index(drop=True), orgs.reset_index(drop=True),
                      uniform_null_variance(pts))
            r = r[r.index.isin(shown)]
            per_org[f] = r
            # an organisation whose rwg(j) is undefined (fewer than two complete answers)
            # has nothing to summarise; the share is of those with a value
            known = r.dropna()
            if len(known):
                row.update(rwg_j_median=float(known.median()), rwg_j_min=float(known.min()),
                           pct_orgs_rwg_ok=float((known >= rwg_cut).mean() * 100))
        except _DATA_ERRORS as exc:
            notes.append(_fail_note(f"rwg(j) of {f}", exc))
        try:
            keep = orgs.isin(shown).to_numpy()
            ic = icc(scale_scores[f][keep].reset_index(drop=True), orgs[keep].reset_index(drop=True))
            row.update(icc1=float(ic.icc1), icc2=float(ic.icc2), icc_F=float(ic.F), icc_p=float(ic.p), k=float(ic.k))
        except _DATA_ERRORS as exc:
            notes.append(_fail_note(f"ICC of {f}", exc))
        rows.append(dict(scale=f, **row))
    table = pd.DataFrame(rows).set_index("scale")
    rwg_table = pd.DataFrame(per_org).rename_axis(index="organisation", columns="scale")
    # an organisation below min_n is left out altogether: not even its name with blank cells
    small = org_n[org_n < min_n]
    rwg_table = rwg_table[~rwg_table.index.isin(small.index)]
    if len(rwg_table.columns):
        rwg_table = rwg_table.dropna(how="all")
    notes.insert(0, "rwg(j) per organisation against the uniform null for the response scale, listwise within "
                    "each scale (multilevel::rwg.j); ICC(1) and ICC(2) of the scale scores from a one-way "
                    "ANOVA on organisations (multilevel::ICC1, ICC2). The median, minimum and share of "
                    "organisations at .70 or above, the ICCs and k (mean organisation size) are taken over the "
                    "organisations listed, and name none.")
    left = table["n_organisations_left_out"]
    if left.max() == 0:
        rule = f"every organisation has at least {min_n} respondents with a score on every scale."
    else:
        count = (f"{int(left.max())} organisation{'s' if left.max() != 1 else ''}" if left.min() == left.max()
                 else f"{int(left.min())} to {int(left.max())} organisations, depending on the scale "
                      f"(column n_organisations_left_out),")
        rule = (f"{count} with fewer than {min_n} respondents with a score on the scale "
                f"{'are' if left.max() != 1 or left.min() != left.max() else 'is'} left out of that scale's "
                f"figures (listed rwg(j), median, minimum, share, ICC(1), ICC(2), F, p and k), so that no figure "
                f"of such an organisation can be read or worked out from the report.")
    listed = (f" {len(small)} organisation{'s' if len(small) != 1 else ''} with fewer than {min_n} respondents "
              f"{'are' if len(small) != 1 else 'is'} not listed at all." if len(small) else "")
    notes.insert(1, f"Small-cell rule: an organisation enters a scale's figures only where at least {min_n} of its "
                    f"respondents have a score on the scale; " + rule + listed)
    status = "ok" if table["icc1"].notna().all() else ("partial" if table["icc1"].notna().any() else "not computed")
    return Section(status, tuple(notes), {"scales": table, "rwg_j": rwg_table}, {"min_n": min_n})


# ---- verdicts -----------------------------------------------------------------------------------

def _band(value: float) -> str:
    if not np.isfinite(value):
        return "not computed"
    if value >= cut("reliability_good"):
        return "good"
    if value >= cut("alpha"):
        return "acceptable"
    if value >= cut("reliability_questionable"):
        return "questionable"
    return "poor"


def _group_words(group) -> str:
    """How the report names the invariance groups: "role groups", "organisations", "groups of school"."""
    return {"role_group": "role groups", "role": "roles", "organisation": "organisations"}.get(
        group, f"groups of {group}")


def _worst(levels) -> str:
    known = [lv for lv in levels if lv in LEVELS]
    return max(known, key=LEVELS.index) if known else "not computed"


def _verdicts(model, labels, rel: Section, agg: Section, inv: Section, cfa: Section) -> pd.DataFrame:
    rs = rel.tables.get("scales", pd.DataFrame())
    ag = agg.tables.get("scales", pd.DataFrame())
    iv = inv.tables.get("summary", pd.DataFrame())
    cl = cfa.tables.get("loadings")
    fc = THRESHOLDS["floor_ceiling"]["value"] * 100
    r_cut = cut("item_rest")
    rows = []
    for f in model:
        r = rs.loc[f] if f in rs.index else pd.Series(dtype=float)
        a = ag.loc[f] if f in ag.index else pd.Series(dtype=float)
        alpha, omega_t = float(r.get("alpha", np.nan)), float(r.get("omega_total", np.nan))
        coef = np.nanmin([alpha, omega_t]) if np.isfinite([alpha, omega_t]).any() else np.nan
        rel_level = _band(coef)
        min_r = float(r.get("min_item_rest", np.nan))
        item_level = "not computed" if not np.isfinite(min_r) else ("good" if min_r >= r_cut else "questionable")
        floor, ceil = float(r.get("pct_floor", np.nan)), float(r.get("pct_ceiling", np.nan))
        fc_effect = [w for w, v in (("floor", floor), ("ceiling", ceil)) if np.isfinite(v) and v > fc]
        if not (np.isfinite(floor) or np.isfinite(ceil)):
            fc_level = "not computed"  # no scale scores at all: no floor or ceiling to judge
        else:
            fc_level = "questionable" if fc_effect else "good"
        # without a reliability coefficient there is no verdict: the other parts alone cannot
        # make a scale "good"
        verdict = "not computed" if rel_level == "not computed" else _worst([rel_level, item_level, fc_level])
        rwg_med = float(a.get("rwg_j_median", np.nan))
        i1, i2 = float(a.get("icc1", np.nan)), float(a.get("icc2", np.nan))
        checks = [rwg_med >= THRESHOLDS["rwg_j"]["value"], i1 >= THRESHOLDS["icc1"]["value"],
                  i2 >= THRESHOLDS["icc2"]["value"]]
        if not np.isfinite([rwg_med, i1, i2]).all():
            agg_level = "not computed"
        else:
            agg_level = {3: "supported", 2: "partly supported", 1: "weak", 0: "not supported"}[sum(checks)]
        level = iv.loc[f, "level"] if f in iv.index else "not tested"
        min_std = np.nan
        if cl is not None and len(cl):
            try:
                min_std = float(cl.xs(f, level="factor")["std"].min())
            except KeyError:
                pass
        # the plain-language summary
        s = []
        coef_txt = f"alpha {_fmt(alpha)}" + (f", omega {_fmt(omega_t)}" if np.isfinite(omega_t) else "")
        s.append({"good": f"Reliable ({coef_txt}).", "acceptable": f"Acceptably reliable ({coef_txt}).",
                  "questionable": f"Reliability is questionable ({coef_txt}; .70 is the usual minimum).",
                  "poor": f"Not reliable ({coef_txt}); its items do not measure one thing consistently.",
                  "not computed": "Reliability could not be computed."}[rel_level])
        if item_level == "questionable":
            low = int(r.get("n_items_low_r", 0))
            s.append(f"{low} item{'s' if low != 1 else ''} correlate{'s' if low == 1 else ''} weakly with the "
                     f"rest of the scale (item-rest r below {_fmt(r_cut)}; lowest {_fmt(min_r)}).")
        elif item_level == "good":
            s.append(f"Every item relates to the rest of the scale (item-rest r ≥ {_fmt(r_cut)}).")
        if fc_level == "not computed":
            s.append("No respondent has a score on it, so floor and ceiling cannot be judged.")
        if fc_effect:
            s.append(f"{' and '.join(fc_effect).capitalize()} effect: more than {fc:.0f}% of respondents at the "
                     f"{'lowest' if fc_effect[0] == 'floor' else 'highest'} possible score.")
        if agg_level != "not computed":
            # the figures are over the organisations shown (min_n or more respondents on the scale)
            n_org = a.get("n_organisations", np.nan)
            over = (f"; over the {int(n_org)} organisations with at least {agg.values['min_n']} respondents"
                    if pd.notna(n_org) and "min_n" in agg.values else "")
            s.append({"supported": "Respondents in an organisation agree and organisation means are reliable: "
                                   "fit for organisation-level reporting",
                      "partly supported": "Organisation-level use is partly supported",
                      "weak": "Organisation-level use is weakly supported",
                      "not supported": "Organisation-level use is not supported"}[agg_level]
                     + f" (median rwg(j) {_fmt(rwg_med)}, ICC(1) {_fmt(i1, 3)}, ICC(2) {_fmt(i2)}{over}).")
        if level in ("scalar", "metric", "configural only"):
            gw = _group_words(inv.values.get("group"))
            s.append({"scalar": f"{gw.capitalize()} can be compared on it (scalar invariance holds).",
                      "metric": f"Loadings are equal across {gw} but intercepts are not: compare "
                                f"relationships, not means, across {gw}.",
                      "configural only": f"Loadings differ across {gw}: compare {gw} with care."}[level])
        rows.append(dict(scale=f, label=labels.get(f, f), n_items=len(model[f]), alpha=alpha, omega_total=omega_t,
                         min_item_rest=min_r, pct_floor=floor, pct_ceiling=ceil, min_cfa_std_loading=min_std,
                         rwg_j_median=rwg_med, icc1=i1, icc2=i2, invariance=level, reliability=rel_level,
                         items_verdict=item_level,
                         floor_ceiling=", ".join(fc_effect) or ("none" if fc_level != "not computed" else fc_level),
                         organisation_level=agg_level, verdict=verdict, summary=" ".join(s)))
    return pd.DataFrame(rows).set_index("scale")


def _p_text(p: float) -> str:
    return "p < .001" if p < .001 else f"p = {_fmt(p, 3)}"


def _key_findings(adq: Section, ret: Section, cf: Section, rel: Section, n_scales: int) -> pd.DataFrame:
    """Whole-instrument findings, each with the rule it was judged by (rendered as they are)."""
    a, r, c, rv = adq.values, ret.values, cf.values, rel.values
    rows = []
    if "kmo" in a:
        t = THRESHOLDS["kmo"]
        rows.append(("Sampling adequacy (KMO)", f"{_fmt(a['kmo'])} ({a.get('kmo_label', '')})", t["rule"],
                     "adequate" if a["kmo"] >= t["value"] else "inadequate"))
    if "bartlett_p" in a:
        t = THRESHOLDS["bartlett"]
        rows.append(("Bartlett's test", f"χ²({a['bartlett_df']}) = {a['bartlett_chi2']:,.1f}, {_p_text(a['bartlett_p'])}",
                     t["rule"], "correlations present" if a["bartlett_p"] < t["value"] else "no correlation structure"))
    if "pa_n_factors" in r:
        rows.append(("Number of factors", f"parallel analysis {r['pa_n_factors']} factors / "
                     f"{r['pa_n_components']} components; MAP {r.get('map_n_factors', '–')}",
                     "Horn 1965; Velicer 1976", f"model has {n_scales} factor{'s' if n_scales != 1 else ''}"))
    if "cfi" in c:
        rule = "; ".join(f"{THRESHOLDS[k]['statistic']} {THRESHOLDS[k]['rule']}" for k in ("cfi", "tli", "rmsea", "srmr"))
        rows.append(("CFA of the model", f"CFI {_fmt(c['cfi'], 3)}, TLI {_fmt(c['tli'], 3)}, RMSEA {_fmt(c['rmsea'], 3)} "
                     f"[{_fmt(c['rmsea_ci_lower'], 3)}, {_fmt(c['rmsea_ci_upper'], 3)}], {c.get('srmr_label', 'SRMR')} "
                     f"{_fmt(c['srmr'], 3)}", rule, f"{c['verdict']} ({c['criteria_met']} of 4 met)"))
    elif cf.status != "ok":
        rows.append(("CFA of the model", "not computed", "", "see section 6"))
    if "omega_h_bank" in rv:
        oh, t = rv["omega_h_bank"], THRESHOLDS["omega_h"]
        rows.append(("General factor (omega hierarchical)", _fmt(oh), t["rule"],
                     "a total score is essentially unidimensional" if oh >= t["value"]
                     else "factors are distinct: report factor scores, not only a total"))
    return pd.DataFrame(rows, columns=["finding", "value", "rule", "reading"]).set_index("finding")


# ---- the report -----------------------------------------------------------------------------------

_DEFAULT = object()  # "not given": the default depends on whether the data are acap responses


def _captured(fn, *args):
    """``fn(*args)`` with numpy's floating-point warnings off (as the sections run) and the
    Python warnings it issues, as (message, category, filename, lineno), for the parent."""
    import warnings

    from acap._blas import blas_threads

    # one BLAS thread: the process that forked this one keeps the other core busy
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"), blas_threads(1):
        warnings.simplefilter("always")
        value = fn(*args)
    return value, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def _run_forked(conn, fn, args) -> None:
    """The forked worker of :class:`_Background`: send ``fn(*args)`` and its warnings back."""
    import gc

    # what the child inherited outlives it: the collector need not walk (and so copy) it
    gc.freeze()
    try:
        conn.send(_captured(fn, *args))
    except BaseException:  # noqa: BLE001 - whatever failed, the parent computes it again itself
        pass
    finally:
        conn.close()


class _Background:
    """``fn(*args)`` computed in a forked process while this one carries on.

    For sections that depend on no other (reliability, invariance): on a machine with two
    cores they overlap the factor-analysis and CFA sections. Only where processes fork
    (Linux): the child shares the loaded modules and the data, nothing is pickled but the
    result, while a worker started any other way would import everything again. If the child
    cannot start, fails or dies, :meth:`result` computes ``fn(*args)`` here instead, so the
    outcome (value, exception or warnings) is the serial one.
    """

    def __init__(self, fn, *args):
        self._fn, self._args = fn, args
        self._proc = self._conn = None
        if not sys.platform.startswith("linux"):
            return
        import multiprocessing

        try:
            ctx = multiprocessing.get_context("fork")
            self._conn, send = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_run_forked, args=(send, fn, args), daemon=True)
            self._proc.start()
            send.close()
        except OSError:  # no process could be started: compute here
            self._proc = None

    def result(self):
        """The value of ``fn(*args)``; the child's warnings are issued again in this process."""
        import warnings

        if self._proc is None:
            return self._fn(*self._args)
        try:
            value, caught = self._conn.recv()
        except (EOFError, OSError):  # the child failed or died: compute here
            return self._fn(*self._args)
        finally:
            self._conn.close()
            self._proc.join()
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        return value


def _independent_sections(d, model, scale_scores, invariance_args):
    """The reliability section and, with ``invariance_args``, the invariance section: the two
    sections no other depends on, computed together by the background worker."""
    rel = _reliability_section(d, model, scale_scores)
    inv = None if invariance_args is None else _invariance_section(*invariance_args)
    return rel, inv


def _is_acap_table(table, bank) -> bool:
    """True when a table looks like acap responses: organisation and role columns and bank items."""
    cols = set(table.data.columns)
    return {"organisation", "role"} <= cols and bool(cols & set(bank.items))


def validation_report(data, bank=None, model=None, group=_DEFAULT, seed: int = 2024, *,
                      n_iter: int = 50, min_group_n: int = 30, cfa_missing: str = "auto",
                      min_share: float = 2 / 3, n_modification_indices: int = 10, min_n: int = 5,
                      date: str | None = None, points: int | None = None, range=None,  # noqa: A002
                      reverse=(), organisation=_DEFAULT, n_factors: int | None = None,
                      ordinal: bool = False, respondents: str = "shown",
                      allow_small_n: bool = False, processes: int = 1) -> ValidationReport:
    """Build the validation report of a questionnaire (acap's, or any numeric items) on a table.

    Two kinds of input. **acap responses** (organisation and role columns and acap item IDs,
    or ``bank`` the acap bank): refused exactly as :func:`acap.scoring.score` refuses bad input;
    the model defaults to the bank's scales. **Any numeric items** (a researcher's own scale):
    give ``model`` ({factor: [columns]} or lavaan syntax) or a custom ``bank``; the other
    columns are ignored, the response range is read from the data unless ``points`` or
    ``range`` is given, and invariance and aggregation run only when ``group`` and
    ``organisation`` name columns.

    Parameters
    ----------
    data : path, DataFrame or Table
        The table (CSV, XLSX or SAV path, or a frame).
    bank : Bank or path, optional
        An item bank: acap's (the default for acap responses) or a custom one, whose scales,
        response ranges, reverse keys and don't-know codes are then used.
    model : mapping, str or path, optional
        Measurement model: YAML or JSON {factor: [items]}, or lavaan syntax; default the
        bank's scales.
    group : str, optional
        Column whose groups the invariance tests compare: ``role_group`` for acap responses;
        none (no invariance) for other items unless given.
    seed : int, default 2024
        Non-negative seed of parallel analysis and the EFA rotation starts; the report is
        identical for the same data, model and settings (bar the date).
    n_iter : int, default 50
        Simulated data sets in parallel analysis.
    min_group_n : int, default 30
        Smallest number of respondents a group needs on a scale to enter its invariance test.
    cfa_missing : {"auto", "listwise", "two.stage", "fiml"}, default "auto"
        How the CFA treats missing answers: listwise deletion (lavaan's default), two-stage ML
        (lavaan ``missing = "two.stage"``), full-information ML (lavaan ``missing = "ml"``), or
        ``"auto"``: listwise when at least 90% of respondents are complete, otherwise two-stage.
    min_share : float, default 2/3
        Share of a scale's items needed for a scale score (as scoring).
    n_modification_indices : int, default 10
        How many of the largest modification indices to report.
    min_n : int, default 5
        Small-cell rule: no figure of an organisation with fewer than ``min_n`` respondents (on
        a scale: with a score on it) can be read or worked out from the report (see
        :func:`acap.aggregate.withheld_groups`).
    date : str, optional
        Date to print (ISO); default today's UTC date and time.
    respondents : {"shown", "all"}, default "shown"
        ``"shown"``: only what organisation results scored with the same ``min_n`` show
        (:func:`acap.publish.shown_scores`), so the report can be released beside them.
        ``"all"``: every respondent, for the researcher only; the report then says on its
        first line that it must not be released with organisation results.
    allow_small_n : bool, default False
        Needed for a ``min_n`` below the default (see :func:`acap.publish.check_min_n`).
    processes : int, default 1
        With 2 or more (and processes that fork, as on Linux), the reliability and invariance
        sections are computed in a worker process while this one computes the others
        (``acap validate`` passes the usable cores). The report is the same either way, bar
        the last binary digits of some numbers (the worker uses one BLAS thread).
    points : int, optional
        Other items: answers run 1..points.
    range : (low, high) or "LO,HI", optional
        Other items: the response range (default: each item's lowest and highest answer).
    reverse : iterable of str
        Other items: items to reverse-key.
    organisation : str, optional
        Column of organisations for the aggregation section: ``organisation`` for acap
        responses; none (no aggregation section) for other items unless given.
    n_factors : int, optional
        Factors in the EFA (default: parallel analysis's suggestion).
    ordinal : bool, default False
        Fit the CFA to the items as ordered categories (WLSMV, lavaan's ``ordered = TRUE``).

    Returns
    -------
    ValidationReport

    Raises
    ------
    AcapInputError
        Bad input (unknown item or column, a value off the scale, a bad model file or setting).
        Analyses that fail on valid data do not raise: their section says why.

    Examples
    --------
    >>> rep = validation_report("bfi.csv", model={"A": ["A1", "A2", "A3", "A4", "A5"]})  # doctest: +SKIP
    >>> list(rep.sections())  # doctest: +SKIP
    ['items', 'reliability', 'adequacy', 'retention', 'efa', 'cfa', 'invariance', 'aggregation']
    """
    import acap
    from acap.items import Bank, load_bank
    from acap.itemtable import from_scored, read_items
    from acap.readers import Table, read_table, table_from_frame
    from acap.scoring import score

    if cfa_missing == "two-stage":
        cfa_missing = "two.stage"
    if cfa_missing not in ("auto", "listwise", "two.stage", "fiml"):
        raise AcapInputError(f"must be 'auto', 'listwise', 'two.stage' or 'fiml', got {cfa_missing!r}",
                             "cfa_missing")
    for name, v, lo in (("n_iter", n_iter, 1), ("min_group_n", min_group_n, 2), ("n_modification_indices",
                                                                                   n_modification_indices, 0),
                        ("min_n", min_n, 1), ("processes", processes, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise AcapInputError(f"must be a whole number of at least {lo}, got {v!r}", name)
    if n_factors is not None and (isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer))
                                  or n_factors < 1):
        raise AcapInputError(f"must be a whole number of at least 1, got {n_factors!r}", "n_factors")
    # numpy's generators refuse negative seeds; checked here so the report never half-runs
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AcapInputError(f"must be a whole number of at least 0, got {seed!r}", "seed")
    from acap.publish import ALL_RESPONDENTS_WARNING, check_min_n, shown_scores

    if respondents not in ("shown", "all"):
        raise AcapInputError(f"must be 'shown' or 'all', got {respondents!r}", "respondents")
    min_n_override = check_min_n(min_n, allow_small_n)
    bank_path = None
    model_arg = model
    if bank is not None and not isinstance(bank, Bank):
        bank_path = bank
        bank = load_bank(bank)
    source, sha = _data_hash(data)
    table = data if isinstance(data, Table) else (
        table_from_frame(data) if isinstance(data, pd.DataFrame) else read_table(data))
    default_bank = load_bank() if bank is None else None
    acap_mode = (bank is not None and bank.bank == "acap") or (
        bank is None and _is_acap_table(table, default_bank))
    model_source = "bank scales"
    if acap_mode:
        bank = bank or default_bank
        if points is not None or range is not None or len(tuple(reverse)):
            raise AcapInputError("the acap bank sets the response scale and reverse keys; --points, --range and "
                                 "--reverse are for other items", "points")
        scored = score(table, bank, min_share=min_share)
        if respondents == "shown":
            scored = shown_scores(scored, bank, min_n=int(min_n))
        if model is None:
            model = bank.scale_map
        else:
            model_source = str(model) if not isinstance(model, Mapping) else "given mapping"
            model = load_model(model, bank)
        in_model = {i for its in model.values() for i in its}
        described = [i for i in bank.item_ids if i in in_model or i in table.data.columns]
        d = from_scored(scored, bank, model, described)
        group = "role_group" if group is _DEFAULT else group
        org_col = "organisation" if organisation is _DEFAULT else organisation
        if org_col is not None and org_col != "organisation":
            raise AcapInputError("acap responses are aggregated by their organisation column", "organisation")
    else:
        group = None if group is _DEFAULT else group
        org_col = None if organisation is _DEFAULT else organisation
        if bank is not None:  # a custom bank: its scales, response ranges, reverse keys and wording
            model_source = "bank scales"
            model = bank.scale_map if model is None else load_model(model, bank)
            meta = bank.items
            in_model = [i for its in model.values() for i in its]
            rs = {meta[i]["response_scale"] for i in in_model}
            if len(rs) > 1:
                raise AcapInputError("the model mixes response scales; analyse items on one response scale together",
                                     "model")
            rscale = bank.response_scales[rs.pop()]
            dk = rscale.dont_know.code if rscale.dont_know is not None else None
            d = read_items(table, model, points=rscale.points, reverse=[i for i in in_model if meta[i]["reverse"]],
                           group=group, organisation=org_col, dont_know=dk,
                           texts={i: meta[i]["text"] for i in in_model}, labels=bank.labels(),
                           title=f"Validation report: {bank.title}", bank=bank.bank, bank_version=bank.version)
        else:
            if model is None:
                raise AcapInputError("these are not acap responses (no organisation and role columns with acap "
                                     "item IDs): give a model {factor: [columns]} or lavaan syntax", "model")
            model_source = str(model) if not isinstance(model, Mapping) else "given mapping"
            from acap.itemtable import load_model as load_columns_model

            model = load_columns_model(model, table.data.columns)
            d = read_items(table, model, points=points, range=range, reverse=reverse, group=group,
                           organisation=org_col)
    if group is not None and group not in d.background.columns:
        cols = [c for c in d.background.columns if c != "years_in_role"]
        raise AcapInputError(f"unknown group column {group!r}" + (f"; use one of {', '.join(cols)}" if cols else ""),
                             "group")
    from acap.itemtable import lavaan_text

    syntax = lavaan_text(model_arg) if model_arg is not None and not isinstance(model_arg, Mapping) else None
    labels = d.labels
    settings = dict(seed=int(seed), n_iter=int(n_iter), min_group_n=int(min_group_n), cfa_missing=cfa_missing,
                    min_share=float(min_share), group=group, organisation=org_col, model=model_source,
                    n_modification_indices=int(n_modification_indices), min_n=int(min_n),
                    min_n_override=bool(min_n_override), respondents=respondents,
                    n_factors=n_factors, ordinal=bool(ordinal), model_syntax=syntax,
                    efa="minres extraction, oblimin rotation", missing=(
                        "don't know and skipped are missing" if d.has_dont_know else "blank cells are missing")
                    + "; pairwise correlations for alpha, KMO, parallel analysis, MAP and EFA")
    if not acap_mode:
        settings.update(points=points, range=None if range is None else list(
            __import__("acap.itemtable", fromlist=["parse_range"]).parse_range(range)), reverse=list(d.reverse))
    all_items = [i for its in model.values() for i in its]
    x = d.items
    xm = x[all_items]
    bg = d.background
    # numpy's floating-point warnings (0/0 on awkward data) are silenced with errstate, which is
    # local to this thread and context; warnings.catch_warnings would change the filters of the
    # whole process. Failures become section notes.
    with np.errstate(all="ignore"):
        items_sec = _items_section(d, model)
        scale_scores = _scale_scores(d, model, min_share)
        inv_args = None if group is None else (x, bg, model, group, int(min_group_n), int(min_n), group == org_col)
        background = None
        if int(processes) > 1:
            import acap.factor.cfa  # noqa: F401 - loaded once here rather than in both processes

            background = _Background(_independent_sections, d, model, scale_scores, inv_args)
            rel = inv = None
        else:
            rel = _reliability_section(d, model, scale_scores)
            inv = None if inv_args is None else _invariance_section(*inv_args)
        adq = _adequacy_section(xm)
        ret = _retention_section(xm, int(seed), int(n_iter), len(model))
        ef = _efa_section(xm, ret, len(model), int(seed), model, n_factors)
        cf = _cfa_section(x, model, settings, int(n_modification_indices))
        if org_col is None:
            agg = Section("not requested", ("No organisation column was given, so aggregation was not examined "
                                            "(give one with --organisation / organisation=).",), {}, {})
        else:
            agg = _aggregation_section(d, model, scale_scores, int(min_n))
        if background is not None:
            rel, inv = background.result()
        if inv is None:
            inv = Section("not requested", ("No grouping column was given, so invariance was not tested "
                                            "(give one with --group / group=).",), {}, {"group": None})
    verdicts = _verdicts(model, labels, rel, agg, inv, cf)
    thresholds = pd.DataFrame.from_dict(THRESHOLDS, orient="index").rename_axis("key")
    meta = dict(
        release_warning=ALL_RESPONDENTS_WARNING if respondents == "all" else None,
        title=d.title, acap_version=acap.__version__, bank=d.bank,
        bank_version=d.bank_version,
        bank_file=_bank_file(bank, bank_path, default_bank) if bank is not None else "none",
        data_source=source, data_sha256=sha,
        date=date or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        n_respondents=int(len(bg)), n_organisations=int(bg[org_col].nunique()) if org_col else None,
        n_items=len(all_items), n_scales=len(model),
        scale_labels={f: labels.get(f, f) for f in model},
        group_sizes=_group_sizes(bg[group], group == org_col, int(min_n)) if group else {},
        python=platform.python_version(), numpy=np.__version__, pandas=pd.__version__,
    )
    try:
        import scipy

        meta["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    return ValidationReport(meta=meta, settings=settings, model={k: list(v) for k, v in model.items()},
                            thresholds=thresholds, verdicts=verdicts,
                            key_findings=_key_findings(adq, ret, cf, rel, len(model)), items=items_sec, reliability=rel,
                            adequacy=adq, retention=ret, efa=ef, cfa=cf, invariance=inv, aggregation=agg)
