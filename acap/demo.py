"""The end-to-end demonstration behind ``acap demo``.

Simulates about a dozen organisations and their advice networks, then calls the library on
the simulation as on collected data: scoring and aggregation, the publication layer
(:mod:`acap.publish`), the validation report (shown respondents only) and the network stage
(:mod:`acap.network.pipeline`); writes every result to one folder. This module only
simulates and calls the library. Returns data; the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.items import Bank, load_bank
from acap.outputs import csv_writer, json_writer, run_manifest, write_all
from acap.pipeline import Scored, score_and_aggregate
from acap.publish import headline_table, publication_files, publish_all, run_meta
from acap.report_html import validation_files
from acap.report.run import feedback_run, report_files
from acap.simulate import Simulation, simulate, simulate_previous_wave
from acap.validate import validation_report


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
        Organisation summary as published (status, n, potential, realised, ratio, largest gap).
    extras : dict
        ``validation`` (the report), ``feedback`` (organisation -> OrganisationFeedback),
        ``network`` (links, org_network summaries, the NetworkRun).
    """

    out_dir: Path
    files: list
    simulation: Simulation
    scored: Scored
    headline: pd.DataFrame
    extras: dict = field(default_factory=dict)


def run_demo(out_dir: str | Path = "acap-demo", seed: int = 2024, n_organisations: int = 12,
             bank: Bank | None = None, n_perm: int = 1000) -> DemoResult:
    """Simulate, then run the library on the simulation exactly as on collected data.

    Parameters
    ----------
    out_dir : path-like, default "acap-demo"
    seed : int, default 2024
    n_organisations : int, default 12
    bank : Bank, optional
    n_perm : int, default 1000
        Permutations of the network linking tests.

    Returns
    -------
    DemoResult
    """
    from acap.network.pipeline import network_files, run_networks

    bank = bank or load_bank()
    sim = simulate(n_organisations=n_organisations, seed=seed, bank=bank)
    scored = score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"])
    ties, people, contacts = simulate_network_data(scored, seed=seed)
    net = run_networks(ties, people, contacts, scored, seed=seed, n_perm=n_perm)
    feedback = publish_all(scored, organisations=sim.organisations, networks=net.feedback,
                           meta=run_meta(scored, wave="Demo wave 2"))
    # Feedback reports for every organisation, with an earlier (simulated) wave for the change section.
    previous = simulate_previous_wave(sim.responses, bank, seed=seed + 1)
    before, _ = feedback_run(previous, bank, organisations=sim.organisations, wave="Demo wave 1")
    validation = validation_report(sim.responses, bank=bank, seed=seed, respondents="shown")
    files = {
        # the simulated input, as a user would collect it (not results: never published)
        "data/responses.csv": csv_writer(sim.responses, index=False),
        "data/organisations.csv": csv_writer(sim.organisations),
        "data/network/ties.csv": csv_writer(ties, index=False),
        "data/network/people.csv": csv_writer(people, index=False),
        "data/network/outside_contacts.csv": csv_writer(contacts, index=False),
        **publication_files(scored, feedback=feedback),
        **validation_files(validation),
        **network_files(net, seed=seed),
        "store": store_writer(sim, bank),
        "data/previous_responses.csv": csv_writer(previous, index=False),
        **report_files(feedback, before),
    }
    # what every scoring run records (versions, options, date, warnings), as `acap score` writes it
    files["manifest.json"] = json_writer(run_manifest(
        bank=bank, source="simulated", options={"seed": seed, "organisations": n_organisations},
        warnings=scored.scores.warnings, notes=scored.scores.notes, files=list(files)))
    written = write_all(out_dir, files)
    return DemoResult(out_dir=Path(out_dir), files=written, simulation=sim, scored=scored,
                      headline=headline_table(feedback),
                      extras={"validation": validation, "feedback": feedback,
                              "network": {"links": net.links, "org_network": net.summaries, "run": net}})


def simulate_network_data(scored: Scored, seed: int, score: str = "potential") -> tuple:
    """Simulated network answers of every respondent, in the shapes a network module collects.

    Tie probability rises with the respondent's ``score`` in the simulation, so the linking
    analyses have a known effect to find. Returns ``(ties, people, contacts)`` by respondent
    id: ``ties`` organisation, source, target, weight; ``people`` organisation, id, role,
    board, responded; ``contacts`` organisation, respondent, category, count, frequency.
    """
    from acap.network import simulate_networks

    people = scored.scores.background.reset_index()[["respondent_id", "organisation", "role"]]
    z = scored.scores.composites[score].to_numpy()
    people[score] = np.where(np.isnan(z), np.nanmean(z), z)
    nets = simulate_networks(people, seed=seed, score=score, score_effect=0.5)
    roster = nets.nodes[["organisation", "id", "role", "board", "responded"]]
    return nets.edges, roster, nets.contacts


def store_writer(sim: Simulation, bank: Bank):
    """A writer that fills a folder with an online-survey database (``acap.sqlite``) holding the
    simulated answers as a submitted wave, and ``unanswered_codes.csv`` (the codes nobody has
    used yet, as a mail merge would hold them): ``acap serve --data <folder>`` opens it."""

    def write(path: Path) -> None:
        from acap.store import open_store
        from acap.store.demo import seed_demo

        store = open_store(data_dir=path)
        try:
            seeded = seed_demo(store, sim, bank=bank)
        finally:
            store.close()
        codes = pd.DataFrame([(org, code) for org, cs in seeded.unanswered.items() for code in cs],
                             columns=["organisation", "code"])
        csv_writer(codes, index=False)(path / "unanswered_codes.csv")

    return write
