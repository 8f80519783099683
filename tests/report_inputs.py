"""Inputs shared by the report tests: a scored demo run, its published feedback and an advice
network built by hand as the publication layer's NetworkFeedback (until the network stage
publishes one itself)."""

from __future__ import annotations

import pandas as pd

from acap.items import load_bank
from acap.pipeline import score_and_aggregate
from acap.publish import NetworkFeedback, publish_all
from acap.simulate import simulate


def network_for(scored, organisation: str, bank, seed: int = 1) -> NetworkFeedback:
    from acap.network import node_metrics, simulate_networks

    people = scored.scores.background.reset_index()[["respondent_id", "organisation", "role"]]
    people["potential"] = scored.scores.composites["potential"].to_numpy()
    people = people[people["organisation"] == organisation].dropna(subset=["potential"])
    nets = simulate_networks(people, seed=seed, score="potential", score_effect=0.5)
    label = nets.nodes.set_index("id")["label"]
    met = node_metrics(nets.edges, nets.nodes)
    nodes = nets.nodes.set_index("id")[["label", "role", "board"]].join(met).set_index("label")
    nodes.insert(0, "role_group", nodes.pop("role").map(bank.role_groups))
    ties = nets.edges.assign(source=nets.edges["source"].map(label), target=nets.edges["target"].map(label))
    outside = nets.contacts.groupby("category")["count"].sum().to_frame("ties")
    summary = pd.Series(dict(n_nodes=len(nodes), density=0.21, board_density=0.62, reciprocity=0.4,
                             response_rate=0.9))
    return NetworkFeedback(summary=summary, nodes=nodes, ties=ties[["source", "target", "weight"]], outside=outside)


def demo_feedback(n_organisations: int = 12, seed: int = 2024, network_org: str | None = None):
    bank = load_bank()
    sim = simulate(n_organisations, seed=seed, bank=bank)
    scored = score_and_aggregate(sim.responses, bank, invited=sim.organisations["invited"])
    nets = {network_org: network_for(scored, network_org, bank)} if network_org else None
    return bank, sim, scored, publish_all(scored, organisations=sim.organisations, networks=nets)
