"""Benchmark the feedback reports (acap.report).

1. Median (and best) seconds per organisation report, PDF and HTML, over the shown
   organisations of a 12-organisation simulation (builder and renderer; goal: PDF <= 0.3 s).
2. 200 organisations end to end on 2 cores: ``acap report RESPONSES --out DIR --jobs 2`` as a
   user runs it (start-up, validation, scoring, publication, rendering in 2 processes, writing;
   goal <= 40 s).
Run: python bench/bench_report.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_line, measure, scratch  # noqa: E402

from acap.items import load_bank  # noqa: E402
from acap.pipeline import score_and_aggregate  # noqa: E402
from acap.publish import publish_all  # noqa: E402
from acap.report import feedback, render_html, render_pdf  # noqa: E402
from acap.simulate import simulate  # noqa: E402


def per_report() -> None:
    bank = load_bank()
    sim = simulate(12, seed=2024, bank=bank)
    fbs = publish_all(score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"]),
                      organisations=sim.organisations)
    shown = [f for f in fbs.values() if f.status == "shown"]
    render_pdf(feedback(shown[0]))  # fonts registered once per process, as in a worker
    pdf, html, size = [], [], []
    for fb in shown:
        rep = feedback(fb)
        p = measure(lambda: render_pdf(feedback(fb)), repeat=3)
        h = measure(lambda: render_html(feedback(fb)), repeat=3)
        pdf.append(p.best)
        html.append(h.best)
        size.append(len(p.result))
        del rep
    print(f"  per organisation ({len(shown)} reports, best of 3 each): PDF median {np.median(pdf):.3f} s "
          f"(max {max(pdf):.3f}), HTML median {np.median(html):.3f} s; PDF size median {np.median(size) / 1024:.0f} KB "
          f"[goal PDF <= 0.3 s]")


def end_to_end(n_org: int = 200, jobs: int = 2) -> None:
    with scratch() as tmp:
        sim = simulate(n_org, seed=11)
        resp, orgs = tmp / "responses.csv", tmp / "organisations.csv"
        sim.responses.to_csv(resp, index=False)
        sim.organisations.reset_index()[["organisation", "type", "invited"]].to_csv(orgs, index=False)
        acap = Path(sys.executable).with_name("acap")
        cmd = [str(acap), "report", str(resp), "--out", str(tmp / "out"), "--organisations", str(orgs),
               "--jobs", str(jobs)]
        best = None
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            t = time.perf_counter() - t0
            best = t if best is None else min(best, t)
        n_files = len(list((tmp / "out" / "reports").iterdir()))
        print(f"  {n_org} organisations ({len(sim.responses)} respondents) end to end on {jobs} processes: "
              f"best of 2 {best:.1f} s, {best / n_org:.3f} s per organisation, {n_files} files [goal <= 40 s]")


if __name__ == "__main__":
    print(f"bench_report (load {load_line()})")
    per_report()
    end_to_end()
