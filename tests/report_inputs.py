"""Inputs shared by the report tests: a scored simulation published through acap.publish, with
advice networks measured by acap.network.pipeline (as acap demo does)."""

from __future__ import annotations

from acap.demo import simulate_network_data
from acap.items import load_bank
from acap.network.pipeline import run_networks
from acap.pipeline import score_and_aggregate
from acap.publish import publish_all
from acap.simulate import simulate


def demo_feedback(n_organisations: int = 12, seed: int = 2024, networks: bool = False):
    bank = load_bank()
    sim = simulate(n_organisations, seed=seed, bank=bank)
    scored = score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"])
    nets = None
    if networks:
        ties, people, contacts = simulate_network_data(scored, seed=seed)
        nets = run_networks(ties, people, contacts, scored, seed=seed, n_perm=20).feedback
    return bank, sim, scored, publish_all(scored, organisations=sim.organisations, networks=nets)
