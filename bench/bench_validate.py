"""What a researcher waits for: ``acap validate`` end to end, warm and on a fresh numba cache.

1. ``acap demo`` data (264 respondents, 43 items): ``acap validate`` as a subprocess, process
   start to exit, best of several warm runs, and a first run with an empty numba cache
   (``NUMBA_CACHE_DIR`` pointed at a new folder: nothing compiled must be on this path).
   Target (issue 10): at most 3 s warm, the first run as fast as later ones.
2. ``import acap`` alone (target under 0.5 s) and ``import acap.cli``.
3. Where the time goes inside one report (sections and rendering), in-process.
4. psych's bfi and Holzinger-Swineford with only a model file (tests/fixtures/researcher).

Timings on a shared machine are pessimistic: read the best figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, load_line  # noqa: E402

ACAP = [sys.executable, "-m", "acap.cli"]
FIX = ROOT / "tests" / "fixtures" / "researcher"


def run(args, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   env={**os.environ, **(env or {})}, cwd=ROOT)
    return time.perf_counter() - t0


def main():
    print(f"load average 1/5/15 min {load_line()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run(ACAP + ["demo", "--out", str(tmp / "demo")])
        data = tmp / "demo" / "data" / "responses.csv"
        cmd = ACAP + ["validate", str(data), "--out", str(tmp / "rep")]
        # one untimed run first, so that the fresh-cache run and the warm ones find the same
        # files in the operating system's cache (only numba's cache is to be empty)
        run(cmd)
        fresh = run(cmd, env={"NUMBA_CACHE_DIR": str(tmp / "numba-fresh")})
        warm = sorted(run(cmd) for _ in range(3))
        print(f"1. acap validate on the demo data (264 x 43), process start to exit: best warm "
              f"{warm[0]:.2f} s (median {warm[1]:.2f} s); first run with an empty numba cache "
              f"{fresh:.2f} s (target: <= 3 s, first = later)")
        imp = min(run([sys.executable, "-c", "import acap"]) for _ in range(5))
        cli = min(run([sys.executable, "-c", "import acap.cli"]) for _ in range(3))
        bare = min(run([sys.executable, "-c", "pass"]) for _ in range(5))
        print(f"2. import acap {imp - bare:.3f} s, import acap.cli {cli - bare:.3f} s "
              f"(beyond a bare interpreter's {bare:.3f} s; target < 0.5 s)")

        from acap import validate as v
        from acap.report_html import render_html
        timings = {}
        for name in ("_items_section", "_reliability_section", "_adequacy_section", "_retention_section",
                     "_efa_section", "_cfa_section", "_invariance_section", "_aggregation_section"):
            fn = getattr(v, name)

            def timed(*a, _fn=fn, _name=name, **k):
                t0 = time.perf_counter()
                try:
                    return _fn(*a, **k)
                finally:
                    timings[_name] = timings.get(_name, 0.0) + time.perf_counter() - t0
            setattr(v, name, timed)
        t0 = time.perf_counter()
        rep = v.validation_report(data)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        render_html(rep)
        render = time.perf_counter() - t0
        print(f"3. in one process: report {total:.2f} s, HTML with figures {render:.2f} s; sections: "
              + ", ".join(f"{k.strip('_').replace('_section', '')} {t:.2f} s" for k, t in timings.items()))
        for name, extra in (("hs", ["--group", "school"]),
                            ("bfi", ["--reverse", "A1,C4,C5,E1,E2,O2,O5", "--group", "gender"])):
            cmd = ACAP + ["validate", str(FIX / f"{name}.csv"), "--model", str(FIX / f"{name}.yaml"),
                          "--out", str(tmp / name)] + extra
            best = min(run(cmd) for _ in range(2))
            print(f"4. acap validate {name}.csv --model {name}.yaml {' '.join(extra)}: best {best:.2f} s")


if __name__ == "__main__":
    main()
