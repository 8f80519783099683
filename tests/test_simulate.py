"""The simulator: reproducible, realistic, and recovered by scoring and aggregation."""

import numpy as np
import pandas as pd
import pytest

from acap.aggregate import icc
from acap.scoring import score
from acap.simulate import simulate


def test_reproducible_and_realistic(bank):
    a, b = simulate(12, seed=4), simulate(12, seed=4)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    assert not simulate(12, seed=5).responses.equals(a.responses)
    sizes = a.organisations["respondents"]
    assert sizes.between(4, 40).all() and a.organisations["type"].nunique() >= 2
    assert (a.organisations["invited"] >= sizes).all()
    codes = a.responses[bank.item_ids]
    assert codes.isna().any().any() and (codes == 8).any().any()  # skips and don't-knows
    assert a.responses["role"].nunique() >= 8


def test_scoring_recovers_generating_values(bank):
    # Many organisations, no role effects: the observed scale ICC(1) should sit near the
    # value implied by the latent ICC, item loadings and the 7-point rounding.
    sim = simulate(300, seed=11, sizes=(20, 20), icc1=0.15, role_effects={}, dont_know_rate=0.0,
                   skip_rate=0.0, dropout_rate=0.0)
    r = score(sim.responses, bank)
    lam = sim.truth["loadings"]
    spread = sim.truth["spread"]
    for s in ["acquisition", "participation"]:
        items = bank.scale_items(s)
        lbar = lam[items].mean()
        k = len(items)
        # variance of the scale mean in latent units: between, within, item noise, rounding
        between = lbar**2 * 0.15
        within = lbar**2 * 0.85 + (1 - (lam[items] ** 2)).mean() / k + 1 / (12 * spread**2) / k
        expected = between / (between + within)
        got = icc(r.scales[s], r.background["organisation"]).icc1
        assert got == pytest.approx(expected, abs=0.03), s
        # organisation means track the generating organisation effects
        means = r.scales[s].groupby(r.background["organisation"]).mean()
        truth = sim.truth["org_effects"][s].reindex(means.index)
        assert np.corrcoef(means, truth)[0, 1] > 0.85


def test_role_effects_and_gaps_are_recovered(bank):
    sim = simulate(200, seed=3, sizes=(15, 25))
    r = score(sim.responses, bank)
    by_group = r.scales.mean(axis=1).groupby(r.background["role_group"]).mean()
    assert by_group["board"] > by_group["managerial"] > by_group["lay_partner"]
    gaps = r.gap.mean()
    assert gaps.idxmax() == "patient_public"
    # rank order of gaps follows the generating gaps
    rho = pd.Series(gaps).rank().corr(sim.truth["source_gaps"].rank())
    assert rho > 0.8
    dk = r.dont_know[bank.scale_items("acquisition")].to_numpy().mean()
    assert dk == pytest.approx(sim.truth["dont_know_rate"], abs=0.01)
