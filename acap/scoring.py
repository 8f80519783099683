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
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from acap.errors import PROBLEM_COLUMNS, AcapInputError
from acap.exports import DONT_KNOW, DONT_KNOW_TEXT, META_COLUMNS  # noqa: F401  (META_COLUMNS re-exported)
from acap.items import Bank, load_bank
from acap.readers import MISSING_MARKERS, Table, clean_text, factorize, normalise, read_table, table_from_frame


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
    items_asked : tuple of str, optional
        The bank's items the table holds a column for (None: not recorded, all assumed).
    warnings : tuple of str
        Ways the table loses information (items not asked, scales on fewer items, blank rows,
        missing markers).
    notes : tuple of str
        How the table was read (delimiter, sheet, columns set aside, organisation names merged).
    """

    background: pd.DataFrame
    codes: pd.DataFrame
    dont_know: pd.DataFrame
    bank_version: str
    source: str
    items_asked: tuple | None = None
    warnings: tuple = ()
    notes: tuple = ()


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
    items_asked, warnings, notes
        As in :class:`Responses`.
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
    items_asked: tuple | None = None
    warnings: tuple = ()
    notes: tuple = ()

    def table(self) -> pd.DataFrame:
        """One wide respondent table: background, scales (1-7 and 0-100), composites, gaps."""
        return pd.concat(
            [self.background, self.scales, self.scales_100.add_suffix("_100"), self.composites,
             self.gap.add_prefix("gap_")], axis=1)


# ---- validation ------------------------------------------------------------------------

class _Problems:
    """Collects every problem; the first one found (in check order, then row) leads the message."""

    def __init__(self, table: Table):
        self.table = table
        self.parts: list[dict] = []
        self.first: str | None = None
        self.count = 0

    def add(self, kind: str, message: str | np.ndarray, positions=(), column: str | None = None,
            values=None):
        """Record a problem of ``kind`` at ``positions`` (rows of the table) of ``column``.

        ``message`` is one text for every row or an array of texts, one per position;
        ``values`` the cells as written (taken from the column when omitted).
        """
        positions = np.asarray(positions, dtype=np.int64)
        n = max(len(positions), 1)
        if values is None and column is not None and len(positions) and column in self.table.data.columns:
            values = self.table.data[column].iloc[positions].to_numpy()
        if self.first is None:
            where = []
            if len(positions):
                where.append(self.table.row_label(int(positions[0])))
            if column is not None:
                where.append(f"column {column}")
            first = message if isinstance(message, str) else str(message[0])
            self.first = (", ".join(where) + ": " if where else "") + first
        self.parts.append(dict(kind=kind, message=message, positions=positions, column=column, values=values))
        self.count += n

    def frame(self) -> pd.DataFrame:
        """Every problem, one row each: row, column, value, problem, kind."""
        chunks = []
        for p in self.parts:
            pos = p["positions"]
            n = max(len(pos), 1)
            rows = self.table.file_rows(pos) if len(pos) else np.array([None], dtype=object)
            values = p["values"]
            values = (np.array([_show(v) if v is not None and not pd.isna(v) else "" for v in values], dtype=object)
                      if values is not None and len(pos) else np.full(n, "", dtype=object))
            msg = p["message"]
            msgs = np.full(n, msg, dtype=object) if isinstance(msg, str) else np.asarray(msg, dtype=object)
            chunks.append(pd.DataFrame({"row": pd.array(rows, dtype=object), "column": p["column"],
                                        "value": values, "problem": msgs, "kind": p["kind"]}))
        if not chunks:
            return pd.DataFrame(columns=list(PROBLEM_COLUMNS))
        return pd.concat(chunks, ignore_index=True)

    def error(self) -> AcapInputError | None:
        if self.first is None:
            return None
        more = self.count - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        return AcapInputError(self.first + tail, where=self.table.source, problems=self.frame())


def _version_matches(values: pd.Series, version: str, decimal_comma: bool = False) -> np.ndarray:
    codes, uniques = factorize(values)  # one bank version on every row: decide each value once
    if len(uniques) < len(values):
        ok = _version_matches(pd.Series(uniques, dtype=object), version, decimal_comma)
        return np.append(ok, True)[codes]  # code -1 (blank) matches
    text = clean_text(values, markers=True)
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    ok = (text == version).fillna(True).to_numpy(dtype=bool)
    try:
        target = float(version)
    except ValueError:
        return ok
    num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    return ok | np.isclose(num, target)


@dataclass
class _Counts:
    """Cells read in a way a person should hear about (summed over item columns)."""

    markers: dict
    user_missing_dk: int = 0
    user_missing_skip: int = 0
    labels: int = 0


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _parse_item(series: pd.Series, points: int, dk_code: int, answers: dict | None = None,
                decimal_comma: bool = False, user_missing=(), recode: dict | None = None,
                counts: _Counts | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (value, dont_know, invalid) arrays for one item column.

    Text cells are classified once per distinct value: blanks and missing markers are skips,
    answer labels (``answers``: normalised text -> code, -1 for don't know) become codes,
    numbers are checked against the scale. SPSS user-missing codes are read as don't know when
    they are the bank's don't-know code or labelled as one, else as skips.
    """
    answers = answers if answers is not None else answer_labels_default()
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        num = series.to_numpy(dtype=float, na_value=np.nan)
        declared = np.zeros(len(num), dtype=bool)
        for lo, hi in user_missing:  # SPSS user-missing codes, before any recoding
            declared |= (num >= lo) & (num <= hi)
        if recode:
            uniq = np.unique(num[~np.isnan(num)])
            if any(u in recode for u in uniq):
                num = num.copy()
                for u in uniq:
                    if u in recode:
                        num[num == u] = recode[u]
        dk = (num == dk_code) | (num == DONT_KNOW)
        if declared.any():
            if counts is not None:
                counts.user_missing_dk += int((declared & dk).sum())
                counts.user_missing_skip += int((declared & ~dk).sum())
            num = np.where(declared & ~dk, np.nan, num)
        present = ~np.isnan(num)
    else:
        codes, uniques = factorize(series)
        m = len(uniques)
        uval = np.full(m + 1, np.nan)
        udk = np.zeros(m + 1, dtype=bool)
        ubad = np.zeros(m + 1, dtype=bool)
        umark = [None] * (m + 1)
        ulab = np.zeros(m + 1, dtype=bool)
        for i, u in enumerate(uniques):
            s = str(u).strip()
            low = s.lower()
            if not s:
                continue
            if low in MISSING_MARKERS:
                umark[i] = s
                continue
            key = normalise(s)
            if key in answers:
                code = answers[key]
                if isinstance(code, float) and np.isnan(code):
                    umark[i] = s
                elif code == DONT_KNOW:
                    udk[i] = True
                    ulab[i] = not _NUMBER.match(s)
                else:
                    uval[i] = code
                    ulab[i] = True
                continue
            if _NUMBER.match(s) and ("," not in s or decimal_comma):
                v = float(s.replace(",", "."))
                if v == dk_code:
                    udk[i] = True
                elif 1 <= v <= points and v == round(v):
                    uval[i] = v
                else:
                    ubad[i] = True
            else:
                ubad[i] = True
        value = uval[codes]  # code -1 picks the last slot: missing
        dk = udk[codes]
        invalid = ubad[codes]
        if counts is not None:
            marked = [i for i, mk in enumerate(umark) if mk is not None]
            if marked:
                hist = np.bincount(codes[codes >= 0], minlength=m)
                for i in marked:
                    counts.markers[umark[i].upper()] = counts.markers.get(umark[i].upper(), 0) + int(hist[i])
            if ulab.any():
                counts.labels += int(ulab[codes].sum())
        return value, dk, invalid
    valid = (num >= 1) & (num <= points) & (num == np.round(num))
    invalid = present & ~dk & ~valid
    value = np.where(valid & ~dk, num, np.nan)
    return value, dk, invalid


