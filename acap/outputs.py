"""Write a set of result files all or nothing.

Results are first written into a staging folder beside the destination. A destination that
does not exist yet is then created by one rename. In an existing folder each result replaces
its old version, which is kept aside until every result is in place; if any step fails the old
versions are put back. Either way a failure leaves the destination as it was.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

Writer = Callable[[Path], None]


def csv_writer(frame: pd.DataFrame, index: bool = True, float_format: str = "%.6g",
               constants: Mapping[str, object] | None = None) -> Writer:
    """A writer that saves ``frame`` as CSV, UTF-8 with a byte-order mark so Excel reads accents.

    The text is what ``frame.assign(**constants).to_csv(float_format="%.6g")`` writes; tables
    of the usual column types are formatted by :func:`csv_text`'s formatter, several times
    faster than pandas' writer, and written a block of rows at a time. ``constants`` are
    columns with one value on every row (a run's bank version and minimum n), appended to
    each line rather than stored per row.
    """

    def write(path: Path) -> None:
        chunks = _csv_chunks(frame, index, constants) if float_format == "%.6g" else None
        if chunks is None:
            full = frame.assign(**constants) if constants else frame
            full.to_csv(path, index=index, float_format=float_format, encoding="utf-8-sig")
            return
        with open(path, "wb") as f:
            f.write(b"\xef\xbb\xbf")
            for chunk in chunks:
                f.write(chunk.encode("utf-8"))

    return write


def _quote(values: list[str]) -> list[str]:
    """CSV fields (minimal quoting, as pandas writes them): quoted where they hold , " or a newline."""
    return [f'"{v.replace(chr(34), chr(34) * 2)}"' if ("," in v or '"' in v or "\n" in v) else v for v in values]


def _column_text(s: pd.Series) -> list[str] | None:
    """One column as a list of CSV fields, or None for a dtype left to pandas.

    Python's own ``%`` formatting per value is what pandas applies, and on a list it is faster
    than numpy's string arrays; text columns are quoted once per distinct value.
    """
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt) and not isinstance(dt, pd.BooleanDtype):
        return _by_value(s.to_numpy().astype(np.int8), ["False", "True"])
    if pd.api.types.is_float_dtype(dt) and not isinstance(dt, pd.api.extensions.ExtensionDtype):
        # formatted once per distinct value (shares repeat a lot); keyed by bit pattern, so
        # -0.0 keeps its sign as pandas writes it
        codes, uniques = pd.factorize(s.to_numpy(dtype=np.float64).view(np.int64))
        return _by_value(codes, ["%.6g" % v if v == v else "" for v in np.asarray(uniques).view(np.float64).tolist()])
    if pd.api.types.is_integer_dtype(dt):  # counts: few distinct values, each formatted once
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        return _by_value(codes, [str(int(u)) for u in uniques])
    if pd.api.types.is_string_dtype(dt) or dt == object:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if not all(isinstance(u, str) for u in uniques):
            return None
        return _by_value(codes, _quote(list(uniques)))
    return None


def _by_value(codes: np.ndarray, fields: list[str]) -> list[str]:
    """Each row's field from its value's code; code -1 (missing) is an empty field."""
    return np.array(fields + [""], dtype=object)[codes].tolist()


def csv_text(frame: pd.DataFrame, index: bool = True, constants: Mapping[str, object] | None = None) -> str | None:
    """The CSV text pandas writes for ``frame.assign(**constants)`` with ``float_format="%.6g"``.

    Columns of floats, integers (nullable too), booleans and text are formatted as lists and
    joined row by row, several times faster than pandas' writer on result tables of a hundred
    thousand rows; a frame with any other column type returns None (the caller falls back to
    pandas).
    """
    chunks = _csv_chunks(frame, index, constants)
    return None if chunks is None else "".join(chunks)


#: Rows joined and written at a time (a whole large table at once costs more in fresh memory).
_CSV_BLOCK = 16384


