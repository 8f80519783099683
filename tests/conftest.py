import os

# Keep BLAS single-threaded in tests: pytest-xdist already uses both cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def bank():
    from acap.items import load_bank

    return load_bank()


# ---- databases for the store (acap.store) ---------------------------------------------------
# PostgreSQL tests run on a database of their own, created from ACAP_TEST_DATABASE_URL and
# dropped afterwards (several people test against one server at once). In CI (CI set) an
# unreachable server fails the tests; on a laptop without PostgreSQL they skip.
PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_database(template: str | None = None):
    """Yield the URL of a new uniquely named database (a copy of ``template`` if given); drop it after."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("ACAP_TEST_DATABASE_URL", PG_DEFAULT_URL))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"acap_{uuid.uuid4().hex[:16]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        message = f"PostgreSQL at {base.render_as_string(hide_password=True)} is unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_postgres_template():
    """A database migrated to the newest schema once per test process, copied for each test
    (CREATE DATABASE ... TEMPLATE is much faster than migrating every time)."""
    from sqlalchemy.engine import make_url

    from acap.store import make_engine, migrate

    for url in _postgres_database():
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()  # a template must have no open connections when copied
        yield make_url(url).database


@pytest.fixture
def postgres_url():
    """URL of a fresh, empty, uniquely named PostgreSQL database, dropped after the test."""
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """An empty database on SQLite (a file in tmp_path) and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'acap.sqlite'}"
    else:
        yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each store test runs on SQLite (a file in tmp_path) and on PostgreSQL (a copy of a
    migrated template); either may be empty or already migrated, open_store takes both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'acap.sqlite'}"
    else:
        yield from _postgres_database(template=request.getfixturevalue("_migrated_postgres_template"))
@pytest.fixture(scope="session")
def demo_responses(tmp_path_factory):
    """The demo's simulated responses (12 organisations, seed 2024) as a CSV, as a researcher hands them in."""
    from acap.simulate import simulate

    path = tmp_path_factory.mktemp("demo-data") / "responses.csv"
    simulate(12, seed=2024).responses.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def validation_demo_report(demo_responses):
    """One validation report of the demo data over every respondent, shared by the tests that read one.

    Every respondent (``respondents="all"``), so the report's own small-cell rules (Fernhollow ICB,
    4 respondents) are exercised; ``date`` fixed so two builds are identical.
    """
    from acap.validate import validation_report

    return validation_report(demo_responses, seed=2024, n_iter=20, date="2026-01-01 00:00 UTC", respondents="all")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``acap demo`` run once through the command line: (output folder, terminal output)."""
    from typer.testing import CliRunner

    from acap.cli import app

    out = tmp_path_factory.mktemp("demo") / "demo"
    res = CliRunner().invoke(app, ["demo", "--out", str(out), "--organisations", "12"])
    assert res.exit_code == 0, res.output
    return out, res.output
