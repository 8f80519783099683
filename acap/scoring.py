"""Validate and score a responses table against an item bank.

A responses table has one row per respondent: ``respondent_id``, optionally ``bank_version``,
the background questions (``organisation``, ``role``, ``years_in_role``) and one column per
item ID. Scoring validates the whole table first and refuses bad input with one
:class:`~acap.errors.AcapInputError` naming the row and column; nothing is scored half-way.

Scoring rules (see ``docs/scoring.md``):

* "Don't know / not applicable" (the bank's code, 8, or text such as ``DK``) is kept as a
  don't-know and scored as missing; a blank cell is a skipped item.
* Reverse-keyed items are recoded ``points + 1 - x``.
* A scale score is the mean of its answered items when at least ``min_share`` (default 2/3)
  of them are answered, else missing. Scores are reported on 1-7 and on 0-100.
* Potential ACAP is the mean of recognising value, acquisition and assimilation; realised
  ACAP the mean of transformation and exploitation (each needs ``min_share`` of its scales);
  their ratio realised / potential is Zahra & George's efficiency factor.
* For each knowledge source, gap = gathered - used (both answered).

Examples
--------
>>> import pandas as pd
>>> from acap.items import load_bank
>>> from acap.scoring import score
>>> bank = load_bank()
>>> df = pd.DataFrame({"respondent_id": ["r1", "r2"], "organisation": ["Org A", "Org A"],
...                    "role": ["analyst", "finance"], "AQ01": [7, 5], "AQ02": [6, "DK"],
...                    "AQ03": [5, 4], "AQ04": [None, 4], "AQ05": [7, 3]})
>>> result = score(df, bank)
>>> float(result.scales.loc["r1", "acquisition"])
6.25
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.items import Bank, load_bank
from acap.readers import Table, clean_text, read_table, table_from_frame

#: Columns a responses table may carry besides background questions and items.
META_COLUMNS = ("respondent_id", "bank_version", "submitted_at", "started_at", "consent")
#: Text answers read as "don't know / not applicable" (case-insensitive).
DONT_KNOW_TEXT = frozenset({"dk", "don't know", "dont know", "don’t know", "n/a", "not applicable",
                            "don't know / not applicable"})


@dataclass(frozen=True)
class Responses:
    """A validated responses table.

    Attributes
    ----------
    background : DataFrame
        Indexed by respondent_id: organisation, role, role_group, years_in_role.
    codes : DataFrame
        Respondent x item (every bank item, in bank order): the answer 1..points as float,
        NaN where skipped or don't know. Not yet reverse-keyed.
    dont_know : DataFrame
        Respondent x item, True where the answer was "don't know / not applicable".
    bank_version : str
    source : str
    """

    background: pd.DataFrame
    codes: pd.DataFrame
    dont_know: pd.DataFrame
    bank_version: str
    source: str


@dataclass(frozen=True)
class ScoreResult:
    """Scored responses; every table is indexed by respondent_id.

    Attributes
    ----------
    background : DataFrame
        organisation, role, role_group, years_in_role.
    items : DataFrame
        Item scores after reverse keying, NaN where missing or don't know.
    dont_know : DataFrame
        True where the answer was don't know / not applicable.
    scales : DataFrame
        Scale scores on 1-7 (respondent x scale), NaN below the answered share.
    scales_100 : DataFrame
        The same on 0-100: ``(score - 1) / (points - 1) * 100``.
    composites : DataFrame
        potential, realised (1-7) and ratio (realised / potential).
    gathered, used, gap : DataFrame
        Knowledge sources (respondent x source): how much gathered, how much used, and the gap.
    bank_version : str
    min_share : float
    """

    background: pd.DataFrame
    items: pd.DataFrame
    dont_know: pd.DataFrame
    scales: pd.DataFrame
    scales_100: pd.DataFrame
    composites: pd.DataFrame
    gathered: pd.DataFrame
    used: pd.DataFrame
    gap: pd.DataFrame
    bank_version: str
    min_share: float

    def table(self) -> pd.DataFrame:
        """One wide respondent table: background, scales (1-7 and 0-100), composites, gaps."""
        return pd.concat(
            [self.background, self.scales, self.scales_100.add_suffix("_100"), self.composites,
             self.gap.add_prefix("gap_")], axis=1)


# ---- validation ------------------------------------------------------------------------

class _Problems:
    """Collects problems; the first one found (in check order, then row) is the one reported."""

    def __init__(self, table: Table):
        self.table = table
        self.first: str | None = None
        self.count = 0

    def add(self, message: str, positions=(), column: str | None = None):
        positions = list(positions)
        n = max(len(positions), 1)
        if self.first is None:
            where = []
            if positions:
                where.append(self.table.row_label(int(positions[0])))
            if column is not None:
                where.append(f"column {column}")
            self.first = (", ".join(where) + ": " if where else "") + message
        self.count += n

    def raise_if_any(self):
        if self.first is not None:
            more = self.count - 1
            tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
            raise AcapInputError(self.first + tail, where=self.table.source)


def _version_matches(values: pd.Series, version: str) -> np.ndarray:
    text = clean_text(values)
    ok = (text == version).fillna(True).to_numpy(dtype=bool)
    try:
        target = float(version)
    except ValueError:
        return ok
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return ok | np.isclose(num, target)


def _parse_item(series: pd.Series, points: int, dk_code: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (value, dont_know, invalid) arrays for one item column."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = series.to_numpy(dtype=float, na_value=np.nan)
        dk = num == dk_code
        present = ~np.isnan(num)
    else:
        text = clean_text(series)
        present = text.notna().to_numpy()
        dk_text = text.str.lower().isin(DONT_KNOW_TEXT).fillna(False).to_numpy(dtype=bool)
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        dk = dk_text | (num == dk_code)
    valid = (num >= 1) & (num <= points) & (num == np.round(num))
    invalid = present & ~dk & ~valid
    value = np.where(valid & ~dk, num, np.nan)
    return value, dk, invalid


def validate_responses(data: pd.DataFrame | Table | str, bank: Bank | None = None) -> Responses:
    """Validate a responses table against a bank; refuse it whole on the first problem.

    Parameters
    ----------
    data : DataFrame, Table or path
        One row per respondent (see module docs). A path is read with
        :func:`acap.readers.read_table` (CSV, XLSX or SAV).
    bank : Bank, optional
        The item bank; the default bank when omitted.

    Returns
    -------
    Responses

    Raises
    ------
    AcapInputError
        One message naming file, row and column: an unknown item ID, a value off the scale, a
        wrong bank version, a duplicate respondent ID, a missing organisation, an unknown role
        or an impossible years-in-role. The count of further problems is appended.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"respondent_id": ["a"], "organisation": ["X"], "role": ["analyst"], "AQ01": [9]})
    >>> validate_responses(bad)
    Traceback (most recent call last):
    ...
    acap.errors.AcapInputError: table: row 0, column AQ01: value 9 is not on the 1-7 scale (answers are 1-7, 8 for don't know, or blank)
    """
    bank = bank or load_bank()
    table = data if isinstance(data, Table) else (
        table_from_frame(data) if isinstance(data, pd.DataFrame) else read_table(data))
    frame = table.data
    problems = _Problems(table)
    items = bank.items
    background_ids = [b.id for b in bank.background]
    allowed = set(items) | set(background_ids) | set(META_COLUMNS)

    # Structure first: a wrong column makes every later message misleading.
    for col in frame.columns:
        if col not in allowed:
            hint = " (item IDs are case-sensitive)" if col.upper() in items else ""
            problems.add(f"unknown item ID {col!r}: not in bank {bank.bank} {bank.version}{hint}", column=col)
    for b in bank.background:
        if b.required and b.id not in frame.columns:
            problems.add(f"the required column {b.id!r} is missing")
    if len(frame) == 0:
        problems.add("the table has no respondents")
    problems.raise_if_any()

    n = len(frame)
    if "respondent_id" in frame.columns:
        rid = clean_text(frame["respondent_id"])
        blank = np.flatnonzero(rid.isna().to_numpy())
        if blank.size:
            problems.add("respondent ID is blank", blank, "respondent_id")
        codes, uniques = pd.factorize(rid, use_na_sentinel=True)
        if len(uniques) < n - blank.size:  # cheaper than duplicated() when, as usual, there are none
            dup = rid.duplicated(keep=False) & rid.notna()
            pos = np.flatnonzero(dup.to_numpy())
            first_id = rid.iloc[pos[0]]
            same = np.flatnonzero((rid == first_id).fillna(False).to_numpy())
            others = ", ".join(table.row_label(int(p)) for p in same[1:3])
            problems.add(f"duplicate respondent ID {first_id!r} (also at {others})", pos, "respondent_id")
    else:
        rid = pd.Series([f"R{i + 1:05d}" for i in range(n)], dtype="string")

    if "bank_version" in frame.columns:
        bad = np.flatnonzero(~_version_matches(frame["bank_version"], bank.version))
        if bad.size:
            got = frame["bank_version"].iloc[bad[0]]
            problems.add(f"answers bank version {got!r}, but the bank given is version {bank.version!r}",
                         bad, "bank_version")

    org = clean_text(frame["organisation"])
    blank = np.flatnonzero(org.isna().to_numpy())
    if blank.size:
        problems.add("organisation is missing", blank, "organisation")

    role_text = clean_text(frame["role"])
    by_label = {r.label.lower(): r.id for r in bank.roles} | {r.id.lower(): r.id for r in bank.roles}
    role = role_text.str.lower().map(by_label)
    bad = np.flatnonzero((role.isna() & role_text.notna()).to_numpy())
    if bad.size:
        problems.add(f"unknown role {role_text.iloc[bad[0]]!r} (roles are listed in the bank)", bad, "role")
    blank = np.flatnonzero(role_text.isna().to_numpy())
    if blank.size and any(b.id == "role" and b.required for b in bank.background):
        problems.add("role is missing", blank, "role")

    years = pd.Series(np.nan, index=frame.index)
    spec = next((b for b in bank.background if b.id == "years_in_role"), None)
    if spec is not None and "years_in_role" in frame.columns:
        raw = frame["years_in_role"]
        years = pd.to_numeric(clean_text(raw) if not pd.api.types.is_numeric_dtype(raw) else raw, errors="coerce")
        lo, hi = spec.min if spec.min is not None else -np.inf, spec.max if spec.max is not None else np.inf
        bad = np.flatnonzero((raw.notna() & (years.isna() | (years < lo) | (years > hi))).to_numpy())
        if bad.size:
            problems.add(f"years in role {raw.iloc[bad[0]]!r} is not a number from {lo:g} to {hi:g}",
                         bad, "years_in_role")

    # Column-major: each item fills a contiguous column, and pandas takes the arrays as they are.
    values = np.full((n, len(items)), np.nan, order="F")
    dk = np.zeros((n, len(items)), dtype=bool, order="F")
    for j, (iid, meta) in enumerate(items.items()):
        if iid not in frame.columns:
            continue  # an item not asked (e.g. the optional conduits block) is all skipped
        rs = bank.response_scales[meta["response_scale"]]
        v, d, invalid = _parse_item(frame[iid], rs.points, rs.dont_know.code)
        if invalid.any():
            pos = np.flatnonzero(invalid)
            problems.add(f"value {_show(frame[iid].iloc[pos[0]])} is not on the 1-{rs.points} scale "
                         f"(answers are 1-{rs.points}, {rs.dont_know.code} for don't know, or blank)",
                         pos, iid)
        values[:, j] = v
        dk[:, j] = d
    problems.raise_if_any()

    index = pd.Index(rid.astype(str).to_numpy(), name="respondent_id")
    background = pd.DataFrame({
        "organisation": org.to_numpy(),
        "role": role.to_numpy(dtype=object),
        "role_group": role.map(bank.role_groups).to_numpy(dtype=object),
        "years_in_role": np.asarray(years, dtype=float),
    }, index=index)
    cols = pd.Index(list(items), name="item")
    return Responses(background=background, codes=pd.DataFrame(values, index=index, columns=cols, copy=False),
                     dont_know=pd.DataFrame(dk, index=index, columns=cols, copy=False), bank_version=bank.version,
                     source=table.source)


def _show(value) -> str:
    """A cell as a person typed it: numbers bare, other text quoted."""
    if isinstance(value, (int, float, np.number)) and float(value) == round(float(value)):
        return str(int(value))
    try:
        float(value)
        return str(value)
    except (TypeError, ValueError):
        return repr(str(value))


# ---- scoring ---------------------------------------------------------------------------

def _mean_with_share(block: np.ndarray, min_share: float) -> np.ndarray:
    """Row means over answered cells where the answered share reaches ``min_share``."""
    answered = (~np.isnan(block)).sum(axis=1)
    need = math.ceil(min_share * block.shape[1] - 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(block, axis=1) / answered
    return np.where(answered >= max(need, 1), mean, np.nan)


def score(data: pd.DataFrame | Table | Responses | str, bank: Bank | None = None,
          min_share: float = 2 / 3) -> ScoreResult:
    """Validate and score a responses table.

    Parameters
    ----------
    data : DataFrame, Table, Responses or path
        The responses (see :func:`validate_responses`).
    bank : Bank, optional
        The item bank; default bank when omitted.
    min_share : float, default 2/3
        Share of a scale's items (and of a composite's scales) that must be answered for the
        score to be computed.

    Returns
    -------
    ScoreResult

    Raises
    ------
    AcapInputError
        For any problem in the table (see :func:`validate_responses`) or a ``min_share``
        outside (0, 1].

    References
    ----------
    Zahra SA, George G. Absorptive capacity: a review, reconceptualization, and extension.
    Acad Manage Rev 2002;27:185-203 (potential vs realised ACAP, efficiency factor).
    """
    if not 0 < min_share <= 1:
        raise AcapInputError(f"min_share must be in (0, 1], got {min_share}")
    bank = bank or load_bank()
    responses = data if isinstance(data, Responses) else validate_responses(data, bank)
    if responses.bank_version != bank.version:
        raise AcapInputError(f"responses were validated against bank version {responses.bank_version!r}, "
                             f"not {bank.version!r}")
    codes = responses.codes
    index = codes.index
    item_meta = bank.items
    arr = codes.to_numpy(dtype=float, copy=True)
    col = {iid: j for j, iid in enumerate(codes.columns)}
    for iid in bank.reverse_items:
        pts = bank.response_scales[item_meta[iid]["response_scale"]].points
        arr[:, col[iid]] = pts + 1 - arr[:, col[iid]]
    items = pd.DataFrame(arr, index=index, columns=codes.columns, copy=False)

    scale_scores = {}
    scale_100 = {}
    for s in bank.scales:
        cols = [col[i.id] for i in s.items]
        m = _mean_with_share(arr[:, cols], min_share)
        pts = bank.response_scales[s.response_scale].points
        scale_scores[s.id] = m
        scale_100[s.id] = (m - 1) / (pts - 1) * 100
    scales = pd.DataFrame(scale_scores, index=index).rename_axis(columns="scale")
    scales_100 = pd.DataFrame(scale_100, index=index).rename_axis(columns="scale")

    potential = _mean_with_share(scales[bank.potential_scales].to_numpy(), min_share)
    realised = _mean_with_share(scales[bank.realised_scales].to_numpy(), min_share)
    composites = pd.DataFrame({"potential": potential, "realised": realised,
                               "ratio": realised / potential}, index=index)

    gathered, used = {}, {}
    for src in (bank.sources.items if bank.sources else []):
        gathered[src.id] = arr[:, col[src.gathered]]
        used[src.id] = arr[:, col[src.used]]
    gathered = pd.DataFrame(gathered, index=index).rename_axis(columns="source")
    used = pd.DataFrame(used, index=index).rename_axis(columns="source")
    return ScoreResult(background=responses.background, items=items, dont_know=responses.dont_know,
                       scales=scales, scales_100=scales_100, composites=composites,
                       gathered=gathered, used=used, gap=gathered - used,
                       bank_version=bank.version, min_share=min_share)
