"""The end-to-end demonstration behind ``acap demo``.

Simulates about a dozen organisations, scores and aggregates them, validates the scales
(reliability, factor structure, invariance, aggregation statistics), simulates and analyses
their advice networks, and writes every result to one folder. Each capability of acap adds its part here. Returns data; the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from acap.items import Bank, load_bank
from acap.outputs import csv_writer, json_writer, remove_writer, run_manifest, slug, write_all
from acap.pipeline import Scored, headline, score_and_aggregate
from acap.report_html import validation_files
from acap.simulate import Simulation, simulate
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
    validation = validation_report(sim.responses, bank=bank, seed=seed)
    net_files, net_extras = network_stage(scored, seed=seed)
    files = {
        "data/responses.csv": csv_writer(sim.responses, index=False),
        "data/organisations.csv": csv_writer(sim.organisations),
        **scoring_files(scored),
        **validation_files(validation),
        **net_files,
    }
    # what every scoring run records (versions, options, date, warnings), as `acap score` writes it
    files["manifest.json"] = json_writer(run_manifest(
        bank=bank, source="simulated", options={"seed": seed, "organisations": n_organisations},
        warnings=scored.scores.warnings, notes=scored.scores.notes, files=list(files)))
    written = write_all(out_dir, files)
    return DemoResult(out_dir=Path(out_dir), files=written, simulation=sim, scored=scored, headline=head,
                      extras={"validation": validation, "network": net_extras})


def network_stage(scored: Scored, seed: int, score: str = "potential", n_perm: int = 1000) -> tuple[dict, dict]:
    """Simulate advice networks for the scored organisations, measure them and link them to ACAP.

    Tie probability rises with the respondent's ``score`` in the simulation, so the linking
    analyses have a known effect to find. Returns the files to write and a summary.
    """
    from acap.network import export_all, link_networks, simulate_networks, split_organisations

    # Organisations suppressed below the minimum n take no part: nothing about them can leave.
    hidden = set(hidden_organisations(scored))
    people = scored.scores.background.reset_index()[["respondent_id", "organisation", "role"]]
    people[score] = scored.scores.composites[score].to_numpy()
    people = people[~people["organisation"].isin(hidden)].dropna(subset=[score])
    nets = simulate_networks(people, seed=seed, score=score, score_effect=0.5)
    individual = scored.scores.scales.join(scored.scores.composites[["potential", "realised"]])
    org_means = scored.organisations.table["mean"].unstack("scale")[list(individual.columns)]
    links = link_networks(nets.edges, nets.nodes, individual, org_means.dropna(how="all"),
                          dyadic_score=score, n_perm=n_perm, seed=seed)
    # What leaves the library: pseudonymous labels (P01 ...) instead of respondent IDs, and
    # no individual scores beside them.
    label = nets.nodes.set_index("id")["label"]
    ties = nets.edges.assign(source=nets.edges["source"].map(label), target=nets.edges["target"].map(label))
    roster = nets.nodes[["organisation", "id", "label", "role", "board", "responded"]]
    contacts = nets.contacts.assign(respondent=nets.contacts["respondent"].map(label)).rename(
        columns={"respondent": "person"})
    metrics = links.metrics.set_index(links.metrics.index.map(label).rename("label"))
    files = {
        "network/ties.csv": csv_writer(ties, index=False),
        "network/people.csv": csv_writer(roster.drop(columns="id"), index=False),
        "network/outside_contacts.csv": csv_writer(contacts, index=False),
        "network/node_metrics.csv": csv_writer(metrics),
        "network/organisations.csv": csv_writer(links.org_network),
        "network/link_individual.csv": csv_writer(links.individual),
        "network/link_organisation.csv": csv_writer(links.organisation),
        "network/link_dyadic.csv": csv_writer(links.dyadic),
        # one folder, replaced whole, so no organisation's old exports outlive a new run
        "network/gephi": _gephi_writer(export_all, split_organisations(nets.edges, roster, nets.contacts)),
    }
    return files, {"links": links, "networks": nets, "org_network": links.org_network}


def hidden_organisations(scored: Scored) -> list[str]:
    """Organisations whose every result is suppressed (fewer respondents than the minimum n)."""
    flags = scored.organisations.table["suppressed"].groupby(level="organisation").all()
    return list(flags.index[flags.to_numpy()])


def _gephi_writer(export, networks: dict):
    """A writer that fills a folder with one sub-folder of exports per organisation."""

    def write(path: Path) -> None:
        taken: set[str] = set()
        for org, net in networks.items():
            folder = path / slug(org, taken)
            folder.mkdir(parents=True)
            export(net, folder)

    return write


def scoring_files(scored: Scored, respondents: bool = False) -> dict:
    """The result files of scoring and aggregation (shared by ``acap score`` and the demo).

    Organisation results only, with suppression applied; respondent-level scores are written
    when ``respondents`` is true (a researcher scoring their own data asks for them).
    """
    org = scored.organisations
    files = {
        "organisations/results.csv": csv_writer(org.table),
        "organisations/by_role.csv": csv_writer(org.by_role),
        "organisations/knowledge_gaps.csv": csv_writer(scored.gaps),
        "organisations/headline.csv": csv_writer(headline(scored)),
        "aggregation/icc.csv": csv_writer(org.public_reliability()),
    }
    # Listed either way, so a run without them also clears those of an earlier run.
    files["scores/respondents.csv"] = csv_writer(scored.scores.table()) if respondents else remove_writer()
    return files
