"""Sociograms: a seeded layout, positions for other renderers, a Figure value, and files."""

import random

import numpy as np
import pandas as pd
import pytest

from acap.network import AdviceNetwork, simulate_networks
from acap.network.sociogram import (draw_sociogram, save_sociogram, sociogram_figure, sociogram_layout,
                                    sociogram_positions)


def test_layout_is_seeded_and_leaves_global_generators_alone():
    edges = np.array([[0, 1], [1, 2], [2, 0], [3, 4], [4, 0], [5, 3]])
    weights = np.array([5, 3, 1, 4, 2, 1])
    random.seed(1)
    np.random.seed(1)
    before = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    a = sociogram_layout(7, edges, weights, seed=4)
    after = (random.random(), np.random.random())
    assert before == after  # the layout drew nothing from the global generators
    b = sociogram_layout(7, edges, weights, seed=4)
    assert np.array_equal(a, b)
    assert not np.allclose(a, sociogram_layout(7, edges, weights, seed=5))
    assert np.abs(a).max() == 1.0
    # tied nodes end up closer than untied ones on average (attraction works)
    d = np.linalg.norm(a[:, None] - a[None], axis=-1)
    tied = d[edges[:, 0], edges[:, 1]].mean()
    assert tied < d[np.triu_indices(7, 1)].mean()


@pytest.fixture(scope="module")
def forty(bank):
    rng = np.random.default_rng(0)
    roles = rng.choice(["board_chair", "board_non_executive", "analyst", "finance", "gp_clinical_lead",
                        "commissioning_manager"], 40)
    people = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(40)], "organisation": "A", "role": roles})
    sim = simulate_networks(people, seed=3)
    nd = sim.nodes.drop(columns="organisation").assign(role_group=lambda f: f.role.map(bank.role_groups))
    return AdviceNetwork.from_frames(nd.drop(columns=["role", "broker"]), sim.edges.drop(columns="organisation"),
                                     organisation="Test ICB")


def test_positions_of_forty_people_do_not_overlap(forty):
    pos = sociogram_positions(forty, seed=2)
    assert len(pos) == 40 and pos.index.str.fullmatch(r"P\d\d").all()
    xy, r = pos[["x", "y"]].to_numpy(), pos["radius"].to_numpy()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    need = r[:, None] + r[None, :]
    np.fill_diagonal(d, np.inf)
    assert (d >= need * 0.999).all()  # circles (and the labels inside them) never overlap
    assert pos.equals(sociogram_positions(forty, seed=2))
    assert pos["colour"].str.fullmatch(r"#[0-9a-fA-F]{6}").all()


def test_figure_is_a_value_with_a_plain_words_legend(forty, tmp_path):
    from matplotlib.figure import Figure

    fig = sociogram_figure(forty, seed=2)
    assert isinstance(fig, Figure)
    words = " ".join(t.get_text() for t in fig.texts) + " ".join(
        t.get_text() for leg in fig.legends for t in leg.get_texts())
    assert "goes to B for advice" in words and "Board member" in words and "role group" in fig.legends[0].get_title().get_text()
    assert "colour =" not in words and "betweenness" not in words
    paths = save_sociogram(fig, tmp_path / "s", formats=("png", "svg"))
    assert [p.suffix for p in paths] == [".png", ".svg"] and all(p.stat().st_size > 1000 for p in paths)
    assert draw_sociogram(forty, tmp_path / "t", formats=("svg",), seed=2)[0].read_text().count("P01") >= 1
