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
