"""Item-score tables: the one check every analysis runs before it uses respondents x items data.

Reliability, factor analysis, polychoric correlations, CFA and organisation aggregation all
start from a table of item scores. They share :func:`numeric_items`, so a table accepted (or
refused, with the same message) by one analysis is accepted (or refused) by the others.

Examples
--------
>>> import pandas as pd
>>> from acap.itemdata import numeric_items
>>> numeric_items(pd.DataFrame({"q1": [1, 2, 3], "q2": ["2", "3", None]}), "alpha")
    q1   q2
0  1.0  2.0
1  2.0  3.0
2  3.0  NaN
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

__all__ = ["numeric_items"]

# What pandas.api.types.infer_dtype reports for object columns holding numbers only.
_NUMBER_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal", "empty"})


def numeric_items(
    data,
    where: str,
    *,
    min_items: int = 2,
    min_rows: int = 2,
    min_answers: int = 2,
    allow_constant: bool = False,
    allow_text_numbers: bool = True,
) -> pd.DataFrame:
    """Check a respondents x items table and return it as float scores with NaN for missing.

    The rules, checked in this order (the first failure is reported):

    1. ``data`` is a DataFrame or a 2-D array (arrays, lists of rows included, get the
       column names ``V1`` ... ``Vk``); column names are made strings and must be unique.
    2. At least ``min_items`` columns and ``min_rows`` rows.
    3. Every column holds numbers. A True/False column is refused: it is not an item score.
       Numbers stored as text (``"5"``) are converted unless ``allow_text_numbers=False``;
       any other text is refused, naming the column, the first bad value and its row.
    4. No infinite value.
    5. At least ``min_answers`` non-missing answers in each column.
    6. No constant column (a single distinct answer), unless ``allow_constant``.

    Parameters
    ----------
    data : pandas.DataFrame or 2-D array-like
        Rows are respondents, columns are items. Missing answers are NaN, None or pd.NA.
    where : str
        The caller (e.g. ``"alpha"``, ``"efa data"``): every message starts with it, followed
        by the offending column.
    min_items, min_rows, min_answers : int, default 2
        Least numbers of columns, rows, and non-missing answers per column.
    allow_constant : bool, default False
        Accept columns in which every answer is the same.
    allow_text_numbers : bool, default True
        Convert numbers stored as text; when False any text column is refused.

    Returns
    -------
    pandas.DataFrame
        float64 scores with the index of ``data`` and string column names.

    Raises
    ------
    AcapInputError
        With ``where`` naming the caller and the column (``"alpha, column 'q3'"``).

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_items([[1, 2], [2, 4], [3, 5]], "example").columns.tolist()
    ['V1', 'V2']
    >>> numeric_items(pd.DataFrame({"a": [1, 2], "b": [1, 1]}), "example")
    Traceback (most recent call last):
    ...
    acap.errors.AcapInputError: example, column 'b': constant column: no variance (every answer is 1); leave it out of this analysis
    """
    frame = _as_frame(data, where)
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise AcapInputError("appears more than once; column names must be unique",
                                 f"{where}, column {name!r}")
        seen.add(name)
    n, k = frame.shape
    if k < min_items:
        raise AcapInputError(f"needs at least {min_items} items, got {k}", where)
    if n < min_rows:
        raise AcapInputError(f"needs at least {min_rows} rows of item scores, got {n}", where)

    # dtypes, not a Series per column: that costs more than the checks on a numeric table.
    dtypes = list(frame.dtypes)
    out = None
    if all(t == np.float64 for t in dtypes):
        # Already float scores: a shallow copy (pandas copies on write) avoids copying big
        # tables that only need checking.
        out = frame.copy(deep=False)
        out.columns = names
        x = out.to_numpy()
    else:
        x = np.empty((n, k), dtype=np.float64)
        for j, (name, t) in enumerate(zip(names, dtypes)):
            col = frame.iloc[:, j]
            if pd.api.types.is_bool_dtype(t):
                raise _bool_error(where, name)
            if pd.api.types.is_numeric_dtype(t):
                x[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                x[:, j] = _text_to_float(col, where, name, allow_text_numbers)

    # Column sums are finite unless a column holds NaN or an infinite value: only those
    # columns need a closer look, which keeps large complete tables cheap.
    odd = np.flatnonzero(~np.isfinite(x.sum(axis=0))) if n else np.array([], dtype=int)
    for j in odd:
        inf = np.flatnonzero(np.isinf(x[:, j]))
        if inf.size:
            row = inf[0]
            raise AcapInputError(f"infinite value {x[row, j]} (row {frame.index[row]!r})",
                                 f"{where}, column {names[j]!r}")
    if min_answers > 0:
        answered = np.full(k, n)
        if odd.size:
            answered[odd] = (~np.isnan(x[:, odd])).sum(axis=0)
        few = np.flatnonzero(answered < min_answers)
        if few.size:
            j = few[0]
            raise AcapInputError(f"fewer than {min_answers} answers ({answered[j]} non-missing "
                                 "value(s))", f"{where}, column {names[j]!r}")
    if not allow_constant and n:
        # fmin/fmax skip NaN without the all-NaN warnings of nanmin/nanmax.
        lo, hi = np.fmin.reduce(x, axis=0), np.fmax.reduce(x, axis=0)
        flat = np.flatnonzero(lo == hi)
        if flat.size:
            j = flat[0]
            raise AcapInputError(f"constant column: no variance (every answer is {lo[j]:g}); "
                                 "leave it out of this analysis", f"{where}, column {names[j]!r}")
    if out is None:
        out = pd.DataFrame(x, index=frame.index, columns=names, copy=False)
    return out


def _as_frame(data, where: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (np.ndarray, list, tuple)):
        try:
            arr = np.asarray(data)
        except ValueError as exc:  # ragged rows
            raise AcapInputError(f"cannot read as a table ({exc})", where) from None
        if arr.ndim != 2:
            raise AcapInputError(
                f"expected a 2-D respondents x items table, got {arr.ndim} dimension(s)", where)
        return pd.DataFrame(arr, columns=[f"V{j + 1}" for j in range(arr.shape[1])])
    raise AcapInputError(
        f"expected a DataFrame or 2-D array (respondents x items), got {type(data).__name__}", where)


def _bool_error(where: str, name: str) -> AcapInputError:
    return AcapInputError("True/False column: an item score must be a number; "
                          "code the answers as numbers first", f"{where}, column {name!r}")


def _text_to_float(col: pd.Series, where: str, name: str, allow_text_numbers: bool) -> np.ndarray:
    """Convert a non-numeric column (object, str, categorical) whose values are numbers."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    present = col.notna().to_numpy()
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind == "boolean":
        raise _bool_error(where, name)
    if kind in ("datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period"):
        raise AcapInputError(f"{kind} column: an item score must be a number, not a date or time",
                             f"{where}, column {name!r}")
    if kind not in _NUMBER_KINDS:
        if not allow_text_numbers and present.any():
            row = int(np.flatnonzero(present)[0])
            raise AcapInputError(f"text value {col.iloc[row]!r} (row {col.index[row]!r}); "
                                 "this analysis needs numbers, not text",
                                 f"{where}, column {name!r}")
        if kind != "string" and any(isinstance(v, (bool, np.bool_)) for v in col[present]):
            raise _bool_error(where, name)
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna().to_numpy() & present
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AcapInputError(f"non-numeric value {col.iloc[row]!r} (row {col.index[row]!r})",
                             f"{where}, column {name!r}")
    return num.to_numpy(dtype=np.float64, na_value=np.nan)
