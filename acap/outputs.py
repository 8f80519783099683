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


def write_all(out_dir: str | os.PathLike, files: Mapping[str, Writer]) -> list[Path]:
    """Write every file, or none.

    Parameters
    ----------
    out_dir : path-like
        Destination folder (created if needed). Results of the same names are replaced;
        other files in it are left alone.
    files : mapping of relative path -> writer
        Each writer is called with the staging path to write (a file, or a folder it fills).

    Returns
    -------
    list of Path
        The final paths, in the order given.

    Raises
    ------
    OSError
        Naming the destination path that could not be written or replaced; nothing changed.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    stage = out.parent / f".{out.name}.staging-{tag}"
    backup = out.parent / f".{out.name}.previous-{tag}"
    stage.mkdir()
    try:
        for rel, write in files.items():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                write(target)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(out / rel)) from None
        if not out.exists():
            os.replace(stage, out)  # one rename: the whole folder appears at once
            return [out / rel for rel in files]
        moved: list[tuple[Path, Path | None]] = []
        try:
            for rel in files:
                dest, old = out / rel, backup / rel
                if dest.exists() or dest.is_symlink():
                    old.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(dest, old)
                else:
                    old = None
                moved.append((dest, old))
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / rel, dest)
        except OSError as exc:
            for dest, old in reversed(moved):  # whatever is at dest now is new: put the old back
                if dest.exists() or dest.is_symlink():
                    _remove(dest)
                if old is not None:
                    os.replace(old, dest)
            raise OSError(exc.errno, exc.strerror or str(exc), str(dest)) from None
        return [out / rel for rel in files]
    finally:
        for tmp in (stage, backup):
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
