"""The end-to-end demonstration behind ``acap demo``.

Simulates about a dozen organisations, scores and aggregates them, and writes every result
to one folder. Each capability of acap adds its part here. Returns data; the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from acap.items import Bank, load_bank
from acap.outputs import csv_writer, write_all
from acap.pipeline import Scored, headline, score_and_aggregate
from acap.simulate import Simulation, simulate


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced.

    Attributes
    ----------
    out_dir : Path
    files : list of Path
        Every file written.
    simulation : Simulation
    scored : Scored
    headline : DataFrame
        Organisation summary (n, potential, realised, ratio, largest gap).
    extras : dict
        Summaries added by later stages (validation verdicts, network summaries).
    """

    out_dir: Path
    files: list
    simulation: Simulation
    scored: Scored
    headline: pd.DataFrame
    extras: dict = field(default_factory=dict)


def run_demo(out_dir: str | Path = "acap-demo", seed: int = 2024, n_organisations: int = 12,
             bank: Bank | None = None) -> DemoResult:
    """Simulate, score, aggregate and write the demo results.

    Parameters
    ----------
    out_dir : path-like, default "acap-demo"
    seed : int, default 2024
    n_organisations : int, default 12
    bank : Bank, optional

    Returns
    -------
    DemoResult
    """
    bank = bank or load_bank()
    sim = simulate(n_organisations=n_organisations, seed=seed, bank=bank)
    scored = score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"])
    head = headline(scored)
    files = {
        "data/responses.csv": csv_writer(sim.responses, index=False),
        "data/organisations.csv": csv_writer(sim.organisations),
        **scoring_files(scored),
    }
    written = write_all(out_dir, files)
    return DemoResult(out_dir=Path(out_dir), files=written, simulation=sim, scored=scored, headline=head)


def scoring_files(scored: Scored) -> dict:
    """The result files of scoring and aggregation (shared by ``acap score`` and the demo)."""
    org = scored.organisations
    return {
        "scores/respondents.csv": csv_writer(scored.scores.table()),
        "organisations/results.csv": csv_writer(org.table),
        "organisations/by_role.csv": csv_writer(org.by_role),
        "organisations/knowledge_gaps.csv": csv_writer(scored.gaps),
        "organisations/headline.csv": csv_writer(headline(scored)),
        "aggregation/icc.csv": csv_writer(org.reliability),
    }
