"""Organisation results: within-organisation agreement, between-organisation reliability,
and small-cell suppression.

ACAP items describe the organisation, not the respondent, so individual scale scores are
averaged to an organisation score (a referent-shift consensus model). That average is only
meaningful when respondents agree (rwg, rwg(j)) and when organisations differ reliably
(ICC(1), ICC(2)). The agreement and reliability indices follow the definitions in R's
``multilevel`` package (Bliese), so researchers can check every number against it.

Public functions
----------------
uniform_null_variance
    Variance of the uniform ("no agreement") distribution on an A-point scale.
rwg, rwg_j
    Single-item and multi-item within-group agreement, one value per group.
icc
    ICC(1) and ICC(2) from a one-way ANOVA.
organisation_results
    Per organisation and scale: n, mean, SD, confidence interval (with a finite-population
    correction when the invited count is known), rwg(j); ICC per scale; role breakdown; all
    with small-cell and complementary suppression applied. For files and reports use
    ``OrganisationResults.public_reliability()``, never ``.private_reliability``.
suppress
    The suppression rule on its own, for any table that leaves the library.

See ``docs/methods/aggregation.md`` for formulas and references.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from acap import _dist

from acap.errors import AcapInputError
from acap.itemdata import numeric_items

__all__ = [
    "ROLE_NOT_STATED",
    "ICCResult",
    "OrganisationResults",
    "icc",
    "organisation_results",
    "rwg",
    "rwg_j",
    "suppress",
    "suppression_flags",
    "uniform_null_variance",
]

#: Label given to respondents whose role is missing, so role groups partition the organisation.
ROLE_NOT_STATED = "not stated"


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def uniform_null_variance(n_points: int) -> float:
    """Variance of the discrete uniform distribution on ``n_points`` response options.

    This is the expected within-group variance when respondents answer at random, the usual
    null ("rectangular") distribution for rwg: ``(A**2 - 1) / 12`` for A points.

    Parameters
    ----------
    n_points : int
        Number of response options (A), at least 2.

    Returns
    -------
    float
        ``(A**2 - 1) / 12``; 4.0 for a 7-point scale, 2.0 for a 5-point scale.

    References
    ----------
    James LR, Demaree RG, Wolf G. J Appl Psychol 1984;69:85-98.

    Examples
    --------
    >>> uniform_null_variance(7)
    4.0
    """
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise AcapInputError(f"must be a whole number of at least 2, got {n_points!r}", "n_points")
    return (float(n_points) ** 2 - 1.0) / 12.0


def _check_null_variance(null_variance) -> float:
    try:
        value = float(null_variance)
    except (TypeError, ValueError):
        raise AcapInputError(f"must be a positive number, got {null_variance!r}", "null_variance") from None
    if not np.isfinite(value) or value <= 0:
        raise AcapInputError(f"must be a positive number, got {null_variance!r}", "null_variance")
    return value


def _numeric(values, where: str) -> pd.Series:
    """A float Series from 1-D array-like values (the common item-table rules, one column).

    Unlike a scale analysis, agreement and ICC take constant values (perfect agreement) and
    values nobody answered, so only the type rules apply.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object))
    if s.ndim != 1:
        raise AcapInputError("must be one-dimensional", where)
    name = where if s.name is None else s.name
    col = numeric_items(s.to_frame(name=name), where, min_items=1, min_rows=0, min_answers=0,
                        allow_constant=True).iloc[:, 0]
    return col.rename(s.name)


def _groups(groups, n: int, where: str = "groups") -> pd.Series:
    g = groups if isinstance(groups, pd.Series) else pd.Series(np.asarray(groups, dtype=object))
    if len(g) != n:
        raise AcapInputError(f"has {len(g)} entries but the values have {n}", where)
    return g


