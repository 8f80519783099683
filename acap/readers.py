"""Read a responses table as survey tools and researchers hold it: CSV, Excel (XLSX) or SPSS (.sav).

CSV and Excel cells are read as text so that nothing is silently converted (a version "1.0"
stays "1.0", a "DK" stays "DK"); SPSS numeric variables stay numeric, with their value labels
and user-missing codes kept beside them. :mod:`acap.exports` then recognises the columns and
:mod:`acap.scoring` validates and converts each cell and can name the row and column of any
problem. Row numbers in messages are the ones a person sees when opening the file: the header
is row 1 in CSV and Excel, so the first respondent is row 2; SPSS numbers cases from 1.

What is detected without any option: the delimiter of a CSV file (comma, semicolon or tab;
with a semicolon or tab, decimal commas such as ``2,5`` are read as numbers), a UTF-8 or
UTF-16 byte-order mark, and, in a workbook of several sheets, the sheet that holds the answers
(see :func:`read_table`). Files in another encoding are refused with a message saying so.

This module also reads the organisations file (:func:`read_organisations`): the list of record
of organisations, their type, the number invited and other spellings of their names.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".sav": "sav",
            ".zsav": "sav"}
#: Cell texts that mean "no answer" in some tool's export (compared case-insensitively), read
#: like a blank cell in every format. "N/A" is not among them: it is the bank's "not applicable".
MISSING_MARKERS = frozenset({"na", "#n/a", "null", "#null!", "-"})
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Table:
    """A table read from a file, with how to name its rows in messages.

    Attributes
    ----------
    data : DataFrame
        Cells as text (missing cells as NA; SPSS numeric columns as numbers), columns as in
        the file, default RangeIndex.
    source : str
        File name (or ``"table"`` for an in-memory DataFrame).
    kind : str
        ``"csv"``, ``"xlsx"``, ``"sav"`` or ``"frame"``.
    positions : ndarray, optional
        0-based position in the file of each row of ``data`` (blank rows are dropped on
        reading, extra header rows when recognised).
    delimiter : str, optional
        The CSV delimiter found.
    decimal_comma : bool
        Whether numbers may be written with a decimal comma (a semicolon- or tab-delimited CSV).
    sheet : str, optional
        The workbook sheet read.
    blank_rows : tuple of str
        Where rows holding nothing were skipped (row labels as a person finds them).
    value_labels : dict
        SPSS value labels by column: {column: {code: label}}.
    user_missing : dict
        SPSS user-missing codes by column: {column: [(low, high), ...]}.
    notes : tuple of str
        What was detected on reading (delimiter, sheet).
    """

    data: pd.DataFrame
    source: str
    kind: str
    positions: np.ndarray | None = None
    delimiter: str | None = None
    decimal_comma: bool = False
    sheet: str | None = None
    blank_rows: tuple = ()
    value_labels: dict = field(default_factory=dict)
    user_missing: dict = field(default_factory=dict)
    notes: tuple = ()

    def file_row(self, position: int):
        """The row number (CSV, Excel), case number (SPSS) or index label of row ``position``."""
        if self.kind == "frame":
            return self.data.index[position]
        original = int(self.positions[position]) if self.positions is not None else position
        return original + 2 if self.kind in ("csv", "xlsx") else original + 1

    def file_rows(self, positions: np.ndarray) -> np.ndarray:
        """:meth:`file_row` of many positions at once."""
        positions = np.asarray(positions, dtype=np.int64)
        if self.kind == "frame":
            return np.asarray(self.data.index[positions], dtype=object)
        original = self.positions[positions] if self.positions is not None else positions
        return original + (2 if self.kind in ("csv", "xlsx") else 1)

    def row_label(self, position: int) -> str:
        """How a person finds row ``position`` (0-based) of :attr:`data` in the original."""
        word = "case" if self.kind == "sav" else "row"
        return f"{word} {self.file_row(position)}"


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
        elif s.dtype == object:
            # Excel mixes numbers and text within a column: a whole number 5.0 reads as "5"
            out[col] = pd.Series([_cell_text(v) for v in s], index=s.index, dtype="string")
        else:
            out[col] = s.astype("string")
        out[col] = out[col].str.strip().replace("", pd.NA)
    return pd.DataFrame(out, index=frame.index)


def _cell_text(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return str(v)
    return str(v)


def clean_text(series: pd.Series, markers: bool = False) -> pd.Series:
    """Cells as stripped text (object dtype), blanks and whitespace-only cells as None.

    With ``markers`` the missing markers (:data:`MISSING_MARKERS`: NA, #N/A, NULL, -) are read
    as blanks too. Works on the distinct values only: columns repeat a few values many times,
    and string operations per cell would dominate reading and validation time on large tables.
    """
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        # Arrow-backed text (CSV as read): strip and compare in Arrow, one pass, no factorizing
        # (respondent IDs are all distinct, so there would be nothing to gain from it).
        st = series.str.strip()
        gone = (st == "").fillna(True)
        if markers:
            gone |= st.str.lower().isin(list(MISSING_MARKERS)).fillna(False)
        out = st.to_numpy(dtype=object, na_value=None)
        out[gone.to_numpy(dtype=bool)] = None
        return pd.Series(out, index=series.index, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = np.strings.strip(np.asarray(uniques, dtype=object).astype(str))
    clean = np.append(stripped.astype(object), None)  # code -1 (missing) picks the last slot
    gone = stripped == ""
    if markers:
        gone |= np.isin(np.strings.lower(stripped), list(MISSING_MARKERS))
    clean[np.flatnonzero(gone)] = None
    return pd.Series(clean[codes], index=series.index, dtype=object)


def factorize(series: pd.Series) -> tuple[np.ndarray, list]:
    """(codes, distinct values) of a column, -1 for missing; Arrow's dictionary encoding for text read from CSV."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        import pyarrow.compute as pc

        # about three times faster than pandas.factorize on Arrow-backed strings
        enc = pc.dictionary_encode(series.array.__arrow_array__()).combine_chunks()
        codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        return codes, enc.dictionary.to_pylist()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, list(uniques)


def normalise(text) -> str:
    """Text compared loosely: case, accents' forms, quotes, punctuation and spaces ignored.

    Examples
    --------
    >>> normalise("  We   DON’T  know. ") == normalise("we don't know")
    True
    """
    t = unicodedata.normalize("NFKC", str(text)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", t).split())


# ---- CSV ---------------------------------------------------------------------------------

def _decode(raw: bytes, where: str) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark) or UTF-16 with one."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")  # Excel's "Unicode text": tab-delimited UTF-16
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        guess = bytes([byte]).decode("cp1252", errors="replace")
        hint = f" (byte 0x{byte:02x} on line {line}; in Windows-1252 it would be {guess!r})"
        raise AcapInputError(f"the file is not UTF-8 text{hint}; save it as CSV UTF-8 "
                             "(Excel: Save As > CSV UTF-8)", where=where) from None


