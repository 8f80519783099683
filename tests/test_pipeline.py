"""The scoring pipeline: scales on different response formats keep their own rwg null."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from acap.aggregate import rwg_j, uniform_null_variance
from acap.items import load_bank
from acap.pipeline import score_and_aggregate

BANK = Path(__file__).parents[1] / "items" / "acap-v1.yaml"


def test_five_point_scale_uses_its_own_null(tmp_path):
    raw = yaml.safe_load(BANK.read_text())
    raw["response_scales"]["agree5"] = {"points": 5, "labels": {i: f"point {i}" for i in range(1, 6)},
                                        "dont_know": {"code": 8, "label": "Don't know"}}
    raw["scales"][1]["response_scale"] = "agree5"  # acquisition
    p = tmp_path / "bank.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    bank = load_bank(p)
    rng = np.random.default_rng(3)
    n = 40
    data = {"respondent_id": [f"r{i}" for i in range(n)], "organisation": np.repeat(["A", "B"], n // 2),
            "role": ["analyst"] * n}
    data.update({i: rng.integers(1, 6, n) for i in bank.scale_items("acquisition")})
    data.update({i: rng.integers(1, 8, n) for i in bank.scale_items("exploitation")})
    scored = score_and_aggregate(pd.DataFrame(data), bank)
    t = scored.organisations.table
    items = scored.scores.items[bank.scale_items("acquisition")]
    groups = scored.scores.background["organisation"]
    want = rwg_j(items, groups, uniform_null_variance(5))
    got = t.xs("acquisition", level="scale")["rwg_j"]
    assert got.to_numpy() == pytest.approx(want.reindex(got.index).to_numpy())
    assert not np.allclose(want, rwg_j(items, groups, uniform_null_variance(7)))
