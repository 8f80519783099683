"""A researcher's own items: any numeric item table with a measurement model, no item bank.

:func:`read_items` reads a table (CSV, XLSX, SAV or a DataFrame) whose columns include the
model's items, under any column names, checks that every answer is a number in the response
range (given, or read from the data), reverse-keys the items asked for and keeps the grouping
and organisation columns named. :func:`load_model` reads the model from YAML or JSON
(``{factor: [columns]}``) or lavaan syntax (``factor =~ a + b + c``).

The result, :class:`ItemTable`, is what :func:`acap.validate.validation_report` analyses; the
bank path (:func:`acap.scoring.score`) produces the same shape.

Examples
--------
>>> import pandas as pd
>>> from acap.itemtable import read_items
>>> df = pd.DataFrame({"a": [1, 2, 5], "b": [2, "NA", 4], "g": ["x", "y", "x"]})
>>> t = read_items(df, {"f": ["a", "b"]}, reverse=["b"], group="g")
>>> t.items["b"].tolist(), t.low["a"], t.high["a"]
([4.0, nan, 2.0], 1.0, 5.0)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

__all__ = ["ItemTable", "load_model", "parse_range", "read_items"]

#: Text cells read as a missing answer in a researcher's table (case-insensitive).
MISSING_TEXT = frozenset({"na", "n/a", "nan", ".", "-", "missing", "null", "none"})


@dataclass(frozen=True)
class ItemTable:
    """Item scores ready for analysis, with what is known about each item.

    Attributes
    ----------
    items : DataFrame
        Respondent x item scores after reverse keying, NaN where missing or don't know.
    dont_know : DataFrame
        True where the answer was "don't know" (all False when the items have no such code).
    background : DataFrame
        The grouping columns kept (e.g. ``organisation``, ``role_group``, ``school``), as text.
    low, high : Series
        Lowest and highest possible answer of each item.
    reverse : tuple of str
        The items reverse-keyed (``low + high - x``).
    texts : dict
        Item wording by item (the column name when there is none).
    labels : dict
        Human labels of factors (and sources) by ID.
    described : list of str
        Items the item section describes, in order (the model's items, or the bank's answered items).
    kinds : dict
        For a described item outside the model: what it is (its bank scale or kind).
    organisation : str or None
        The background column holding organisations, or None.
    bank, bank_version, title : str
        Where the items come from (``"custom"`` for a researcher's own items).
    integer : bool
        True when every answer is a whole number (answer distributions are then tabulated).
    has_dont_know : bool
        True when a don't-know code exists.
    """

    items: pd.DataFrame
    dont_know: pd.DataFrame
    background: pd.DataFrame
    low: pd.Series
    high: pd.Series
    reverse: tuple = ()
    texts: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    described: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)
    organisation: str | None = None
    bank: str = "custom"
    bank_version: str = ""
    title: str = "Validation report"
    integer: bool = True
    has_dont_know: bool = False

    def points(self, item: str) -> int | None:
        """Number of response options of a whole-number item (None for other scores)."""
        lo, hi = self.low[item], self.high[item]
        return int(hi - lo + 1) if self.integer and float(lo).is_integer() and float(hi).is_integer() else None


def parse_range(text) -> tuple[float, float]:
    """A response range "LO,HI" or "LO-HI" (or a pair) as two numbers, low below high.

    Examples
    --------
    >>> parse_range("1,6"), parse_range("0-4"), parse_range((1, 7))
    ((1.0, 6.0), (0.0, 4.0), (1.0, 7.0))
    """
    if isinstance(text, str):
        parts = [p for p in text.replace(",", " ").replace("-", " ", 1 if not text.startswith("-") else 2).split()]
    else:
        parts = list(text)
    try:
        lo, hi = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise AcapInputError(f"a response range is two numbers LO,HI (e.g. 1,7), got {text!r}", "range") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise AcapInputError(f"the lowest answer must be below the highest, got {text!r}", "range")
    return lo, hi


def _read_source(source) -> tuple[object, str]:
    """The raw model and where it came from: a mapping, lavaan text, or a YAML/JSON/lavaan file."""
    if isinstance(source, Mapping):
        return source, "model"
    if isinstance(source, str) and ("=~" in source or "\n" in source):
        return source, "model"
    path = Path(source)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AcapInputError("no such file", where) from None
    except UnicodeDecodeError:
        raise AcapInputError("not UTF-8 text; save the model file as UTF-8", where) from None
    except OSError as exc:
        raise AcapInputError(f"cannot read the model file ({exc.strerror or exc})", where) from None
    if "=~" in text:
        return text, where
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text), where
        from acap.items import load_yaml

        return load_yaml(text), where
    except Exception as exc:  # noqa: BLE001 - any parse error is one line for the user
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise AcapInputError(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {first}",
                             where) from None


def _lavaan_factors(text: str, where: str) -> tuple[dict, list]:
    """Factors and residual covariances of lavaan model syntax, by acap.factor's parser."""
    try:
        from acap.factor.syntax import parse_model
    except ImportError:  # the parser lands with the lavaan-syntax work in acap.factor
        raise AcapInputError("lavaan model syntax is not available in this version of acap; write the model "
                             "as YAML {factor: [columns]}", where) from None
    try:
        parsed = parse_model(text)
    except ValueError as exc:
        raise AcapInputError(str(exc).splitlines()[0], where) from None
    factors = getattr(parsed, "factors", parsed)
    covs = list(getattr(parsed, "covariances", ()) or ())
    return {str(f): list(v) for f, v in dict(factors).items()}, covs


def lavaan_text(source) -> str | None:
    """The lavaan model syntax of ``source`` (text or file), or None for a YAML/JSON/mapping model."""
    raw, _ = _read_source(source)
    return raw if isinstance(raw, str) else None


def load_model(source, known: Iterable[str] | None = None, *, what: str = "column") -> dict[str, list[str]]:
    """Read and check a measurement model: YAML or JSON ``{factor: [items]}`` or lavaan syntax.

    Parameters
    ----------
    source : path-like, str or mapping
        A model file (``.yaml``, ``.yml``, ``.json``, or any file holding lavaan ``=~`` lines),
        lavaan model text, or an already loaded mapping. A factor's items may also be one
        string ``"a + b + c"`` or ``"a, b, c"``.
    known : iterable of str, optional
        The item names allowed (the data's columns, or a bank's items); any name when omitted.
    what : str, default "column"
        What an unknown name is called in the message (``"column"`` or ``"item ID"``).

    Returns
    -------
    dict
        {factor: [items]} in file order.

    Raises
    ------
    AcapInputError
        The file is missing or unreadable, is not a mapping, a factor has fewer than two
        items, an item is listed twice, is unknown, or a factor has the name of an item.

    Examples
    --------
    >>> load_model({"visual": "x1 + x2 + x3"})
    {'visual': ['x1', 'x2', 'x3']}
    """
    raw, where = _read_source(source)
    if isinstance(raw, str):
        raw, _ = _lavaan_factors(raw, where)
    if not isinstance(raw, Mapping) or not raw:
        raise AcapInputError("a model is a non-empty mapping {factor: [items]} or lavaan syntax "
                             "(factor =~ item1 + item2 + ...)", where)
    known = None if known is None else set(map(str, known))
    seen: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for factor, its in raw.items():
        f = str(factor)
        if isinstance(its, str):
            its = [s for s in its.replace("+", " ").replace(",", " ").split() if s]
        if not isinstance(its, (list, tuple)) or not all(isinstance(i, (str, int)) for i in its):
            raise AcapInputError(f"factor {f!r}: items must be a list of {what}s", where)
        its = [str(i) for i in its]
        if len(its) < 2:
            raise AcapInputError(f"factor {f!r} has {len(its)} item(s); a factor needs at least two", where)
        for i in its:
            if known is not None and i not in known:
                near = [k for k in known if k.lower() == i.lower()]
                hint = f" (did you mean {near[0]!r}? names are case-sensitive)" if near else ""
                raise AcapInputError(f"factor {f!r}: unknown {what} {i!r}{hint}", where)
            if i in seen:
                raise AcapInputError(f"item {i!r} is listed under both {seen[i]!r} and {f!r}", where)
            seen[i] = f
        out[f] = its
    clash = set(out) & set(seen)
    if clash:
        raise AcapInputError(f"factor {sorted(clash)[0]!r} has the name of an item", where)
    return out


def _frame_of(data) -> tuple[pd.DataFrame, object]:
    from acap.readers import Table, read_table, table_from_frame

    if isinstance(data, Table):
        return data.data, data
    if isinstance(data, pd.DataFrame):
        t = table_from_frame(data)
        return t.data, t
    t = read_table(data)
    return t.data, t


def _numbers(col: pd.Series, name: str, table, dk_code) -> tuple[np.ndarray, np.ndarray]:
    """(value, dont_know) of one item column; text that is not a number is refused by row."""
    if pd.api.types.is_bool_dtype(col.dtype):
        raise AcapInputError("True/False column: an item score must be a number", f"{table.source}, column {name!r}")
    if pd.api.types.is_numeric_dtype(col.dtype):
        num = col.to_numpy(dtype=float, na_value=np.nan)
    else:
        from acap.readers import clean_text

        text = clean_text(col)
        low = text.str.lower()
        missing = low.isin(MISSING_TEXT).fillna(False).to_numpy(dtype=bool)
        num = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        from acap.scoring import DONT_KNOW_TEXT

        dk_text = low.isin(DONT_KNOW_TEXT).fillna(False).to_numpy(dtype=bool) if dk_code is not None else \
            np.zeros(len(col), dtype=bool)
        bad = text.notna().to_numpy() & ~missing & ~dk_text & np.isnan(num)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise AcapInputError(f"{table.row_label(pos)}, column {name}: {text.iloc[pos]!r} is not a number",
                                 table.source)
        num = np.where(dk_text, np.nan if dk_code is None else float(dk_code), num)
    if np.isinf(num).any():
        pos = int(np.flatnonzero(np.isinf(num))[0])
        raise AcapInputError(f"{table.row_label(pos)}, column {name}: infinite value", table.source)
    dk = (num == dk_code) if dk_code is not None else np.zeros(len(num), dtype=bool)
    return np.where(dk, np.nan, num), dk


def read_items(data, model: Mapping[str, list[str]], *, points: int | None = None, range=None,  # noqa: A002
               reverse: Iterable[str] = (), group: str | None = None, organisation: str | None = None,
               dont_know: int | None = None, texts: Mapping | None = None, labels: Mapping | None = None,
               title: str | None = None, bank: str = "custom", bank_version: str = "") -> ItemTable:
    """Read a researcher's item table for the items of ``model``.

    Parameters
    ----------
    data : path, DataFrame or Table
        One row per respondent; any other columns are ignored.
    model : mapping
        {factor: [columns]} (see :func:`load_model`).
    points : int, optional
        Answers run 1..``points``.
    range : (low, high) or "LO,HI", optional
        The response range; with neither, each item's range is its lowest and highest answer.
    reverse : iterable of str
        Items to reverse-key (``low + high - x``).
    group, organisation : str, optional
        Columns to keep for invariance and for aggregation to organisations.
    dont_know : int, optional
        A code meaning "don't know" (kept apart from the answers and analysed as missing).
    texts, labels : mapping, optional
        Item wording and factor labels.

    Returns
    -------
    ItemTable

    Raises
    ------
    AcapInputError
        A model item or named column missing from the table, a cell that is not a number, an
        answer outside the response range given, a reversed item not in the model, or a
        table without respondents.
    """
    frame, table = _frame_of(data)
    where = table.source
    items = [i for its in model.values() for i in its]
    cols = set(frame.columns)
    for name, kind in [(i, "model item") for i in items] + [(c, "--group column") for c in (group,) if c] + \
            [(c, "--organisation column") for c in (organisation,) if c]:
        if name not in cols:
            near = [c for c in frame.columns if c.lower() == name.lower()]
            hint = f" (did you mean {near[0]!r}? names are case-sensitive)" if near else ""
            raise AcapInputError(f"the {kind} {name!r} is not a column of the table{hint}", where)
    reverse = tuple(dict.fromkeys(str(r) for r in reverse))
    for r in reverse:
        if r not in items:
            raise AcapInputError(f"reverse-keyed item {r!r} is not in the model", "reverse")
    if len(frame) == 0:
        raise AcapInputError("the table has no respondents", where)
    if points is not None and range is not None:
        raise AcapInputError("give the number of points or the range, not both", "points")
    if points is not None:
        if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
            raise AcapInputError(f"must be a whole number of at least 2, got {points!r}", "points")
        given = (1.0, float(points))
    else:
        given = parse_range(range) if range is not None else None
    values = np.empty((len(frame), len(items)))
    dk = np.zeros((len(frame), len(items)), dtype=bool)
    for j, iid in enumerate(items):
        values[:, j], dk[:, j] = _numbers(frame[iid], iid, table, dont_know)
    if given is not None:
        off = ~np.isnan(values) & ((values < given[0]) | (values > given[1]))
        if off.any():
            r, j = (int(v[0]) for v in np.nonzero(off))
            raise AcapInputError(f"{table.row_label(r)}, column {items[j]}: {values[r, j]:g} is outside the "
                                 f"response range {given[0]:g}-{given[1]:g}", where)
        low = pd.Series(given[0], index=items)
        high = pd.Series(given[1], index=items)
    else:
        with np.errstate(all="ignore"):
            low = pd.Series(np.fmin.reduce(values, axis=0), index=items)
            high = pd.Series(np.fmax.reduce(values, axis=0), index=items)
        empty = low.index[low.isna()]
        if len(empty):
            raise AcapInputError(f"column {empty[0]} has no answers", where)
    index = pd.RangeIndex(len(frame), name="respondent")
    x = pd.DataFrame(values, index=index, columns=pd.Index(items, name="item"))
    for r in reverse:
        x[r] = low[r] + high[r] - x[r]
    from acap.readers import clean_text

    background = pd.DataFrame(index=index)
    for c in dict.fromkeys(c for c in (organisation, group) if c):
        col = frame[c]
        text = clean_text(col.astype(object).where(col.notna(), None).map(
            lambda v: None if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))))
        background[c] = text.to_numpy(dtype=object)
    obs = values[~np.isnan(values)]
    return ItemTable(items=x, dont_know=pd.DataFrame(dk, index=index, columns=x.columns), background=background,
                     low=low, high=high, reverse=reverse, texts=dict(texts or {}),
                     labels={**{f: f for f in model}, **dict(labels or {})}, described=list(items),
                     organisation=organisation, bank=bank, bank_version=bank_version,
                     title=title or f"Validation report: {Path(str(where)).name}",
                     integer=bool(np.all(obs == np.round(obs))), has_dont_know=dont_know is not None)


def from_scored(scored, bank, model, described: list[str]) -> ItemTable:
    """The bank path's scored responses (:func:`acap.scoring.score`) as an :class:`ItemTable`."""
    meta = bank.items
    pts = {i: bank.response_scales[meta[i]["response_scale"]].points for i in scored.items.columns}
    texts = {}
    labels = bank.labels()
    for iid in described:
        m = meta[iid]
        if m["kind"].startswith("source_"):
            texts[iid] = f"{labels.get(m['source'], m['source'])} ({m['kind'].split('_', 1)[1]})"
        elif m["kind"] == "conduit":
            texts[iid] = f"Conduit: {labels.get(iid, iid)}"
        else:
            texts[iid] = m["text"]
    return ItemTable(items=scored.items, dont_know=scored.dont_know, background=scored.background,
                     low=pd.Series(1.0, index=scored.items.columns), high=pd.Series(pts, dtype=float),
                     reverse=tuple(bank.reverse_items), texts=texts, labels=labels, described=described,
                     kinds={i: meta[i]["scale"] or meta[i]["kind"] for i in described},
                     organisation="organisation", bank=bank.bank, bank_version=bank.version,
                     title=f"Validation report: {bank.title}", integer=True, has_dont_know=True)

