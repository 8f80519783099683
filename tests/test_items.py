"""The item bank and its schema."""

import re
from pathlib import Path

import pytest
import yaml

from acap.errors import AcapInputError
from acap.items import load_bank

BANK = Path(__file__).parents[1] / "items" / "acap-v1.yaml"


def test_bank_structure_matches_construct_map(bank):
    process = [s for s in bank.scales if s.family == "process"]
    coord = [s for s in bank.scales if s.family == "coordination"]
    assert [s.id for s in process] == ["recognising_value", "acquisition", "assimilation",
                                       "transformation", "exploitation"]
    assert all(3 <= len(s.items) <= 5 for s in process)
    assert len(coord) == 6 and all(3 <= len(s.items) <= 4 for s in coord)
    assert bank.potential_scales == ["recognising_value", "acquisition", "assimilation"]
    assert bank.realised_scales == ["transformation", "exploitation"]
    assert len(bank.sources.items) == 7
    assert 3 <= len(bank.reverse_items) <= 8
    assert all(bank.response_scales[k].points == 7 for k in ("agree7", "extent7"))
    assert bank.response_scales["agree7"].dont_know.code == 8


def test_item_ids_stable_and_unique(bank):
    ids = bank.item_ids
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", i) for i in ids)
    assert bank.scale_items("acquisition") == ["AQ01", "AQ02", "AQ03", "AQ04", "AQ05"]


def test_items_describe_the_organisation(bank):
    # referent-shift: items speak of "we/our/people here", never "I"
    for s in bank.scales:
        for it in s.items:
            assert not re.search(r"\bI\b|\bmy\b", it.text), it.id


def _write(tmp_path, mutate):
    raw = yaml.safe_load(BANK.read_text())
    mutate(raw)
    p = tmp_path / "bank.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    return p


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: r["scales"][1]["items"][2].update(text=""), r"scale acquisition, item AQ03, field text"),
    (lambda r: r["scales"][0]["items"][0].update(reverse="sometimes"), r"item RV01, field reverse"),
    (lambda r: r["scales"][0]["items"][1].update(id="RV01"), r"RV01 is used twice"),
    (lambda r: r["scales"][2]["items"][0].update(id="as01"), r"item as01, field id"),
    (lambda r: r["scales"][0].pop("acap"), r"scale recognising_value.*potential or realised"),
    (lambda r: r["scales"][3]["items"][0].update(colour="red"), r"item TR01, field colour"),
    (lambda r: r["response_scales"]["agree7"]["dont_know"].update(code=4), r"don't-know code"),
    (lambda r: r.pop("version"), r"field version"),
])
def test_malformed_bank_is_refused_naming_file_item_field(tmp_path, mutate, expected):
    p = _write(tmp_path, mutate)
    with pytest.raises(AcapInputError) as exc:
        load_bank(p)
    msg = str(exc.value)
    assert str(p) in msg
    assert re.search(expected, msg), msg
    assert "\n" not in msg


def test_not_yaml_and_missing_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("scales: [unclosed\n")
    with pytest.raises(AcapInputError, match="not valid YAML at line"):
        load_bank(p)
    with pytest.raises(AcapInputError, match="no such file"):
        load_bank(tmp_path / "nope.yaml")
