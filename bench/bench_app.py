"""Admin results page: server time to first render for a wave of 200 organisations and ~5,000 respondents.

Fills an embedded (SQLite) store with a simulated wave, then renders the results page as an
administrator with Streamlit's AppTest (the same script the server runs, without a browser):
the first render scores and publishes the whole wave (cold cache), the second reads the cache
keyed by wave and last submission. Goal: first render under 2 s. Printed, never asserted.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "app"))

from streamlit.testing.v1 import AppTest  # noqa: E402

from acap.simulate import simulate  # noqa: E402
from acap.store import open_store  # noqa: E402
from acap.store.demo import seed_demo  # noqa: E402
from acap_app import auth, context  # noqa: E402

N_ORGS = 200


def main() -> None:
    t0 = time.perf_counter()
    sim = simulate(n_organisations=N_ORGS, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(data_dir=tmp)
        seeded = seed_demo(store, sim, title="Bench wave")
        fill = time.perf_counter() - t0
        context.STORE_OVERRIDE = store
        times = []
        for attempt in range(3):
            context.clear_results()
            at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=600)
            at.session_state["user"] = auth.User("admin", "admin")
            t = time.perf_counter()
            at.run()
            cold = time.perf_counter() - t
            assert not at.exception, at.exception
            t = time.perf_counter()
            at.run()  # same wave, no new submission: served from the cache
            warm = time.perf_counter() - t
            times.append((cold, warm))
        store.close()
    cold, warm = min(t[0] for t in times), min(t[1] for t in times)
    print(f"Admin results page, {N_ORGS} organisations, {seeded.respondents} respondents (SQLite; store filled "
          f"in {fill:.1f} s)")
    print(f"  first render (cold: export, score, publish every organisation): {cold:.2f} s best of 3 "
          f"(goal < 2 s)")
    print(f"  next render (cached by wave and last submission):               {warm:.2f} s")
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} (2 cores shared; figures are pessimistic)")


if __name__ == "__main__":
    main()
