"""Benchmark: 1,000 respondents saving pages and submitting at once, on SQLite and PostgreSQL.

Each respondent (one code) saves a background page and three scale pages in order, then fires
two submits at the same moment (a double click, two tabs): exactly one must succeed and the
other be refused as AlreadySubmitted. Respondents run concurrently on a bounded thread pool
(16 threads, as many app sessions) against the store API, over loopback only.

Afterwards everything is read back: every code's answers must be exactly what it saved (0
lost), every code submitted once and the export must hold one row per respondent (0
duplicated). Prints throughput (operations per second) and p50/p95 latency per operation.
PostgreSQL runs on a fresh database made from ``$ACAP_TEST_DATABASE_URL`` (default: the
local test server) and dropped afterwards; without a server that part is skipped with a note.

Timings on the shared 2-core machine are pessimistic: run it a few times and quote the best.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_line  # noqa: E402

import numpy as np  # noqa: E402

from acap.items import load_bank  # noqa: E402
from acap.store import AlreadySubmitted, open_store  # noqa: E402

N_RESPONDENTS = 1000
N_ORGS = 20
THREADS = 16
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def plan(bank, n: int, seed: int = 7) -> list[dict]:
    """Each respondent's pages (page -> item -> code) and background, drawn at random."""
    rng = random.Random(seed)
    scales = bank.scale_ids[:3]
    roles = bank.role_ids
    out = []
    for _ in range(n):
        pages = {s: {i: rng.choice([1, 2, 3, 4, 5, 6, 7, 7, 8, None]) for i in bank.scale_items(s)}
                 for s in scales}
        out.append({"role": rng.choice(roles), "years": round(rng.uniform(0, 20), 1), "pages": pages})
    return out


def run(store, bank, n: int = N_RESPONDENTS, threads: int = THREADS) -> dict:
    orgs = [store.add_organisation(f"Bench organisation {k:02d}", "ICB place") for k in range(N_ORGS)]
    wave = store.create_wave("Bench", actor="bench")
    codes = []
    for k, org in enumerate(orgs):
        codes += store.issue_codes(wave, org, n // N_ORGS + (k < n % N_ORGS), actor="bench")
    todo = plan(bank, n)
    lat: dict[str, list[float]] = {"save_page": [], "submit": []}
    outcome = {"submitted": 0, "refused": 0, "errors": []}
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=threads)
    futures = []

    def timed(kind, fn, *args):
        t0 = time.perf_counter()
        try:
            fn(*args)
            result = "ok"
        except AlreadySubmitted:
            result = "refused"
        except Exception as exc:  # noqa: BLE001 - counted and shown, never hidden
            result = f"{type(exc).__name__}: {exc}"
        with lock:
            lat[kind].append(time.perf_counter() - t0)
        return result

    def submit_once(code):
        r = timed("submit", store.submit, code)
        with lock:
            if r == "ok":
                outcome["submitted"] += 1
            elif r == "refused":
                outcome["refused"] += 1
            else:
                outcome["errors"].append(r)

    def respondent(code, p):
        r = timed("save_page", store.save_page, code, "background", {},
                  {"role": p["role"], "years_in_role": p["years"]})
        for page, answers in p["pages"].items():
            if r != "ok":
                break
            r = timed("save_page", store.save_page, code, page, answers)
        if r != "ok":
            with lock:
                outcome["errors"].append(r)
            return
        # a double click: two submits racing
        with lock:
            futures.extend([pool.submit(submit_once, code), pool.submit(submit_once, code)])

    t0 = time.perf_counter()
    with lock:
        futures.extend(pool.submit(respondent, c, p) for c, p in zip(codes, todo))
    while True:
        with lock:
            pending = [f for f in futures if not f.done()]
        if not pending:
            break
        wait(pending)
    wall = time.perf_counter() - t0
    pool.shutdown()

    # Read everything back.
    lost = 0
    for code, p in zip(codes, todo):
        expected = {i: v for page in p["pages"].values() for i, v in page.items()}
        got = store.answers(code)
        lost += sum(got.get(i, "missing") != v for i, v in expected.items())
        lost += store.invitation(code).status != "submitted"
    export = store.export_responses(wave)
    duplicated = (len(export) - n) + int(export["respondent_id"].duplicated().sum()) + (outcome["submitted"] - n)
    ops = sum(len(v) for v in lat.values())
    return {"wall": wall, "ops": ops, "lat": lat, "lost": lost, "duplicated": duplicated,
            "submitted": outcome["submitted"], "refused": outcome["refused"], "errors": outcome["errors"],
            "rows": len(export)}


def report(name: str, r: dict) -> None:
    print(f"  {name}: {r['ops']:,} operations in {r['wall']:.2f} s = {r['ops'] / r['wall']:,.0f} ops/s; "
          f"lost {r['lost']}, duplicated {r['duplicated']}; submitted {r['submitted']}, "
          f"double submits refused {r['refused']}, errors {len(r['errors'])}")
    for kind, values in r["lat"].items():
        ms = np.asarray(values) * 1000
        print(f"    {kind:9s} n={len(ms):5d}  p50 {np.percentile(ms, 50):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms"
              f"  max {ms.max():7.1f} ms")
    for e in r["errors"][:3]:
        print(f"    error: {e[:160]}")


def _postgres():
    """A fresh PostgreSQL database URL and a function dropping it (None, None without a server)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("ACAP_TEST_DATABASE_URL", PG_DEFAULT))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"acap_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        print(f"  PostgreSQL: skipped, no server at {base.render_as_string(hide_password=True)} ({type(exc).__name__})")
        return None, None

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def main(n: int = N_RESPONDENTS, threads: int = THREADS) -> None:
    bank = load_bank()
    print(f"Store: {n:,} respondents x (4 page saves + 2 racing submits), {threads} threads "
          f"(load {load_line()})")
    with tempfile.TemporaryDirectory(prefix="acap-bench-") as tmp:
        store = open_store(data_dir=tmp)
        report("SQLite (WAL)", run(store, bank, n, threads))
        store.close()
    url, drop = _postgres()
    if url:
        try:
            store = open_store(url, pool_size=threads, max_overflow=threads)
            report("PostgreSQL", run(store, bank, n, threads))
            store.close()
        finally:
            drop()


if __name__ == "__main__":
    main()