def _csv_chunks(frame: pd.DataFrame, index: bool, constants: Mapping[str, object] | None):
    """The CSV text of :func:`csv_text` as an iterator: the header, then blocks of rows (None if unusual dtypes)."""
    constants = dict(constants or {})
    if any(c in frame.columns for c in constants):
        frame, constants = frame.assign(**constants), {}
    parts, header = [], []
    if index:
        idx = frame.index
        for level in range(idx.nlevels):
            values = idx.get_level_values(level)
            parts.append(pd.Series(values, copy=False))
            name = idx.names[level]
            header.append("" if name is None else str(name))
    for col in frame.columns:
        parts.append(frame[col])
        header.append(str(col))
    if not parts or frame.columns.duplicated().any():
        return None
    fields = []
    for s in parts:
        f = _column_text(s)
        if f is None:
            return None
        fields.append(f)
    tail = [_column_text(pd.Series([v])) for v in constants.values()]
    if any(f is None for f in tail):
        return None
    suffix = "".join("," + f[0] for f in tail)
    head = ",".join(_quote(header + [str(c) for c in constants])) + "\n"
    end = suffix + "\n"

    def blocks():
        yield head
        for start in range(0, len(frame), _CSV_BLOCK):
            block = zip(*(f[start:start + _CSV_BLOCK] for f in fields))
            yield end.join(map(",".join, block)) + end

    return blocks()


def text_writer(text: str) -> Writer:
    """A writer that saves ``text``."""
    return lambda path: path.write_text(text, encoding="utf-8")


def slug(name: str, taken: set[str] | None = None) -> str:
    """A file-system-safe name for ``name`` (an organisation), unique among ``taken``.

    Lower-case letters and digits joined by hyphens; a name with none of those becomes
    ``org``. When ``taken`` is given the slug gets a numeric suffix until it is new, and is
    added to ``taken``.

    Examples
    --------
    >>> taken = set()
    >>> slug("Ynys Môn ICB", taken), slug("ynys-môn icb", taken), slug("???", taken)
    ('ynys-môn-icb', 'ynys-môn-icb-2', 'org')
    """
    base = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split()) or "org"
    if taken is None:
        return base
    out, k = base, 1
    while out in taken:
        k += 1
        out = f"{base}-{k}"
    taken.add(out)
    return out


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_writer() -> Writer:
    """A writer that writes nothing: the result of that name is removed from the destination.

    For results a run does not produce this time but an earlier run may have left (e.g.
    respondent-level scores written only on request), so that a folder never mixes runs.
    """
    def write(path: Path) -> None:
        return None

    write.removes = True  # listed in no manifest
    return write


