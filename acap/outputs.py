"""Write a set of result files all or nothing.

Results are first written into a staging folder beside the destination; only when every file
has been written are they moved into place. A failure part-way leaves the destination as it
was (no half-written results).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

Writer = Callable[[Path], None]


def csv_writer(frame: pd.DataFrame, index: bool = True, float_format: str = "%.6g") -> Writer:
    """A writer that saves ``frame`` as UTF-8 CSV."""
    return lambda path: frame.to_csv(path, index=index, float_format=float_format)


def text_writer(text: str) -> Writer:
    """A writer that saves ``text``."""
    return lambda path: path.write_text(text, encoding="utf-8")


def write_all(out_dir: str | os.PathLike, files: Mapping[str, Writer]) -> list[Path]:
    """Write every file, or none.

    Parameters
    ----------
    out_dir : path-like
        Destination folder (created if needed). Files of the same names are replaced.
    files : mapping of relative path -> writer
        Each writer is called with the staging path to write.

    Returns
    -------
    list of Path
        The final paths, in the order given.
    """
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for rel, write in files.items():
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target)
        out.mkdir(exist_ok=True)
        final = []
        for rel in files:
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if (stage / rel).is_dir() and dest.is_dir():
                shutil.rmtree(dest)  # a folder result (e.g. one network's exports) replaces the old one whole
            os.replace(stage / rel, dest)
            final.append(dest)
        return final
    finally:
        shutil.rmtree(stage, ignore_errors=True)