def _rwg_from_variance(variance: np.ndarray, null_variance: float, n_items: int = 1) -> np.ndarray:
    """rwg (n_items=1) or rwg(j) from an observed (mean item) variance.

    A variance above the null is truncated to the null, giving 0, as multilevel does; NaN
    variance (fewer than two answers) stays NaN.
    """
    ratio = np.minimum(variance, null_variance) / null_variance
    if n_items == 1:
        return 1.0 - ratio
    agree = n_items * (1.0 - ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        return agree / (agree + ratio)


# --------------------------------------------------------------------------------------------
# rwg and rwg(j)
# --------------------------------------------------------------------------------------------


def rwg(values, groups, null_variance: float) -> pd.Series:
    """Single-item within-group agreement rwg, one value per group.

    ``rwg = 1 - s2 / null_variance`` with ``s2`` the group's sample variance (n - 1
    denominator). As in R's ``multilevel::rwg``: rows with a missing value or group are
    dropped first; a group with a single remaining answer gets NaN; a variance larger than
    the null is truncated to the null, so rwg is 0 rather than negative.

    Parameters
    ----------
    values : array-like of float
        One answer (or scale score) per respondent.
    groups : array-like
        Group label per respondent, same length as ``values``.
    null_variance : float
        Variance expected under no agreement, e.g. ``uniform_null_variance(7)``.

    Returns
    -------
    pandas.Series
        rwg indexed by group (sorted), named ``"rwg"``; only groups with at least one
        non-missing value appear, as in multilevel.

    References
    ----------
    James LR, Demaree RG, Wolf G. J Appl Psychol 1984;69:85-98.
    Bliese PD. In: Klein KJ, Kozlowski SWJ (eds). Multilevel theory, research, and methods
    in organizations. Jossey-Bass; 2000:349-81.

    Examples
    --------
    Group b's variance (5.33) exceeds the null (4), so its rwg is truncated to 0:

    >>> rwg([4, 5, 4, 6, 2, 2], ["a", "a", "a", "b", "b", "b"], uniform_null_variance(7))
    group
    a    0.916667
    b    0.000000
    Name: rwg, dtype: float64
    """
    null = _check_null_variance(null_variance)
    x = _numeric(values, "values")
    g = _groups(groups, len(x))
    frame = pd.DataFrame({"x": x.to_numpy(), "g": g.to_numpy()}).dropna()
    variance = frame.groupby("g", sort=True)["x"].var()
    out = pd.Series(_rwg_from_variance(variance.to_numpy(), null), index=variance.index, name="rwg")
    out.index.name = g.name if g.name is not None else "group"
    return out


def rwg_j(items, groups, null_variance: float, missing: str = "listwise") -> pd.Series:
    """Multi-item within-group agreement rwg(j), one value per group.

    With J items and ``s2`` the mean of the J item variances within a group,
    ``rwg(j) = J (1 - s2/null) / (J (1 - s2/null) + s2/null)``. As in R's
    ``multilevel::rwg.j``: ``s2`` larger than the null is truncated to the null (rwg(j) = 0);
    a group with fewer than two rows gets NaN.

    Parameters
    ----------
    items : pandas.DataFrame or 2-D array
        One column per item, one row per respondent.
    groups : array-like
        Group label per respondent.
    null_variance : float
        Variance expected under no agreement for one item, e.g. ``uniform_null_variance(7)``.
    missing : {"listwise", "available"}
        ``"listwise"`` (default, as multilevel) drops every respondent with a missing item
        before anything else; ``"available"`` keeps them and takes each item's variance over
        the answers it has (an item with fewer than two answers in a group is left out of
        that group's mean variance).

    Returns
    -------
    pandas.Series
        rwg(j) indexed by group (sorted), named ``"rwg_j"``.

    References
    ----------
    James LR, Demaree RG, Wolf G. J Appl Psychol 1984;69:85-98.
    Bliese PD 2000 (see :func:`rwg`).

    Examples
    --------
    >>> items = pd.DataFrame({"q1": [4, 5, 4, 6, 2, 2], "q2": [5, 5, 4, 1, 7, 3]})
    >>> rwg_j(items, ["a", "a", "a", "b", "b", "b"], uniform_null_variance(7)).round(4)
    group
    a    0.9565
    b    0.0000
    Name: rwg_j, dtype: float64
    """
    null = _check_null_variance(null_variance)
    if missing not in ("listwise", "available"):
        raise AcapInputError(f"must be 'listwise' or 'available', got {missing!r}", "missing")
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(np.asarray(items))
    if frame.ndim != 2 or frame.shape[1] < 1:
        raise AcapInputError("need a table with at least one item column", "items")
    frame = numeric_items(frame, "items", min_items=1, min_rows=0, min_answers=0, allow_constant=True)
    g = _groups(groups, len(frame))
    n_items = frame.shape[1]
    frame = frame.reset_index(drop=True)
    frame["__group__"] = g.to_numpy()
    frame = frame[frame["__group__"].notna()]
    if missing == "listwise":
        frame = frame.dropna()
    grouped = frame.groupby("__group__", sort=True)
    variances = grouped.var()
    if missing == "listwise":
        mean_var = variances.mean(axis=1, skipna=False)
    else:
        mean_var = variances.mean(axis=1, skipna=True)
        # groups with no answers at all would not appear in multilevel either
        mean_var = mean_var[grouped.count().max(axis=1) > 0]
    out = pd.Series(_rwg_from_variance(mean_var.to_numpy(), null, n_items), index=mean_var.index, name="rwg_j")
    out.index.name = g.name if g.name is not None else "group"
    return out


# --------------------------------------------------------------------------------------------
# ICC(1), ICC(2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ICCResult:
    """ICC(1) and ICC(2) from a one-way random-effects ANOVA of values on groups.

    Attributes
    ----------
    icc1 : float
        ``(MSB - MSW) / (MSB + (k - 1) MSW)``: share of variance due to the group.
    icc2 : float
        ``(MSB - MSW) / MSB``: reliability of the group means.
    msb, msw : float
        Between- and within-group mean squares.
    k : float
        Group size used in ICC(1): the average ``N / G`` (as multilevel::ICC1).
    n_groups : int
        Number of groups with at least one value (G).
    n : int
        Number of values used (N).
    df_between, df_within : int
        ``G - 1`` and ``N - G``.
    F, p : float
        ANOVA F ratio ``MSB / MSW`` and its upper-tail p-value.
    """

    icc1: float
    icc2: float
    msb: float
    msw: float
    k: float
    n_groups: int
    n: int
    df_between: int
    df_within: int
    F: float  # noqa: N815 - the conventional name of the ANOVA statistic
    p: float


def _icc_from_group_stats(count: np.ndarray, mean: np.ndarray, var: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised one-way ANOVA and ICCs, one column per measure.

    ``count``, ``mean`` and ``var`` are (groups x measures) arrays of the per-group count,
    mean and sample variance; groups with count 0 are ignored for that measure.
    """
    count = np.asarray(count, dtype=float)
    present = count > 0
    n_groups = present.sum(axis=0)
    n = count.sum(axis=0)
    mean0 = np.where(present, mean, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = (count * mean0).sum(axis=0) / n
        ss_between = (count * (mean0 - grand) ** 2).sum(axis=0)
        # a group of one contributes nothing within (its variance is undefined, not missing)
        ss_within = np.where(count > 1, (count - 1) * np.nan_to_num(var), 0.0).sum(axis=0)
        df_b = n_groups - 1
        df_w = n - n_groups
        msb = np.where(df_b > 0, ss_between / np.maximum(df_b, 1), np.nan)
        msw = np.where(df_w > 0, ss_within / np.maximum(df_w, 1), np.nan)
        k = n / n_groups
        icc1 = (msb - msw) / (msb + (k - 1) * msw)
        icc2 = (msb - msw) / msb
        f = msb / msw
        p = _dist.f_sf(f, df_b, df_w)
    return {
        "icc1": icc1,
        "icc2": icc2,
        "msb": msb,
        "msw": msw,
        "F": f,
        "p": p,
        "k": k,
        "n_groups": n_groups,
        "n": n,
        "df_between": df_b,
        "df_within": df_w,
    }


def icc(values, groups) -> ICCResult:
    """ICC(1) and ICC(2) (Bliese 2000) from a one-way ANOVA, as R's multilevel computes them.

    ``ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW)`` and ``ICC(2) = (MSB - MSW) / MSB``, with
    MSB and MSW the between- and within-group mean squares of ``aov(values ~ group)`` and
    ``k = N / G`` the average group size (multilevel::ICC1 uses this average even when
    groups are unbalanced). Rows with a missing value or group are dropped. Values are not
    truncated at zero.

    Parameters
    ----------
    values : array-like of float
        One value per respondent.
    groups : array-like
        Group label per respondent.

    Returns
    -------
    ICCResult
        ``icc1``, ``icc2``, ``msb``, ``msw``, ``k``, ``n_groups``, ``n``, ``df_between``,
        ``df_within``, ``F``, ``p``.

    Raises
    ------
    AcapInputError
        Fewer than two groups, or no group with more than one value.

    References
    ----------
    Bliese PD 2000 (see :func:`rwg`). LeBreton JM, Senter JL. Organ Res Methods
    2008;11:815-52.

    Examples
    --------
    >>> r = icc([1, 2, 3, 4, 5, 6], ["a", "a", "a", "b", "b", "b"])
    >>> round(r.icc1, 4), round(r.icc2, 4)
    (0.8065, 0.9259)
    """
    x = _numeric(values, "values")
    g = _groups(groups, len(x))
    frame = pd.DataFrame({"x": x.to_numpy(), "g": g.to_numpy()}).dropna()
    grouped = frame.groupby("g", sort=True)["x"]
    count, mean, var = grouped.count(), grouped.mean(), grouped.var()
    if len(count) < 2:
        raise AcapInputError(f"need at least two groups with values, got {len(count)}", "groups")
    if (count > 1).sum() == 0:
        raise AcapInputError("need at least one group with two or more values", "groups")
    res = _icc_from_group_stats(
        count.to_numpy()[:, None], mean.to_numpy()[:, None], var.to_numpy()[:, None]
    )
    scalar = {key: value[0].item() for key, value in res.items()}
    for key in ("n_groups", "n", "df_between", "df_within"):
        scalar[key] = int(scalar[key])
    return ICCResult(**scalar)


# --------------------------------------------------------------------------------------------
# suppression
# --------------------------------------------------------------------------------------------

_FLAG = "suppressed"
_REASON = "reason"


def suppress(
    table: pd.DataFrame,
    min_n: int = 5,
    *,
    n: str = "n",
    within: Sequence[str] | None = None,
    total_suppressed: pd.Series | None = None,
    values: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Suppress small cells, and any cell from which a suppressed one could be recovered.

    Primary rule: a row whose count ``n`` is below ``min_n`` (or missing) is suppressed.
    Complementary rule (only when ``within`` is given): the rows sharing the same values of
    ``within`` are a breakdown of a total shown elsewhere (e.g. the role groups of one
    organisation on one scale add up to that organisation's row). When some rows of such a
    breakdown are suppressed and its total is shown, the suppressed rows *together* follow
    by subtraction: their summed n, and their pooled mean, are the total minus the shown
    rows. So the shown rows are suppressed too, smallest n first (ties: the first in table
    order), until the suppressed rows are at least two and their counts add up to at least
    ``min_n``, or the whole breakdown is suppressed (whose pooled mean is then the total's,
    which has at least ``min_n`` people). After one pass every breakdown has no suppressed
    row, suppressed rows that are at least two with at least ``min_n`` people in all, or a
    suppressed total; with disjoint breakdowns that is enough. A missing count counts as 0,
    except in a row already flagged ``suppressed`` (its count was blanked by an earlier
    pass, which protected it), so applying the rule twice changes nothing.

    Suppressed rows keep their identifying index/columns; their ``values`` (and ``n``) are
    set to missing, ``suppressed`` is True and ``reason`` says why. Rows already flagged in a
    ``suppressed`` column stay suppressed, so the function can be applied again safely.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows to publish, with a count column ``n``. Keys may be index levels or columns.
    min_n : int, default 5
        Smallest count that may be shown.
    n : str, default "n"
        Name of the count column.
    within : sequence of str, optional
        Index levels or columns that identify a breakdown (e.g. ``["organisation",
        "scale"]`` for role groups); omit for no complementary suppression.
    total_suppressed : pandas.Series of bool, optional
        Indexed by the ``within`` keys (in that order): True where the breakdown's total is
        itself suppressed, so no complementary suppression is needed there. Omitted: every
        total is taken to be shown. ``organisation_results(...).table["suppressed"]`` fits
        directly for a role breakdown.
    values : sequence of str, optional
        Columns to blank. Default: every numeric column except the ``within`` columns and
        the flag itself (identifiers should be index levels or non-numeric).

    Returns
    -------
    pandas.DataFrame
        A copy with ``suppressed`` (bool) and ``reason`` (str, "" when shown) columns.

    Examples
    --------
    >>> t = pd.DataFrame({"org": ["A"] * 3, "role": ["x", "y", "z"], "n": [3, 6, 9],
    ...                   "mean": [4.0, 5.0, 6.0]}).set_index(["org", "role"])
    >>> suppress(t, 5, within=["org"])["suppressed"].tolist()
    [True, True, False]

    Two small groups (1 + 2 people) are hidden, but their pooled mean would follow from
    the total and the third group, so the third group is hidden too:

    >>> t2 = t.assign(n=[1, 2, 9])
    >>> suppress(t2, 5, within=["org"])["suppressed"].tolist()
    [True, True, True]
    """
    if not isinstance(table, pd.DataFrame):
        raise AcapInputError("must be a pandas DataFrame", "table")
    if n not in table.columns:
        raise AcapInputError(f"has no count column {n!r}", "table")
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise AcapInputError(f"must be a whole number of at least 1, got {min_n!r}", "min_n")
    within = list(within) if within is not None else None
    counts = pd.to_numeric(table[n], errors="coerce").to_numpy(dtype=float)
    already = (
        table[_FLAG].fillna(False).to_numpy(dtype=bool) if _FLAG in table.columns else np.zeros(len(table), bool)
    )
    old_reason = (
        table[_REASON].astype(object).where(table[_REASON].notna(), "").to_numpy()
        if _REASON in table.columns
        else None
    )
    group_codes = total_hidden = None
    if within:
        keys = []
        for name in within:
            if name in table.columns:
                keys.append(table[name].to_numpy())
            elif name in (table.index.names or []):
                keys.append(table.index.get_level_values(name))
            else:
                raise AcapInputError(f"no column or index level {name!r}", "within")
        group_codes, uniques = _factorize_keys(keys, within)
        if total_suppressed is not None:
            ts = pd.Series(total_suppressed).astype(bool)
            total_hidden = ts.reindex(uniques).fillna(False).to_numpy(dtype=bool)
    if values is None:
        skip = set(within or []) | {_FLAG, _REASON}
        values = [
            c for c in table.columns
            if c not in skip and pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
        ]
    return _apply_suppression(table, counts, min_n, n, list(values), already, old_reason, group_codes, total_hidden)


def _factorize_keys(keys: list, names: list[str]):
    """Codes (in order of first appearance) and unique keys of the rows' key columns.

    As ``pd.factorize`` of their MultiIndex, but through each column's integer codes: a
    MultiIndex of a hundred thousand rows would be materialised as tuples first.
    """
    if len(keys) == 1:
        return pd.factorize(pd.Index(keys[0]))
    parts = [pd.factorize(pd.Index(k), use_na_sentinel=False) for k in keys]
    combined = np.ravel_multi_index([c for c, _ in parts], [max(len(u), 1) for _, u in parts])
    group_codes, _ = pd.factorize(combined)
    rows = np.unique(group_codes, return_index=True)[1]  # each group's first row
    uniques = pd.MultiIndex.from_arrays([pd.Index(k)[rows] for k in keys], names=names)
    return group_codes, uniques


def suppression_flags(counts: np.ndarray, min_n: int, already: np.ndarray | None = None,
                      group_codes: np.ndarray | None = None, total_hidden: np.ndarray | None = None,
                      old_reason: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rule of :func:`suppress` on arrays: which cells are suppressed, and why.

    Parameters
    ----------
    counts : numpy.ndarray of float
        n per cell (NaN where unknown).
    min_n : int
    already : numpy.ndarray of bool, optional
        Cells suppressed beforehand (by an earlier pass or another rule).
    group_codes : numpy.ndarray of int, optional
        Breakdown of each cell (0, 1, ...); omit for no complementary suppression.
    total_hidden : numpy.ndarray of bool, optional
        Per breakdown code: True where its total is itself suppressed.
    old_reason : numpy.ndarray of object, optional
        Reasons of the cells in ``already``, kept.

    Returns
    -------
    (numpy.ndarray of bool, numpy.ndarray of object)
        Suppressed flag and reason ("" when shown) per cell.
    """
    counts = np.asarray(counts, dtype=float)
    already = np.zeros(len(counts), dtype=bool) if already is None else np.asarray(already, dtype=bool)
    flag = already | (counts < min_n) | np.isnan(counts)
    reason = np.array(["", f"n < {min_n}"], dtype=object)[flag.astype(np.int8)]
    if old_reason is not None:
        reason = np.where(already & (old_reason != ""), old_reason, reason)
    if group_codes is not None and len(group_codes):
        n_groups = int(group_codes.max()) + 1
        if total_hidden is not None:
            n_groups = max(n_groups, len(total_hidden))
        open_total = np.ones(n_groups, dtype=bool)
        if total_hidden is not None:
            open_total[: len(total_hidden)] = ~total_hidden
        # A count blanked by an earlier pass was protected then (so a second pass changes
        # nothing); any other unknown count protects nobody and adds 0.
        known = np.where(np.isnan(counts), np.where(already, float(min_n), 0.0), counts)
        hidden_n = np.bincount(group_codes, weights=np.where(flag, known, 0.0), minlength=n_groups)
        hidden_k = np.bincount(group_codes, weights=flag.astype(float), minlength=n_groups)
        candidate = np.flatnonzero((open_total & (hidden_k > 0))[group_codes] & ~flag)
        # per breakdown: shown cells by smallest n, then table order
        order = candidate[np.lexsort((candidate, counts[candidate], group_codes[candidate]))]
        g = group_codes[order]
        c = known[order]
        first = np.searchsorted(g, g, side="left")  # position of the breakdown's first candidate
        cum_before = np.cumsum(c) - c
        cum_before -= cum_before[first]
        # a candidate is hidden while, before it, the hidden cells are fewer than two or
        # hold fewer than min_n people (their pooled n and mean follow by subtraction)
        enough = (hidden_n[g] + cum_before >= min_n) & (hidden_k[g] + (np.arange(len(order)) - first) >= 2)
        extra = order[~enough]
        flag = flag.copy()
        flag[extra] = True
        reason[extra] = "complementary: protects small cells from subtraction"
    return flag, reason


def _apply_suppression(table, counts, min_n, n, values, already, old_reason, group_codes, total_hidden):
    """:func:`suppression_flags` applied to ``table``: values blanked, flag and reason columns added."""
    flag, reason = suppression_flags(counts, min_n, already, group_codes, total_hidden, old_reason)
    out = table.copy()
    if n not in values:
        values.append(n)
    for col in values:
        if col not in out.columns:
            raise AcapInputError(f"no column {col!r}", "values")
        if pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].astype("Int64")  # nullable, so a blanked count stays an integer column
        out[col] = out[col].mask(flag)
    out[_FLAG] = flag
    out[_REASON] = reason
    return out


# --------------------------------------------------------------------------------------------
# organisation results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationResults:
    """Organisation-level results with suppression applied.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by (organisation, scale): ``n`` (respondents with a score on the scale),
        ``mean``, ``sd``, ``ci_lower``, ``ci_upper``, ``invited`` (N, missing when unknown),
        ``fpc`` (finite-population factor applied to the standard error; 1 when N is
        unknown), ``rwg_j``, ``rwg_basis`` (``"items"``: rwg(j) of the scale's items;
        ``"scale score"``: single-item rwg of the scale score), ``rwg_items`` (J),
        ``rwg_n`` (respondents rwg used), ``suppressed``, ``reason``.
    private_reliability : pandas.DataFrame
        Indexed by scale: ``icc1``, ``icc2``, ``n_groups``, ``mean_group_size`` (N/G, the k
        of ICC(1)), ``n``, ``msb``, ``msw``, ``F``, ``p``. Computed over all organisations,
        suppressed ones included, for the researcher's own use: it is *not* for publication
        when an organisation is suppressed (N minus the shown organisations' n gives the
        hidden n, and MSB, MSW narrow its mean; even ICC(1) with ICC(2) give N back). Files,
        reports and screens use :meth:`public_reliability`.
    by_role : pandas.DataFrame
        Indexed by (organisation, role, scale): ``n``, ``mean``, ``sd``, ``suppressed``, ``reason``;
        empty when no role column was used. Respondents without a role form the group
        ``"not stated"`` so the role groups add up to the organisation row.
    min_n : int
    level : float
    n_points : int
    null_variance : float
    """

    table: pd.DataFrame
    private_reliability: pd.DataFrame
    by_role: pd.DataFrame
    min_n: int
    level: float
    n_points: int
    null_variance: float

    def public_reliability(self) -> pd.DataFrame:
        """ICC(1) and ICC(2) per scale as they may be published: no suppressed cell enters.

        For each scale the one-way ANOVA uses only the organisations whose row of
        :attr:`table` is shown, from their shown ``n``, ``mean`` and ``sd``, so every figure
        here can be worked out from the published table and discloses nothing about a
        suppressed organisation. When no organisation is suppressed on a scale this equals
        :attr:`private_reliability`. (Over all organisations, ``icc2`` gives F = 1 / (1 - ICC(2)),
        then ``icc1`` gives k and so N = G k: the hidden organisation's n, and with MSB and
        MSW a narrow range for its mean. Hence the shown organisations only.)

        Returns
        -------
        pandas.DataFrame
            Indexed by scale, the columns of :attr:`private_reliability` (``icc1``, ``icc2``,
            ``n_groups``, ``mean_group_size``, ``n``, ``msb``, ``msw``, ``F``, ``p``) computed
            over the shown organisations, plus ``n_groups_suppressed``: organisations left
            out because their row is suppressed.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> df = pd.DataFrame({"organisation": np.repeat(["A", "B", "C", "D"], [8, 6, 7, 3]),
        ...                    "acquisition": rng.integers(3, 8, 24).astype(float)})
        >>> res = organisation_results(df, role=None)
        >>> pub = res.public_reliability()
        >>> int(pub.loc["acquisition", "n_groups"]), int(pub.loc["acquisition", "n"])
        (3, 21)
        >>> int(res.private_reliability.loc["acquisition", "n"])  # includes the hidden 3: not for files
        24
        """
        t = self.table
        scales = self.private_reliability.index
        shown = ~t["suppressed"].to_numpy(dtype=bool)
        n = pd.to_numeric(t["n"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)

        def wide(values: np.ndarray) -> np.ndarray:
            # (organisations x scales), in the order of the reliability index
            return pd.Series(values, index=t.index).unstack(level="scale").reindex(columns=scales).to_numpy(float)

        count = np.nan_to_num(wide(np.where(shown, n, 0.0)))
        mean = wide(np.where(shown, t["mean"].to_numpy(dtype=float, na_value=np.nan), np.nan))
        sd = wide(np.where(shown, t["sd"].to_numpy(dtype=float, na_value=np.nan), np.nan))
        hidden = wide((~shown).astype(float))
        table = _reliability_table(_icc_from_group_stats(count, mean, sd**2), scales.copy())
        table["n_groups_suppressed"] = np.nan_to_num(hidden).sum(axis=0).astype(int)
        return table


def _reliability_table(res: dict, index: pd.Index) -> pd.DataFrame:
    """The per-scale ICC table from :func:`_icc_from_group_stats`'s arrays."""
    return pd.DataFrame(
        {
            "icc1": res["icc1"],
            "icc2": res["icc2"],
            "n_groups": res["n_groups"].astype(int),
            "mean_group_size": res["k"],
            "n": res["n"].astype(int),
            "msb": res["msb"],
            "msw": res["msw"],
            "F": res["F"],
            "p": res["p"],
        },
        index=index,
    )


def _check_range(arr: np.ndarray, scores: pd.DataFrame, cols: list[str], n_points: int, what: str) -> None:
    # nanmin/nanmax first: the common case (all in range) costs two passes and no temporaries
    if arr.size == 0 or np.isnan(arr).all():
        return
    if np.nanmin(arr) >= 1 and np.nanmax(arr) <= n_points:
        return
    bad = ~np.isnan(arr) & ((arr < 1) | (arr > n_points))
    row, col = np.argwhere(bad)[0]
    label = scores.index[row]
    raise AcapInputError(
        f"value {arr[row, col]!r} is outside 1-{n_points}", f"scores row {label!r}, {what} column {cols[col]!r}"
    )


def _numeric_array(scores: pd.DataFrame, cols: list[str], what: str) -> np.ndarray:
    """The columns as a float (rows x columns) array, refusing missing columns and text.

    Columns may repeat in ``cols`` (an item serving two scales); each is checked once.
    """
    for col in cols:
        if col not in scores.columns:
            raise AcapInputError(f"no {what} column {col!r}", "scores")
    unique = list(dict.fromkeys(cols))
    checked = numeric_items(scores[unique], f"scores, {what}s", min_items=1, min_rows=0,
                            min_answers=0, allow_constant=True)
    if len(unique) == len(cols):
        return checked.to_numpy()
    pos = {c: j for j, c in enumerate(unique)}
    return checked.to_numpy()[:, [pos[c] for c in cols]]


def _segment_stats(arr_t: np.ndarray, starts: np.ndarray, centre: float):
    """Count, mean and sample variance (n - 1) of every variable within contiguous segments.

    ``arr_t`` is (variables x respondents), C-contiguous, with respondents sorted so each
    group is a contiguous run starting at ``starts`` (every run non-empty); NaN is missing.
    Returns three (groups x variables) arrays. Sums and sums of squares are taken about
    ``centre`` (the scale midpoint): the data are validated to lie on the 1..A scale, so the
    shifted one-pass formula loses nothing measurable (error of order 1e-15), and
    ``np.add.reduceat`` along contiguous rows is far faster than a groupby per column.
    """
    n_var = arr_t.shape[0]
    count = np.empty((n_var, len(starts)))
    total = np.empty((n_var, len(starts)))
    squares = np.empty((n_var, len(starts)))
    # a few variables at a time: the temporaries stay small and are reused, where a whole
    # respondents x variables temporary costs more in fresh memory than in arithmetic
    step = max(1, (1 << 20) // max(arr_t.shape[1], 1))
    for lo in range(0, n_var, step):
        block = arr_t[lo:lo + step]
        valid = ~np.isnan(block)
        shifted = block - centre
        np.copyto(shifted, 0.0, where=~valid)
        count[lo:lo + step] = np.add.reduceat(valid, starts, axis=1, dtype=np.float64)
        total[lo:lo + step] = np.add.reduceat(shifted, starts, axis=1)
        np.multiply(shifted, shifted, out=shifted)
        squares[lo:lo + step] = np.add.reduceat(shifted, starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_shifted = total / count
        ss = np.maximum(squares - total * mean_shifted, 0.0)
        var = np.where(count > 1, ss / (count - 1), np.nan)
    return count.T, (mean_shifted + centre).T, var.T


def _invited_counts(invited, orgs: pd.Index, headcount: np.ndarray) -> np.ndarray:
    """N per organisation in ``orgs`` order (NaN when unknown), checked against headcounts."""
    if invited is None:
        return np.full(len(orgs), np.nan)
    if isinstance(invited, Mapping):
        invited = pd.Series(dict(invited), dtype=object)
    if not isinstance(invited, pd.Series):
        raise AcapInputError("must be a pandas Series or a mapping organisation -> invited count", "invited")
    numeric = pd.to_numeric(invited, errors="coerce")
    bad = (numeric.isna() & invited.notna()) | (numeric <= 0) | (numeric % 1 != 0)
    if bad.any():
        org = invited.index[bad.to_numpy()][0]
        raise AcapInputError(f"must be a positive whole number, got {invited[org]!r}", f"invited[{org!r}]")
    if not numeric.index.is_unique:
        org = numeric.index[numeric.index.duplicated()][0]
        raise AcapInputError("organisation listed twice", f"invited[{org!r}]")
    big_n = numeric.reindex(orgs).to_numpy(dtype=float)
    short = big_n < headcount
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise AcapInputError(
            f"invited count {int(big_n[i])} is smaller than the {int(headcount[i])} respondents",
            f"invited[{orgs[i]!r}]",
        )
    return big_n


def organisation_results(
    scores: pd.DataFrame,
    organisation: str = "organisation",
    scales: Sequence[str] | None = None,
    items: Mapping[str, Sequence[str]] | None = None,
    n_points: int = 7,
    invited=None,
    min_n: int = 5,
    role: str | None = "role",
    level: float = 0.95,
) -> OrganisationResults:
    """Organisation results for every scale: n, mean, SD, CI, rwg(j), ICCs, roles; suppressed.

    Per organisation and scale the mean of the respondents' scale scores with a t-based
    confidence interval ``mean +- t(level, n-1) * sd / sqrt(n) * fpc``, where
    ``fpc = sqrt((N - n) / (N - 1))`` when the organisation's invited count N is known and 1
    otherwise. Agreement is rwg(j) of the scale's items against the uniform null for
    ``n_points`` when ``items`` gives them (listwise, as multilevel::rwg.j), else the
    single-item rwg of the scale score. ICC(1) and ICC(2) per scale across organisations.
    Cells with fewer than ``min_n`` respondents, and any cell from which one could be
    recovered by subtraction, are suppressed (see :func:`suppress`).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per respondent: scale scores on 1..n_points, an organisation column, and
        optionally a role column and item columns.
    organisation : str, default "organisation"
        Organisation column.
    scales : sequence of str, optional
        Scale columns. Default: every numeric column other than organisation, role and
        the item columns named in ``items``.
    items : mapping scale -> list of item columns, optional
        Item-level answers (already reverse-keyed, on 1..n_points) for rwg(j).
    n_points : int, default 7
        Number of response options; the rwg null variance is ``(A**2 - 1) / 12``.
    invited : pandas.Series or mapping, optional
        Organisation -> number invited (N), for the finite-population correction.
    min_n : int, default 5
        Smallest number of respondents a published cell may have.
    role : str or None, default "role"
        Role column for the role breakdown; None for none.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    OrganisationResults
        ``table``, ``private_reliability``, ``by_role`` and the settings used. ``private_reliability`` uses
        every organisation and is for the researcher only; what leaves the library uses
        ``public_reliability()``.

    References
    ----------
    James LR, Demaree RG, Wolf G. J Appl Psychol 1984;69:85-98. Bliese PD 2000.
    LeBreton JM, Senter JL. Organ Res Methods 2008;11:815-52.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"organisation": np.repeat(["A", "B", "C"], [8, 6, 3]),
    ...                    "role": ["board", "clinical"] * 8 + ["board"],
    ...                    "acquisition": rng.integers(3, 8, 17).astype(float)})
    >>> res = organisation_results(df)
    >>> res.table["suppressed"].tolist()
    [False, False, True]
    """
    if not isinstance(scores, pd.DataFrame):
        raise AcapInputError("must be a pandas DataFrame", "scores")
    nullvar = uniform_null_variance(n_points)
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise AcapInputError(f"must be a whole number of at least 1, got {min_n!r}", "min_n")
    if not (isinstance(level, (float, int)) and 0 < level < 1):
        raise AcapInputError(f"must be between 0 and 1, got {level!r}", "level")
    if organisation not in scores.columns:
        raise AcapInputError(f"no organisation column {organisation!r}", "scores")
    if role is not None and role not in scores.columns:
        raise AcapInputError(f"no role column {role!r} (pass role=None for no role breakdown)", "scores")
    org = scores[organisation]
    if org.isna().any():
        row = scores.index[org.isna().to_numpy()][0]
        raise AcapInputError("organisation is missing", f"scores row {row!r}, column {organisation!r}")

    items = dict(items or {})
    item_cols = {c for cols in items.values() for c in cols}
    if scales is None:
        skip = {organisation, role} | item_cols
        scales = [
            c for c in scores.columns
            if c not in skip and pd.api.types.is_numeric_dtype(scores[c]) and not pd.api.types.is_bool_dtype(scores[c])
        ]
    scales = list(scales)
    if not scales:
        raise AcapInputError("no scale columns to aggregate", "scores")
    if len(set(scales)) != len(scales):
        raise AcapInputError("a scale is listed twice", "scales")
    for scale in items:
        if scale not in scales:
            raise AcapInputError(f"items given for {scale!r}, which is not among the scales", "items")
        if len(items[scale]) < 1:
            raise AcapInputError("empty item list", f"items[{scale!r}]")

    xv = _numeric_array(scores, scales, "scale")
    _check_range(xv, scores, scales, n_points, "scale")
    # item columns laid out scale by scale (an item may serve two scales)
    item_list = [c for scale in scales if scale in items for c in items[scale]]
    item_arr = _numeric_array(scores, item_list, "item") if item_list else None
    if item_arr is not None:
        _check_range(item_arr, scores, item_list, n_points, "item")

    # integer organisation codes: one sort, then every groupby is on small ints
    codes, orgs = pd.factorize(org, sort=True)
    orgs = pd.Index(orgs, name=organisation)
    n_org, n_scale = len(orgs), len(scales)
    # Sort respondents once by organisation (then role), so every organisation and every
    # organisation x role group is a contiguous block: all statistics are then segment sums.
    if role is not None:
        role_values = scores[role]
        role_labels = role_values.astype(object).where(role_values.notna(), ROLE_NOT_STATED).astype(str)
        rcodes, rnames = pd.factorize(role_labels.to_numpy(), sort=True)
        key = codes.astype(np.int64) * len(rnames) + rcodes
    else:
        rnames, key = None, codes.astype(np.int64)
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    # (variables x respondents) layout: reduceat then runs along contiguous memory
    xs = np.take(xv.T, order, axis=1)
    codes_sorted = codes[order]
    org_starts = np.flatnonzero(np.diff(codes_sorted, prepend=-1))
    centre = (1 + n_points) / 2
    count, mean, var = _segment_stats(xs, org_starts, centre)
    headcount = np.diff(np.append(org_starts, len(codes_sorted))).astype(float)

    big_n = _invited_counts(invited, orgs, headcount)
    big_n2 = np.repeat(big_n[:, None], n_scale, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpc = np.where(np.isnan(big_n2), 1.0,
                       np.where(big_n2 > 1, np.sqrt(np.maximum(big_n2 - count, 0) / (big_n2 - 1)), 0.0))
        sd = np.sqrt(var)
        # t quantiles for the few distinct group sizes only (ppf is slow per element)
        sizes, inverse = np.unique(count, return_inverse=True)
        tcrit = _dist.t_ppf(0.5 + level / 2, np.maximum(sizes - 1, 1))[inverse].reshape(count.shape)
        tcrit = np.where(count > 1, tcrit, np.nan)
        half = tcrit * sd / np.sqrt(count) * fpc

    # agreement: rwg(j) from items where given, else single-item rwg of the scale score
    rwg_val = _rwg_from_variance(var, nullvar)
    rwg_n = count.copy()
    rwg_items = np.ones(n_scale, dtype=int)
    basis = np.array(["scale score"] * n_scale, dtype=object)
    if items:
        item_sorted = np.take(item_arr.T, order, axis=1)
        spans, first = [], 0
        for scale in scales:  # a loop over scales (about 11), never over organisations
            if scale not in items:
                continue
            block = slice(first, first + len(items[scale]))
            # listwise within the scale, as multilevel::rwg.j: blank rows with any item missing
            incomplete = np.isnan(item_sorted[block]).any(axis=0)
            item_sorted[block, incomplete] = np.nan
            spans.append((scale, first, len(items[scale])))
            first += len(items[scale])
        item_count, _, item_var = _segment_stats(item_sorted, org_starts, centre)
        for scale, first, n_items in spans:
            j = scales.index(scale)
            mean_var = item_var[:, first:first + n_items].mean(axis=1)
            rwg_val[:, j] = _rwg_from_variance(mean_var, nullvar, n_items)
            rwg_n[:, j] = item_count[:, first]
            rwg_items[j] = n_items
            basis[j] = "items"

    index = pd.MultiIndex(
        levels=[orgs, pd.Index(scales, name="scale")],
        codes=[np.repeat(np.arange(n_org), n_scale), np.tile(np.arange(n_scale), n_org)],
        names=[organisation, "scale"],
        verify_integrity=False,
    )
    table = pd.DataFrame(
        {
            "n": pd.array(count.ravel().astype(np.int64), dtype="Int64"),
            "mean": mean.ravel(),
            "sd": sd.ravel(),
            "ci_lower": (mean - half).ravel(),
            "ci_upper": (mean + half).ravel(),
            "invited": pd.array(big_n2.ravel(), dtype="Float64").astype("Int64"),
            "fpc": fpc.ravel(),
            "rwg_j": rwg_val.ravel(),
            "rwg_basis": np.tile(basis, n_org),
            "rwg_items": np.tile(rwg_items, n_org),
            "rwg_n": pd.array(rwg_n.ravel().astype(np.int64), dtype="Int64"),
        },
        index=index,
    )
    no_flags = np.zeros(len(table), dtype=bool)
    table = _apply_suppression(
        # fpc too: with the invited count shown, sqrt((N - n) / (N - 1)) gives n back
        table, count.ravel(), min_n, "n", ["mean", "sd", "ci_lower", "ci_upper", "fpc", "rwg_j", "rwg_n"], no_flags,
        None, None, None,
    )

    # reliability across organisations, one vectorised ANOVA per scale
    reliability = _reliability_table(_icc_from_group_stats(count, mean, var), pd.Index(scales, name="scale"))

    by_role = _role_breakdown(xs, key_sorted, rnames, orgs, scales, min_n, table["suppressed"].to_numpy(), centre)
    return OrganisationResults(
        table=table, private_reliability=reliability, by_role=by_role, min_n=int(min_n), level=float(level),
        n_points=int(n_points), null_variance=nullvar,
    )


def _role_breakdown(xs, key_sorted, rnames, orgs, scales, min_n, total_hidden, centre) -> pd.DataFrame:
    """n and mean per organisation x role x scale, suppressed against the organisation rows.

    ``xs`` are the scale scores sorted by ``key_sorted`` = organisation code * number of
    roles + role code. ``total_hidden`` is the organisation table's suppressed flag in
    (organisation, scale) row order, i.e. position ``org * n_scales + scale``.
    """
    index_names = [orgs.name, "role", "scale"]
    if rnames is None:
        empty = pd.MultiIndex.from_arrays([[], [], []], names=index_names)
        return pd.DataFrame(
            {"n": pd.array([], dtype="Int64"), "mean": np.array([], dtype=float), "sd": np.array([], dtype=float),
             "suppressed": np.array([], dtype=bool), "reason": np.array([], dtype=object)},
            index=empty,
        )
    n_role, n_scale = len(rnames), len(scales)
    starts = np.flatnonzero(np.diff(key_sorted, prepend=-1))
    count, mean, var = _segment_stats(xs, starts, centre)
    count, mean, sd = count.ravel(), mean.ravel(), np.sqrt(var.ravel())
    org_i, role_i = np.divmod(key_sorted[starts], n_role)
    org_rows = np.repeat(org_i, n_scale)
    role_rows = np.repeat(role_i, n_scale)
    scale_rows = np.tile(np.arange(n_scale), len(org_i))
    # a role group nobody in which scored the scale has nothing to show or to protect
    keep = count > 0
    index = pd.MultiIndex(
        levels=[orgs, pd.Index(rnames, name="role"), pd.Index(scales, name="scale")],
        codes=[org_rows[keep], role_rows[keep], scale_rows[keep]],
        names=index_names,
        verify_integrity=False,
    )
    long = pd.DataFrame({"n": pd.array(count[keep].astype(np.int64), dtype="Int64"), "mean": mean[keep],
                         "sd": sd[keep]}, index=index)
    breakdown = (org_rows * n_scale + scale_rows)[keep]  # the organisation row each cell adds up to
    return _apply_suppression(
        long, count[keep], min_n, "n", ["mean", "sd"], np.zeros(len(long), dtype=bool), None, breakdown, total_hidden
    )