def answer_labels_default() -> dict:
    """Answer texts read without a bank's labels: the don't-know words only."""
    return {t: DONT_KNOW for t in DONT_KNOW_TEXT}


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check_responses` found.

    Attributes
    ----------
    problems : DataFrame
        Every problem: row, column, value, problem, kind (empty when the table is fine).
    warnings : list of str
        What was read in a way that changes results (items not asked, scales on fewer items,
        blank rows, missing markers); also in the run's ``manifest.json``.
    notes : list of str
        How the export was read (delimiter, sheet, columns set aside, names merged).
    responses : Responses or None
        The validated responses when there is no problem.
    columns : DataFrame or None
        How each column of the export was recognised (column, target, how).
    """

    problems: pd.DataFrame
    warnings: list
    notes: list
    responses: Responses | None
    columns: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return self.responses is not None


def _load(source, bank: Bank, sheet, mapping) -> tuple[Table, object]:
    from acap.exports import Mapping, holds_items, read_mapping

    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping, bank)
    if isinstance(source, Table):
        return source, mapping
    if isinstance(source, pd.DataFrame):
        return table_from_frame(source), mapping
    return read_table(source, sheet=sheet, prefer=lambda rows: holds_items(rows, bank)), mapping


def check_responses(source, bank: Bank | None = None, *, sheet=None, mapping=None,
                    organisations=None) -> CheckResult:
    """Validate a responses table without raising: every problem, warning and note.

    Parameters are those of :func:`validate_responses`. A file that cannot be read at all
    (missing, not UTF-8, unknown sheet) is still raised as :class:`AcapInputError`.

    Returns
    -------
    CheckResult
    """
    bank = bank or load_bank()
    table, mapping = _load(source, bank, sheet, mapping)
    return _check(table, bank, mapping, organisations)


def validate_responses(data, bank: Bank | None = None, *, sheet=None, mapping=None,
                       organisations=None) -> Responses:
    """Validate a responses table against a bank; refuse it whole, naming every problem.

    Parameters
    ----------
    data : DataFrame, Table or path
        One row per respondent (see module docs). A path is read with
        :func:`acap.readers.read_table` (CSV, XLSX or SAV); its columns are recognised as
        :mod:`acap.exports` describes (item IDs in any case, item text, Qualtrics' extra header
        rows, metadata set aside, names and e-mail addresses dropped).
    bank : Bank, optional
        The item bank; the default bank when omitted.
    sheet : str or int, optional
        Workbook sheet (default: the one holding item columns).
    mapping : Mapping or path, optional
        Mapping file: columns to item IDs, answer texts to codes
        (:func:`acap.exports.read_mapping`).
    organisations : DataFrame or path, optional
        The list of record (:func:`acap.readers.read_organisations`): responses from an
        organisation not on it are refused; other spellings of a listed name (case, spaces,
        punctuation, or a listed alias) are read as the listed name.

    Returns
    -------
    Responses

    Raises
    ------
    AcapInputError
        Naming file, row and column of the first problem, with the count of the others; its
        ``problems`` attribute lists every one (row, column, value, problem, kind): an unknown
        column, a value off the scale, a wrong bank version, a duplicate respondent ID, a
        missing or unlisted organisation, an unknown role or an impossible years-in-role.

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
    table, mapping = _load(data, bank, sheet, mapping)
    result = _check(table, bank, mapping, organisations, raise_first=True)
    return result.responses


def _check(table: Table, bank: Bank, mapping, organisations, raise_first: bool = False) -> CheckResult:
    from acap.exports import recognise

    rec = recognise(table, bank, mapping)
    table = rec.table
    frame = table.data
    problems = _Problems(table)
    notes = list(rec.notes)
    warnings: list[str] = []
    items = bank.items

    # Structure first: a wrong column makes every later message misleading.
    for col, message in rec.problems:
        problems.add("column not recognised", message, column=col)
    for b in bank.background:
        if b.required and b.id not in frame.columns:
            problems.add("required column missing", f"the required column {b.id!r} is missing")
    if len(frame) == 0:
        problems.add("no respondents", "the table has no respondents")
    if len(frame) == 0 or any(b.required and b.id not in frame.columns for b in bank.background):
        return _finish(problems, warnings, notes, None, rec, raise_first)

    n = len(frame)
    if "respondent_id" in frame.columns:
        rid = clean_text(frame["respondent_id"])
        blank = np.flatnonzero(rid.isna().to_numpy())
        if blank.size:
            problems.add("respondent ID blank", "respondent ID is blank", blank, "respondent_id")
        codes, uniques = pd.factorize(rid, use_na_sentinel=True)
        if len(uniques) < n - blank.size:  # cheaper than duplicated() when, as usual, there are none
            dup = np.flatnonzero((rid.duplicated(keep=False) & rid.notna()).to_numpy())
            where_of: dict = {}
            for p in dup:
                where_of.setdefault(codes[p], []).append(int(p))
            msgs = []
            for p in dup:
                others = [table.row_label(q) for q in where_of[codes[p]] if q != p][:2]
                msgs.append(f"duplicate respondent ID {rid.iloc[p]!r} (also at {', '.join(others)})")
            problems.add("duplicate respondent ID", np.array(msgs, dtype=object), dup, "respondent_id")
    else:
        rid = pd.Series([f"R{i + 1:05d}" for i in range(n)], dtype="string")

    if "bank_version" in frame.columns:
        bad = np.flatnonzero(~_version_matches(frame["bank_version"], bank.version, table.decimal_comma))
        if bad.size:
            got = frame["bank_version"].iloc[bad].to_numpy()
            problems.add("wrong bank version", np.array(
                [f"answers bank version {v!r}, but the bank given is version {bank.version!r}" for v in got],
                dtype=object), bad, "bank_version")

    org = clean_text(frame["organisation"], markers=True)
    blank = np.flatnonzero(org.isna().to_numpy())
    if blank.size:
        problems.add("organisation missing", "organisation is missing", blank, "organisation")
    org, org_notes, unlisted = _reconcile_organisations(org, organisations)
    notes.extend(org_notes)
    if unlisted is not None and unlisted[0].size:
        pos, source = unlisted
        problems.add("organisation not listed", np.array(
            [f"organisation {v!r} is not in the organisations file {source} (add it, or add this spelling as "
             "an alias)" for v in org.iloc[pos]], dtype=object), pos, "organisation")

    role_text = clean_text(frame["role"], markers=True)
    from acap.readers import normalise as _norm

    by_label = {_norm(r.label): r.id for r in bank.roles} | {_norm(r.id): r.id for r in bank.roles}
    rcodes, runiques = pd.factorize(role_text, use_na_sentinel=True)
    rmapped = np.array([by_label.get(_norm(u)) for u in runiques] + [None], dtype=object)
    role = pd.Series(rmapped[rcodes], index=role_text.index, dtype=object)
    bad = np.flatnonzero((role.isna() & role_text.notna()).to_numpy())
    if bad.size:
        problems.add("unknown role", np.array([f"unknown role {v!r} (roles are listed in the bank)"
                                               for v in role_text.iloc[bad]], dtype=object), bad, "role")
    blank = np.flatnonzero(role_text.isna().to_numpy())
    if blank.size and any(b.id == "role" and b.required for b in bank.background):
        problems.add("role missing", "role is missing", blank, "role")

    years = pd.Series(np.nan, index=frame.index)
    spec = next((b for b in bank.background if b.id == "years_in_role"), None)
    if spec is not None and "years_in_role" in frame.columns:
        raw = frame["years_in_role"]
        if pd.api.types.is_numeric_dtype(raw):
            years, present = raw.astype(float), raw.notna()
        else:
            text = clean_text(raw, markers=True)
            present = text.notna()
            if table.decimal_comma:
                text = text.str.replace(",", ".", regex=False)
            years = pd.to_numeric(text, errors="coerce")
        lo, hi = spec.min if spec.min is not None else -np.inf, spec.max if spec.max is not None else np.inf
        bad = np.flatnonzero((present & (years.isna() | (years < lo) | (years > hi))).to_numpy())
        if bad.size:
            problems.add("years in role", np.array([f"years in role {_show(v)} is not a number from {lo:g} to {hi:g}"
                                                    for v in raw.iloc[bad]], dtype=object), bad, "years_in_role")

    # Column-major: each item fills a contiguous column, and pandas takes the arrays as they are.
    values = np.full((n, len(items)), np.nan, order="F")
    dk = np.zeros((n, len(items)), dtype=bool, order="F")
    counts = _Counts(markers={})
    for j, (iid, meta) in enumerate(items.items()):
        if iid not in frame.columns:
            continue  # an item not asked (e.g. the optional conduits block) is all skipped
        rs = bank.response_scales[meta["response_scale"]]
        v, d, invalid = _parse_item(frame[iid], rs.points, rs.dont_know.code, rec.answers.get(iid),
                                    table.decimal_comma, table.user_missing.get(iid, ()), rec.recode.get(iid),
                                    counts)
        if invalid.any():
            pos = np.flatnonzero(invalid)
            cells = frame[iid].iloc[pos]
            shown = {u: _show(u) for u in pd.unique(cells)}
            msgs = np.array([f"value {shown[c]} is not on the 1-{rs.points} scale (answers are 1-{rs.points}, "
                             f"{rs.dont_know.code} for don't know, the answer labels, or blank)" for c in cells],
                            dtype=object)
            problems.add("value not on the answer scale", msgs, pos, iid)
        values[:, j] = v
        dk[:, j] = d
    asked = tuple(i for i in items if i in frame.columns)
    warnings.extend(_degradation_warnings(bank, asked, table, counts))
    if counts.labels:
        notes.append(f"{counts.labels:,} answers given as answer labels (such as 'Slightly agree') read as codes")
    if problems.first is not None:
        return _finish(problems, warnings, notes, None, rec, raise_first)

    index = pd.Index(rid.astype(str).to_numpy(), name="respondent_id")
    background = pd.DataFrame({
        "organisation": org.to_numpy(),
        "role": role.to_numpy(dtype=object),
        "role_group": role.map(bank.role_groups).to_numpy(dtype=object),
        "years_in_role": np.asarray(years, dtype=float),
    }, index=index)
    cols = pd.Index(list(items), name="item")
    responses = Responses(background=background, codes=pd.DataFrame(values, index=index, columns=cols, copy=False),
                          dont_know=pd.DataFrame(dk, index=index, columns=cols, copy=False),
                          bank_version=bank.version, source=table.source, items_asked=asked,
                          warnings=tuple(warnings), notes=tuple(notes))
    return _finish(problems, warnings, notes, responses, rec, raise_first)


def _finish(problems: _Problems, warnings, notes, responses, rec, raise_first) -> CheckResult:
    err = problems.error()
    if err is not None and raise_first:
        raise err
    return CheckResult(problems=problems.frame(), warnings=list(warnings), notes=list(notes),
                       responses=responses if err is None else None, columns=rec.columns)


def _degradation_warnings(bank: Bank, asked: tuple, table: Table, counts: _Counts) -> list[str]:
    """The ways this table loses information, one line each."""
    out = []
    have = set(asked)
    conduits = [c.id for c in bank.conduits.items] if bank.conduits else []
    optional_absent = bool(conduits) and bank.conduits.optional and not (have & set(conduits))
    missing = [i for i in bank.items if i not in have and not (optional_absent and i in conduits)]
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        out.append(f"{len(missing)} item{'s' if len(missing) > 1 else ''} of bank {bank.bank} {bank.version} "
                   f"not in the table: {shown}")
    for s in bank.scales:
        ids = [it.id for it in s.items]
        got = [i for i in ids if i in have]
        if not got:
            out.append(f"scale {s.id}: none of its {len(ids)} items in the table; not scored")
        elif len(got) < len(ids):
            out.append(f"scale {s.id} scored on {len(got)} of its {len(ids)} items "
                       f"({', '.join(i for i in ids if i not in have)} not in the table); rwg(j) uses {len(got)}")
    if bank.sources:
        for src in bank.sources.items:
            gone = [side for side, iid in (("gathered", src.gathered), ("used", src.used)) if iid not in have]
            if len(gone) == 1:
                out.append(f"knowledge source {src.id}: {gone[0]} not asked; no gap")
    if table.blank_rows:
        rows = ", ".join(table.blank_rows[:8]) + (" ..." if len(table.blank_rows) > 8 else "")
        out.append(f"{len(table.blank_rows)} blank row{'s' if len(table.blank_rows) > 1 else ''} skipped ({rows})")
    if counts.markers:
        total = sum(counts.markers.values())
        kinds = ", ".join(f"{k} ({v:,})" for k, v in sorted(counts.markers.items(), key=lambda kv: -kv[1]))
        out.append(f"{total:,} answer cell{'s' if total > 1 else ''} marked as missing read as skipped: {kinds}")
    if counts.user_missing_skip:
        out.append(f"{counts.user_missing_skip:,} answer cells with SPSS user-missing codes read as skipped")
    if counts.user_missing_dk:
        out.append(f"{counts.user_missing_dk:,} answer cells with SPSS user-missing codes read as don't know")
    return out


def _reconcile_organisations(org: pd.Series, organisations) -> tuple[pd.Series, list[str], tuple | None]:
    """Merge spellings of one organisation's name; with a list of record, find unlisted ones.

    Names that differ only by case, spaces or punctuation are one organisation: the listed name
    when there is a list, else the spelling most rows use. Returns the names, notes, and (when
    a list is given) the positions of rows whose organisation is not on it with the list's source.
    """
    from acap.readers import organisation_key, read_organisations

    source = None
    listed: dict[str, str] = {}
    if organisations is not None:
        if not isinstance(organisations, pd.DataFrame):
            source = str(organisations)
            organisations = read_organisations(organisations)
        else:
            source = organisations.attrs.get("source", "given")
        for name, aliases in zip(organisations.index, organisations.get("aliases", [()] * len(organisations))):
            for spelling in (name, *(aliases if isinstance(aliases, (tuple, list)) else ())):
                listed[organisation_key(spelling)] = name
    codes, uniques = pd.factorize(org, use_na_sentinel=True)
    if len(uniques) == 0:
        return org, [], (np.array([], dtype=np.int64), source) if organisations is not None else None
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    keys = [organisation_key(u) for u in uniques]
    groups: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    canon = np.empty(len(uniques) + 1, dtype=object)
    canon[-1] = None
    merged = []
    unlisted_codes = []
    for k, members in groups.items():
        if k in listed:
            name = listed[k]
        else:
            if organisations is not None:
                unlisted_codes.extend(members)
            name = uniques[max(members, key=lambda i: (counts[i], -i))]
        for i in members:
            canon[i] = name
        spellings = [uniques[i] for i in members if uniques[i] != name]
        if spellings:
            merged.append((name, [(uniques[i], int(counts[i])) for i in members if uniques[i] != name]))
    out = pd.Series(canon[codes], index=org.index, dtype=object)
    notes = []
    if merged:
        shown = "; ".join(f"{', '.join(f'{s!r} ({c} row{chr(115) if c > 1 else chr(32)}'.rstrip() + ')' for s, c in sp)}"
                          f" read as {name!r}" for name, sp in merged[:5])
        more = f"; and {len(merged) - 5} more" if len(merged) > 5 else ""
        notes.append(f"organisation names differing only in case, spaces, punctuation or as listed aliases merged: "
                     f"{shown}{more}")
    unlisted = None
    if organisations is not None:
        bad = np.isin(codes, np.asarray(unlisted_codes, dtype=np.int64)) if unlisted_codes else np.zeros(len(codes), bool)
        unlisted = (np.flatnonzero(bad), source)
    return out, notes, unlisted


def _show(value) -> str:
    """A cell as a person typed it: numbers bare, other text quoted."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
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
                       bank_version=bank.version, min_share=min_share, items_asked=responses.items_asked,
                       warnings=responses.warnings, notes=responses.notes)
