"""Helpers shared by the ``bench/bench_*.py`` scripts: timers, the Rscript runner, load average.

Import from a bench script (works when run as ``python bench/bench_x.py`` from any directory)::

    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import best_of, run_r  # noqa: E402

Importing this module also puts the repository root on ``sys.path``, so ``import acap`` works
from a checkout where the package is not installed.

The R side is optional everywhere: :func:`run_r` returns None when Rscript is not on the PATH
(silently: the script then prints acap's figures alone) and, when R runs but fails, prints one
line saying why and returns None, so a bench never dies because of R.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Indent of the one-line R failure notes; the scripts' own lines are indented by two spaces.
_NOTE = "  "


@dataclass(frozen=True)
class Runs:
    """Wall-clock and CPU seconds of repeated calls, and the last call's return value."""

    wall: list[float]
    cpu: list[float]
    result: Any

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return float(np.median(self.wall))

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)


def measure(fn: Callable[[], Any], repeat: int = 1) -> Runs:
    """Call ``fn()`` ``repeat`` times; wall (perf_counter) and CPU (process_time) of each call."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Runs(wall, cpu, out)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best and median wall-clock seconds of ``repeat`` calls of ``fn()``.

    The best is the figure to quote on a shared machine (the run least disturbed by other
    jobs); the median shows how much the runs swung.
    """
    runs = measure(fn, repeat)
    return runs.best, runs.median


def load_line() -> str:
    """The 1/5/15-minute load average as ``"0.89/1.11/1.57"`` (``"n/a"`` where the OS has none).

    Timings on a shared machine swing with its load; print this next to the figures.
    """
    if not hasattr(os, "getloadavg"):
        return "n/a"
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def have_r() -> bool:
    """Whether Rscript is on the PATH (check before writing large inputs for R)."""
    return shutil.which("Rscript") is not None


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary directory (removed afterwards) for the data files handed to R."""
    with tempfile.TemporaryDirectory(prefix="acap-bench-") as tmp:
        yield Path(tmp)


def _r_error(stderr: str | None) -> str:
    """R's error message on one line (R ends with a bare "Execution halted", which says nothing)."""
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Error")]
    if starts:
        # "Error in f(x) :" is often continued on the next, indented line(s).
        msg = []
        for ln in lines[starts[-1]:]:
            if ln.startswith(("Calls:", "Execution halted", "In addition:")):
                break
            msg.append(ln)
        text = " ".join(msg)
    else:
        rest = [ln for ln in lines if ln != "Execution halted"]
        text = rest[-1] if rest else "no message on stderr"
    return text if len(text) <= 200 else text[:197] + "..."


def run_r(script: str, *args: str | os.PathLike, timeout: float = 900) -> str | None:
    """Run R code with Rscript and return its standard output.

    Parameters
    ----------
    script : str
        R code; written to a temporary ``.R`` file and run as ``Rscript file args...``
        (``commandArgs(TRUE)`` in the code gives ``args``).
    *args : str or path
        Command-line arguments, usually the paths of data files written for R.
    timeout : float
        Seconds before R is stopped and the run counts as failed.

    Returns
    -------
    str or None
        R's standard output; None without Rscript on the PATH (nothing printed) or when the run
        fails (non-zero exit, timeout, cannot start: one line saying why is printed).
    """
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with scratch() as tmp:
        path = tmp / "bench.R"
        path.write_text(script)
        try:
            proc = subprocess.run([rscript, str(path), *map(str, args)], capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"{_NOTE}R run failed: timed out after {timeout:g} s")
            return None
        except OSError as exc:
            print(f"{_NOTE}R run failed: could not start Rscript ({exc})")
            return None
    if proc.returncode != 0:
        print(f"{_NOTE}R run failed (exit status {proc.returncode}): {_r_error(proc.stderr)}")
        return None
    return proc.stdout


def _not_understood(out: str, why: str) -> None:
    lines = out.strip().splitlines()
    shown = lines[-1][:120] if lines else "(empty output)"
    print(f"{_NOTE}R output not understood ({why}): {shown!r}")


def r_numbers(out: str | None, tag: str | None = None, count: int | None = None) -> list[float] | None:
    """The numbers on R's last output line (or last line starting with ``tag``, tag dropped).

    Returns None when ``out`` is None; when the line is missing, not numeric or has fewer than
    ``count`` numbers, prints one line saying so and returns None. With ``count`` only the first
    ``count`` numbers are returned.
    """
    if out is None:
        return None
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    if tag is not None:
        lines = [ln[len(tag):] for ln in lines if ln.startswith(tag)]
    if not lines:
        _not_understood(out, f"no line starting with {tag!r}" if tag else "no output")
        return None
    try:
        values = [float(v) for v in lines[-1].split()]
    except ValueError:
        _not_understood(out, "not numbers")
        return None
    if not values or (count is not None and len(values) < count):
        _not_understood(out, f"expected {count or 1} number(s)")
        return None
    return values[:count] if count is not None else values


def r_json(out: str | None) -> dict | None:
    """R's last output line parsed as a JSON object (None, with one line printed, if it is not)."""
    if out is None:
        return None
    lines = out.strip().splitlines()
    try:
        value = json.loads(lines[-1]) if lines else None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        _not_understood(out, "not a JSON object")
        return None
    return value


def compile_bytecode() -> None:
    """Bring acap's bytecode up to date, as an installed package has it.

    ``make setup`` compiles it; after edits to a checkout (where PYTHONDONTWRITEBYTECODE may be
    set) every start would otherwise compile the edited modules again, which no user pays.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "acap"), str(ROOT / "app")], check=True)
