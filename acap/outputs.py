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

import pandas as pd

Writer = Callable[[Path], None]


def csv_writer(frame: pd.DataFrame, index: bool = True, float_format: str = "%.6g") -> Writer:
    """A writer that saves ``frame`` as CSV, UTF-8 with a byte-order mark so Excel reads accents."""
    return lambda path: frame.to_csv(path, index=index, float_format=float_format, encoding="utf-8-sig")


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
    return lambda path: None


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