def _sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of comma, semicolon, tab outside quotes."""
    first = text.split("\n", 1)[0]
    outside = re.sub(r'"[^"]*"', "", first)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(p: Path) -> tuple[pd.DataFrame, str, list[str]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(p, "rb") as f:
        first = f.readline()
    source: object = str(p)  # Arrow reads the file itself (and skips a UTF-8 byte-order mark)
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(p.read_bytes(), str(p))
        first = text.split("\n", 1)[0].encode("utf-8")
        source = io.BytesIO(text.encode("utf-8"))
    first = first.removeprefix(codecs.BOM_UTF8)
    header = _decode(first, str(p)).rstrip("\r\n")
    delim = _sniff_delimiter(header)
    names = next(csv.reader([header], delimiter=delim), [])
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise AcapInputError(f"column {dup.strip()!r} appears more than once", where=str(p))
    try:
        table = pacsv.read_csv(
            source,
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]))
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            _decode(p.read_bytes(), str(p))  # raises, naming the byte and its line
        # Arrow quotes the offending line, which may hold personal data: keep its first clause.
        msg = str(exc).removeprefix("CSV parse error: ").split(":")[0]
        raise AcapInputError(f"could not be read as CSV: {msg} (delimiter {_delim_name(delim)})", where=str(p)) from None
    frame = table.to_pandas()
    notes = [] if delim == "," else [f"read as {_delim_name(delim)}-delimited"]
    return frame, delim, notes


def _delim_name(d: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab"}[d]


# ---- Excel -------------------------------------------------------------------------------

def _read_xlsx(p: Path, sheet, prefer) -> tuple[pd.DataFrame, str, list[str]]:
    import openpyxl

    # openpyxl directly, not pandas.read_excel: pandas reads error cells (#N/A, #NULL!) as NaN,
    # which would make them skips silently while a CSV's "#N/A" is counted as a missing marker.
    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        sheets = {ws.title: pd.DataFrame(list(ws.iter_rows(values_only=True)), dtype=object) for ws in wb.worksheets}
    finally:
        wb.close()
    names = list(sheets)
    if sheet is not None:
        key = sheet
        if key not in sheets and str(key).isdigit() and 1 <= int(key) <= len(names):
            key = names[int(key) - 1]  # --sheet 2 means the second sheet
        if key not in sheets:
            raise AcapInputError(f"has no sheet {sheet!r} (sheets: {', '.join(map(repr, names))})", where=str(p))
        chosen, notes = key, []
    else:
        nonempty = [n for n in names if sheets[n].size]
        holding = [n for n in nonempty if prefer is not None and prefer(_header_and_rows(sheets[n]))]
        if len(holding) > 1:
            raise AcapInputError(f"sheets {', '.join(map(repr, holding))} all hold item columns; "
                                 "choose one with --sheet", where=str(p))
        chosen = holding[0] if holding else (nonempty[0] if nonempty else names[0])
        notes = [f"read sheet {chosen!r} (the one holding item columns)"] if len(nonempty) > 1 and holding else []
    raw = sheets[chosen]
    if raw.empty:
        return pd.DataFrame(), chosen, notes
    header = [_cell_text(v) or "" for v in raw.iloc[0]]
    frame = raw.iloc[1:].set_axis([str(h).strip() for h in header], axis=1).reset_index(drop=True)
    # An Excel header can end in empty columns: drop those that hold nothing.
    empty = [i for i, h in enumerate(header) if not str(h).strip() and
             not raw.iloc[1:, i].map(lambda v: _cell_text(v) not in (None, "")).any()]
    if empty:
        frame = frame.drop(columns=frame.columns[empty])
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise AcapInputError(f"column {dup!r} appears more than once (sheet {chosen!r})", where=str(p))
    return frame, chosen, notes


def _header_and_rows(raw: pd.DataFrame) -> list[list[str]]:
    """The first rows of a sheet as text: the header and the rows that may be more headers."""
    return [[_cell_text(v) or "" for v in raw.iloc[i]] for i in range(min(len(raw), 4))]


# ---- SPSS --------------------------------------------------------------------------------

def _read_sav(p: Path) -> tuple[pd.DataFrame, dict, dict]:
    import pyreadstat

    # User-missing codes are kept as values (and listed) so that a don't-know coded 99 is read
    # as don't know, not as a skip or an answer off the scale.
    frame, meta = pyreadstat.read_sav(str(p), apply_value_formats=False, user_missing=True)
    ranges = {col: [(r["lo"], r["hi"]) for r in rs] for col, rs in (meta.missing_ranges or {}).items()}
    return frame, dict(meta.variable_value_labels or {}), ranges


def read_table(path: str | os.PathLike, sheet: str | int | None = None,
               prefer: Callable[[list[list[str]]], bool] | None = None) -> Table:
    """Read a responses (or any) table from CSV, XLSX or SPSS .sav.

    Parameters
    ----------
    path : path-like
        ``.csv`` (comma, semicolon or tab; UTF-8 or UTF-16), ``.xlsx`` or ``.sav`` file.
    sheet : str or int, optional
        Workbook sheet to read, by name or 1-based number. By default the one sheet for which
        ``prefer`` is true, else the first sheet that holds anything.
    prefer : callable, optional
        Given a sheet's first rows (lists of cell texts, the header first), whether it holds the
        answers (:mod:`acap.exports` asks whether any column is an item).

    Returns
    -------
    Table

    Raises
    ------
    AcapInputError
        Missing file, unknown format, a file that is not UTF-8/UTF-16 text, an unknown sheet, a
        column that appears twice, or a file that cannot be parsed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("respondent_id;organisation;role;AQ01\\nR1;Org A;analyst;DK\\n")
    >>> t = read_table(p)
    >>> t.data.loc[0, "AQ01"], t.delimiter
    ('DK', ';')
    """
    p = Path(path)
    kind = SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise AcapInputError(f"unsupported file type {p.suffix or '(none)'}; use .csv, .xlsx or .sav", where=str(p))
    if not p.exists():
        raise AcapInputError("no such file", where=str(p))
    delim, chosen, labels, ranges, notes = None, None, {}, {}, []
    try:
        if kind == "csv":
            frame, delim, notes = _read_csv(p)
        elif kind == "xlsx":
            frame, chosen, notes = _read_xlsx(p, sheet, prefer)
        else:
            frame, labels, ranges = _read_sav(p)
    except AcapInputError:
        raise
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
    blank = np.ones(len(frame), dtype=bool)
    for col in frame.columns:  # usually the first column already shows every row holds something
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s):
            blank &= s.isna().to_numpy()
        elif isinstance(s.dtype, pd.StringDtype):
            blank &= (s.isna() | (s.str.strip() == "").fillna(True)).to_numpy(dtype=bool)
        else:
            blank &= clean_text(s).isna().to_numpy()
        if not blank.any():
            break
    positions = np.flatnonzero(~blank)
    dropped = np.flatnonzero(blank)
    if dropped.size:
        frame = frame[~blank].reset_index(drop=True)
    base = 2 if kind in ("csv", "xlsx") else 1
    word = "case" if kind == "sav" else "row"
    return Table(data=frame, source=str(p), kind=kind, positions=positions, delimiter=delim,
                 decimal_comma=delim in (";", "\t"), sheet=chosen,
                 blank_rows=tuple(f"{word} {int(d) + base}" for d in dropped),
                 value_labels=labels, user_missing=ranges, notes=tuple(notes))


def table_from_frame(frame: pd.DataFrame, source: str = "table") -> Table:
    """Wrap an in-memory DataFrame (as the app or a notebook holds it) as a :class:`Table`."""
    # A shallow relabel, not a copy: validation only reads the cells.
    frame = frame.set_axis([str(c).strip() for c in frame.columns], axis=1)
    return Table(data=frame, source=source, kind="frame")


# ---- the organisations file --------------------------------------------------------------

def organisation_key(name: str) -> str:
    """What two spellings of one organisation's name share: case, spaces and punctuation ignored.

    Examples
    --------
    >>> organisation_key("Ashvale  Local-Authority.") == organisation_key("ashvale local authority")
    True
    """
    return normalise(name)


def read_organisations(path: str | os.PathLike) -> pd.DataFrame:
    """Read the organisations file: the list of record of who takes part.

    Parameters
    ----------
    path : path-like
        CSV, XLSX or SAV with columns ``name`` (or ``organisation``), ``type``, ``invited`` and,
        optionally, ``aliases``: other spellings of the name used in survey exports, separated
        by ``;`` or ``|``.

    Returns
    -------
    DataFrame
        Indexed by ``organisation`` (the name of record): ``type`` (str or None), ``invited``
        (Int64, NA when not given) and ``aliases`` (tuple of str).

    Raises
    ------
    AcapInputError
        Naming file, row and column: a missing column or name, an invited count that is not a
        whole number of at least 1, a name or alias given twice (also as another spelling of
        the same name, or as two organisations' alias).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "orgs.csv"
    >>> _ = p.write_text("name,type,invited,aliases\\nAshvale ICB,ICB,40,NHS Ashvale; Ashvale CCG\\n")
    >>> read_organisations(p).loc["Ashvale ICB", "aliases"]
    ('NHS Ashvale', 'Ashvale CCG')
    """
    t = read_table(path)
    cols = {normalise(c): c for c in t.data.columns}
    name_col = cols.get("name") or cols.get("organisation") or cols.get("organization")
    missing = [c for c, ok in (("name", name_col), ("invited", "invited" in cols)) if not ok]
    if missing:
        raise AcapInputError(f"needs columns name, type, invited (and optionally aliases); missing: "
                             f"{', '.join(missing)}", where=str(path))
    names = clean_text(t.data[name_col])
    types = clean_text(t.data[cols["type"]]) if "type" in cols else pd.Series([None] * len(t.data), dtype=object)
    raw_inv = t.data[cols["invited"]]
    inv_text = clean_text(raw_inv) if not pd.api.types.is_numeric_dtype(raw_inv) else raw_inv
    invited = pd.to_numeric(inv_text, errors="coerce")
    aliases = clean_text(t.data[cols["aliases"]]) if "aliases" in cols else pd.Series([None] * len(t.data), dtype=object)
    seen: dict[str, str] = {}
    rows = []
    for pos in range(len(t.data)):
        where = t.row_label(pos)
        name = names.iloc[pos]
        if name is None:
            raise AcapInputError(f"{where}, column {name_col}: the name is missing", where=str(path))
        v = invited.iloc[pos]
        if pd.notna(inv_text.iloc[pos]) and not (pd.notna(v) and v >= 1 and float(v).is_integer()):
            raise AcapInputError(f"{where}, column {cols['invited']}: {raw_inv.iloc[pos]!r} is not a whole number "
                                 "of at least 1", where=str(path))
        spellings = [name] + [a.strip() for a in re.split(r"[;|]", aliases.iloc[pos] or "") if a.strip()]
        for s in spellings:
            key = organisation_key(s)
            if key in seen:
                raise AcapInputError(f"{where}: {s!r} is listed twice (also as {seen[key]!r})", where=str(path))
            seen[key] = s
        rows.append((name, types.iloc[pos], int(v) if pd.notna(v) else pd.NA, tuple(spellings[1:])))
    out = pd.DataFrame(rows, columns=["organisation", "type", "invited", "aliases"]).set_index("organisation")
    out["invited"] = out["invited"].astype("Int64")
    out.attrs["source"] = str(path)  # named in messages about organisations not on the list
    return out