def write_all(out_dir: str | os.PathLike, files: Mapping[str, Writer]) -> list[Path]:
    """Write every file, or none.

    Parameters
    ----------
    out_dir : path-like
        Destination folder (created if needed). Results of the same names are replaced
        whole (a folder result replaces the old folder); other files in it are left alone.
    files : mapping of relative path -> writer
        Each writer is called with the staging path to write (a file, or a folder it fills).
        A writer that writes nothing (:func:`remove_writer`) removes that result.

    Returns
    -------
    list of Path
        The final paths of the results written, in the order given.

    Raises
    ------
    OSError
        Naming the destination path that could not be written or replaced; nothing changed.
        If even restoring the old versions failed, the message names the folder beside the
        destination where they were kept.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    stage = out.parent / f".{out.name}.staging-{tag}"
    backup = out.parent / f".{out.name}.previous-{tag}"
    stage.mkdir()
    keep_backup = False
    try:
        for rel, write in files.items():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                write(target)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(out / rel)) from None
        # Folders made only for results that were removed hold nothing: drop them.
        for folder in sorted((d for d in stage.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        written = [out / rel for rel in files if (stage / rel).exists()]
        if not out.exists():
            os.replace(stage, out)  # one rename: the whole folder appears at once
            return written
        moved: list[tuple[Path, Path | None]] = []
        failed = out
        try:
            for rel in files:
                failed = dest = out / rel
                old = backup / rel
                if dest.exists() or dest.is_symlink():
                    old.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(dest, old)
                else:
                    old = None
                moved.append((dest, old))
                if (stage / rel).exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(stage / rel, dest)
        except BaseException as exc:  # also Ctrl-C: never leave a mix of old and new
            try:
                for dest, old in reversed(moved):  # whatever is at dest now is new: put the old back
                    if dest.exists() or dest.is_symlink():
                        _remove(dest)
                    if old is not None:
                        os.replace(old, dest)
            except OSError as undo:
                keep_backup = True
                raise OSError(undo.errno, f"{undo.strerror or undo}; the previous results are kept in {backup}",
                              str(failed)) from None
            if isinstance(exc, OSError):
                raise OSError(exc.errno, exc.strerror or str(exc), str(failed)) from None
            raise
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not keep_backup:
            shutil.rmtree(backup, ignore_errors=True)


def json_writer(obj) -> Writer:
    """A writer that saves ``obj`` as indented JSON (UTF-8)."""
    import json

    return lambda path: path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n",
                                        encoding="utf-8")


#: Files a scoring run keeps beside its results: what it did, and (after a refusal) what is wrong.
MANIFEST, STALE, PROBLEMS = "manifest.json", "STALE.txt", "problems.csv"


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as recorded in a run's manifest."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def run_manifest(*, bank, source, options: dict, warnings=(), notes=(), files=(), sheet=None) -> dict:
    """What a run did, written as ``manifest.json`` beside its results.

    acap and bank versions, the input's name, size and SHA-256, the options given, the date
    (UTC), and every warning (the ways the input lost information) and note.
    """
    from datetime import datetime, timezone

    from acap import __version__

    src = Path(source) if isinstance(source, (str, os.PathLike)) else None
    inp = {"path": str(source) if src is not None else "table"}
    if src is not None and src.is_file():
        inp.update(bytes=src.stat().st_size, sha256=file_sha256(src))
    if sheet is not None:
        inp["sheet"] = sheet
    return {"acap_version": __version__, "bank": bank.bank, "bank_version": bank.version,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "status": "complete",
            "input": inp, "options": options, "warnings": list(warnings), "notes": list(notes),
            "files": [str(f) for f in files]}


def mark_stale(out_dir: str | os.PathLike, reason: str, problems: pd.DataFrame | None = None) -> list[Path]:
    """After a refused run: keep the earlier results, but say they are not this run's.

    When ``out_dir`` holds results of an earlier run, writes ``STALE.txt`` (what was refused,
    when) and marks its ``manifest.json`` as stale. With ``problems`` (more than one), the full
    list is written as ``problems.csv`` there too. No result file is touched.

    Returns
    -------
    list of Path
        The files written.
    """
    import json
    from datetime import datetime, timezone

    out = Path(out_dir)
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    earlier = out.exists() and any(p.name not in (STALE, PROBLEMS) for p in out.iterdir())
    written = []

    def replace(path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)

    if problems is not None and len(problems) > 1:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{PROBLEMS}.{uuid.uuid4().hex[:8]}"
        problems.to_csv(tmp, index=False, encoding="utf-8-sig")
        os.replace(tmp, out / PROBLEMS)
        written.append(out / PROBLEMS)
    elif (out / PROBLEMS).exists():
        (out / PROBLEMS).unlink()  # a list from an earlier refusal would mislead
    if earlier:
        replace(out / STALE, f"STALE: the results in this folder come from an earlier run.\n"
                             f"A later run was refused on {when}: {reason}\n"
                             + (f"Every problem: {PROBLEMS}\n" if (out / PROBLEMS).exists() else "")
                             + "Fix the input and run again; a run that succeeds removes this file.\n")
        man = out / MANIFEST
        if man.exists():
            try:
                meta = json.loads(man.read_text(encoding="utf-8"))
            except ValueError:
                meta = {}
            meta.update(status="stale", stale_since=when, refused=reason)
            replace(man, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return written
