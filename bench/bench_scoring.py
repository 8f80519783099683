"""Benchmark: score and aggregate 100,000 respondents x 48 items into 1,000 organisations.

Target (issue "The instrument"): <= 0.5 s on a 2-core machine. Times validation + scoring +
organisation results (n, mean, SD, CI, rwg(j), ICC(1)/ICC(2), role breakdown, suppression)
from an in-memory table, as the app and a consultant's batch hold it. Prints the best of 5.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measure  # noqa: E402

from acap.aggregate import organisation_results  # noqa: E402
from acap.items import load_bank  # noqa: E402
from acap.scoring import score  # noqa: E402
from acap.simulate import simulate  # noqa: E402


def main(n_orgs: int = 1000, size: int = 100, n_items: int = 48, repeats: int = 5):
    bank = load_bank()
    sim = simulate(n_organisations=n_orgs, seed=1, bank=bank, sizes=(size, size), with_conduits=False)
    keep = bank.item_ids[:n_items]
    data = sim.responses[["respondent_id", "bank_version", "organisation", "role", "years_in_role", *keep]]
    scale_map = {s: [i for i in items if i in keep] for s, items in bank.scale_map.items()}

    def run():
        s = score(data, bank)
        frame = s.background[["organisation", "role_group"]].rename(columns={"role_group": "role"})
        frame = frame.join(s.scales).join(s.composites[["potential", "realised"]]).join(s.items[keep])
        return organisation_results(frame, scales=list(s.scales.columns) + ["potential", "realised"],
                                    items=scale_map, invited=sim.organisations["invited"])

    runs = measure(run, repeats)
    org = runs.result
    assert len(org.table.index.get_level_values(0).unique()) == n_orgs
    best = runs.best
    print(f"score + aggregate: {len(data):,} respondents x {n_items} items into {n_orgs:,} organisations: "
          f"best {best:.3f} s, median {runs.median:.3f} s wall; best {runs.best_cpu:.3f} s CPU (target <= 0.5 s)")
    return best


if __name__ == "__main__":
    main()
