"""The network stage for collected data (acap.network.pipeline) and ``acap score --networks``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from acap.demo import simulate_network_data
from acap.network.pipeline import OTHER_GROUP, run_networks
from acap.pipeline import score_and_aggregate
from acap.simulate import simulate

MIN_N = 5


@pytest.fixture(scope="module")
def collected(bank):
    sim = simulate(n_organisations=6, seed=21, bank=bank)
    r = sim.responses
    small = sim.organisations.index[0]
    keep = ~((r["organisation"] == small) & (r.groupby("organisation").cumcount() >= 3))
    data = r[keep.to_numpy()].reset_index(drop=True)
    scored = score_and_aggregate(data, bank)
    ties, people, contacts = simulate_network_data(scored, seed=4)
    return data, scored, ties, people, contacts, small


@pytest.fixture(scope="module")
def run(collected):
    _, scored, ties, people, contacts, _ = collected
    return run_networks(ties, people, contacts, scored, n_perm=99, seed=3)


def test_suppressed_organisations_take_no_part(run, collected):
    small = collected[-1]
    assert run.dropped == [small]
    assert small not in run.summaries.index and small not in run.feedback
    assert small not in run.metrics.index.get_level_values("organisation")
    assert small not in run.links.org_network.index


def test_nodes_hold_pseudonyms_role_groups_and_measures_only(run, collected):
    scored, people = collected[1], collected[3]
    br = scored.organisations.by_role
    shown_cells = (~br["suppressed"].astype(bool)).groupby(level=[0, 1]).all()
    for org, fb in run.feedback.items():
        nodes = fb.nodes
        assert not {"role", "id", "responded", "potential"} & set(nodes.columns)
        n = len(people[people["organisation"] == org])
        assert sorted(nodes.index) == [f"P{k:02d}" for k in range(1, n + 1)]
        counts = nodes["role_group"].value_counts()
        for g, c in counts.items():
            if g == OTHER_GROUP:
                assert c >= MIN_N or c == len(nodes)
            else:
                assert c >= MIN_N and shown_cells[(org, g)]
        assert set(fb.ties["source"]) <= set(nodes.index) and set(fb.ties["target"]) <= set(nodes.index)
        assert fb.outside.index.name == "category" and (fb.outside["ties"] >= 0).all()
    org = next(iter(run.feedback))
    again = run_networks(*collected[2:5], collected[1], n_perm=99, seed=3)  # same seed, same labels
    assert again.feedback[org].nodes.equals(run.feedback[org].nodes)


def test_pseudonyms_are_not_in_roster_order(collected):
    from acap.network.pipeline import _shuffled_labels

    ids = collected[3]["id"].head(30)
    a = _shuffled_labels(ids, np.random.default_rng(1))
    assert sorted(a) == [f"P{k:02d}" for k in range(1, 31)]
    assert list(a) != sorted(a)  # the roster's order (often by role) does not show through
    assert a.equals(_shuffled_labels(ids, np.random.default_rng(1)))
    assert not a.equals(_shuffled_labels(ids, np.random.default_rng(2)))


def test_peers_only_with_enough_shown_organisations(run):
    peers = next(iter(run.feedback.values())).peers
    assert peers is not None and (peers["n_peers"] >= MIN_N).all()  # 5 shown organisations


def test_score_networks_from_files_without_the_demo(collected, tmp_path):
    data, _, ties, people, contacts, small = collected
    src = tmp_path / "responses.csv"
    data.to_csv(src, index=False)
    net = tmp_path / "net"
    net.mkdir()
    ties.to_csv(net / "ties.csv", index=False)
    people.to_csv(net / "people.csv", index=False)
    contacts.to_csv(net / "outside_contacts.csv", index=False)
    out = tmp_path / "out"
    code = ("import sys; from typer.testing import CliRunner; from acap.cli import app; "
            f"r = CliRunner().invoke(app, ['score', {str(src)!r}, '--out', {str(out)!r}, '--networks', {str(net)!r}]);"
            "print(r.output); assert r.exit_code == 0, r.output; "
            "assert 'acap.demo' not in sys.modules, 'acap score imported acap.demo'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nodes = pd.read_csv(out / "network/node_metrics.csv", encoding="utf-8-sig")
    assert small not in set(nodes["organisation"])
    assert "1 suppressed, left out" in proc.stdout
    text = (out / "network/ties.csv").read_text(encoding="utf-8-sig")
    assert not any(pid in text for pid in people["id"].head(20))
    assert sorted(p.name for p in (out / "network/gephi").iterdir())
