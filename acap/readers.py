"""Read a responses table as researchers hold it: CSV, Excel (XLSX) or SPSS (.sav).

CSV and Excel cells are read as text so that nothing is silently converted (a version "1.0"
stays "1.0", a "DK" stays "DK"); SPSS numeric variables stay numeric. :mod:`acap.scoring`
then validates and converts each cell and can name the row and column of any problem. Row numbers in messages are the ones a person sees
when opening the file: the header is row 1 in CSV and Excel, so the first respondent is row 2;
SPSS numbers cases from 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

#: Columns whose SPSS value labels replace their codes on reading.
LABELLED_COLUMNS = ("organisation", "role")
SUFFIXES = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".sav": "sav", ".zsav": "sav"}


@dataclass(frozen=True)
class Table:
    """A table read from a file, with how to name its rows in messages.

    Attributes
    ----------
    data : DataFrame
        Cells as text (missing cells as NA), columns as in the file, default RangeIndex.
    source : str
        File name (or ``"table"`` for an in-memory DataFrame).
    kind : str
        ``"csv"``, ``"xlsx"``, ``"sav"`` or ``"frame"``.
    """

    data: pd.DataFrame
    source: str
    kind: str
    #: 0-based position in the file of each row of ``data`` (blank rows are dropped on reading).
    positions: np.ndarray | None = None

    def row_label(self, position: int) -> str:
        """How a person finds row ``position`` (0-based) of :attr:`data` in the original."""
        if self.kind == "frame":
            return f"row {self.data.index[position]}"
        original = int(self.positions[position]) if self.positions is not None else position
        if self.kind in ("csv", "xlsx"):
            return f"row {original + 2}"
        return f"case {original + 1}"


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells to text; whole numbers lose a trailing '.0' so SPSS/Excel codes read like CSV ones."""
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_float_dtype(s):
            whole = s.notna() & (s == s.round())
            text = s.astype("string")
            text[whole] = s[whole].astype("int64").astype("string")
            out[col] = text
        else:
            out[col] = s.astype("string")
        out[col] = out[col].str.strip().replace("", pd.NA)
    return pd.DataFrame(out, index=frame.index)


def clean_text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (object dtype), blanks and whitespace-only cells as None.

    Works on the distinct values only: columns repeat a few values many times, and string
    operations per cell would dominate reading and validation time on large tables.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = np.strings.strip(np.asarray(uniques, dtype=object).astype(str))
    clean = np.append(stripped.astype(object), None)  # code -1 (missing) picks the last slot
    clean[np.flatnonzero(stripped == "")] = None
    return pd.Series(clean[codes], index=series.index, dtype=object)


def read_table(path: str | os.PathLike) -> Table:
    """Read a responses (or any) table from CSV, XLSX or SPSS .sav.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.xlsx`` or ``.sav`` file.

    Returns
    -------
    Table

    Raises
    ------
    AcapInputError
        Missing file, unknown format, or a file that cannot be parsed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("respondent_id,organisation,role,AQ01\\nR1,Org A,analyst,DK\\n")
    >>> read_table(p).data.loc[0, "AQ01"]
    'DK'
    """
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise AcapInputError(f"unsupported file type {p.suffix or '(none)'}; use .csv, .xlsx or .sav", where=str(p))
    if not p.exists():
        raise AcapInputError("no such file", where=str(p))
    try:
        if kind == "csv":
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        elif kind == "xlsx":
            frame = pd.read_excel(p, dtype=object, engine="openpyxl")
        else:
            import pyreadstat

            # SPSS numeric columns stay numeric (the fast path in scoring); strings stay text.
            frame, meta = pyreadstat.read_sav(str(p), apply_value_formats=False)
            # Organisation and role are often coded numbers with value labels: use the labels.
            # Item answers keep their codes (their labels are the response format's words).
            for col in LABELLED_COLUMNS:
                if col in frame.columns and pd.api.types.is_numeric_dtype(frame[col]):
                    codes = frame[col]
                    named = codes.map(meta.variable_value_labels.get(col, {}))
                    # an unlabelled code is its number as typed ("3", not "3.0")
                    as_text = codes.map(lambda v: None if pd.isna(v) else (
                        str(int(v)) if float(v).is_integer() else str(v)))
                    frame[col] = named.where(named.notna(), as_text).astype(object)
    except UnicodeDecodeError:
        raise AcapInputError("the file is not UTF-8 text; save it as CSV UTF-8", where=str(p)) from None
    except Exception as exc:  # parsers raise many types; the user needs one line
        raise AcapInputError(f"could not be read as {kind.upper()}: {str(exc).splitlines()[0]}", where=str(p)) from None
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise AcapInputError(f"column {dup!r} appears more than once", where=str(p))
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    if kind == "xlsx":
        frame = _as_text(frame)  # Excel cells mix numbers and text within a column
    # Spreadsheets often end in rows that hold nothing (or only spaces): not respondents.
    keep = np.zeros(len(frame), dtype=bool)
    for col in frame.columns:
        keep |= clean_text(frame[col]).notna().to_numpy() if not pd.api.types.is_numeric_dtype(
            frame[col]) else frame[col].notna().to_numpy()
    positions = np.flatnonzero(keep)
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    return Table(data=frame, source=str(p), kind=kind, positions=positions)


def table_from_frame(frame: pd.DataFrame, source: str = "table") -> Table:
    """Wrap an in-memory DataFrame (as the app or a notebook holds it) as a :class:`Table`."""
    # A shallow relabel, not a copy: validation only reads the cells.
    frame = frame.set_axis([str(c).strip() for c in frame.columns], axis=1)
    return Table(data=frame, source=source, kind="frame")
