"""An attacker holding every file a run wrote, trying to recover suppressed cells.

Every published number that is a count or a sum over respondents becomes a *fact*: a
variable (an item, a scale, or the headcount), the set of *atoms* it adds up
(organisation x role group), its n and, where published, its sum (n x mean). The attacker
may combine facts of one variable in any way (every subtraction of sums across tables and
runs, and every longer chain of them), so a suppressed cell is recovered exactly when its
atoms' indicator lies in the linear span of the published facts' indicators. That is
checked by rank for every suppressed cell, and for every pool of suppressed role cells in
one organisation and of suppressed organisations (a pool of fewer than min_n people is a
leak too).

The attacker is generous to itself: which atoms a fact covers is taken from the true data,
so it never misreads a table. And it checks each fact's n against the truth, so a parsing
slip cannot hide a leak.

Row presence is checked apart: every organisation must have the same rows in every
organisation table, every suppressed role cell the same reason, and network files must name
only role groups the survey results show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.items import Bank

PEOPLE = "__people__"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", comment="#")


@dataclass
class Attack:
    facts: list = field(default_factory=list)            # (variable, frozenset atoms, n, sum or None, source)
    targets: list = field(default_factory=list)          # (variable, frozenset atoms, kind, label)
    leaks: list = field(default_factory=list)
    row_problems: list = field(default_factory=list)
    span_tests: int = 0
    facts_combined: int = 0


class Truth:
    """True per-atom n and sums, from the responses (what the attacker wants)."""

    def __init__(self, scores, bank: Bank):
        self.bank = bank
        bg = scores.background
        self.org = bg["organisation"].astype(str)
        self.group = bg["role_group"].astype(str)
        self.atoms = sorted(set(zip(self.org, self.group)))
        raw = scores.items.copy()
        for iid in bank.reverse_items:
            pts = bank.response_scales[bank.items[iid]["response_scale"]].points
            raw[iid] = pts + 1 - raw[iid]
        self.values = {iid: raw[iid] for iid in raw.columns}
        for sc in scores.scales.columns:
            self.values[sc] = scores.scales[sc]
        for sc in ("potential", "realised"):
            self.values[sc] = scores.composites[sc]
        self.values[PEOPLE] = pd.Series(1.0, index=bg.index)
        # answer counts: "ITEM=k" (answered k, as given) and "ITEM=dk" (don't know)
        for iid in raw.columns:
            pts = bank.response_scales[bank.items[iid]["response_scale"]].points
            for k in range(1, pts + 1):
                self.values[f"{iid}={k}"] = (raw[iid] == k).astype(float).where(raw[iid] == k)
            dk = scores.dont_know[iid].astype(bool)
            self.values[f"{iid}=dk"] = dk.astype(float).where(dk)
        # a knowledge-source "scale" is its one item: one variable
        self.alias = {}
        if bank.sources:
            for s in bank.sources.items:
                self.alias[f"gathered:{s.id}"] = s.gathered
                self.alias[f"used:{s.id}"] = s.used
        self._cache = {}

    def var(self, v: str) -> str:
        return self.alias.get(v, v)

    def per_atom(self, v: str) -> pd.DataFrame:
        v = self.var(v)
        if v not in self._cache:
            x = self.values[v]
            d = pd.DataFrame({"org": self.org, "group": self.group, "x": x}).dropna()
            g = d.groupby(["org", "group"])["x"]
            self._cache[v] = pd.DataFrame({"n": g.size(), "sum": g.sum()})
        return self._cache[v]

    def n(self, v: str, atoms) -> int:
        t = self.per_atom(v)
        return int(t["n"].reindex(list(atoms)).fillna(0).sum())

    def org_atoms(self, org: str) -> frozenset:
        return frozenset(a for a in self.atoms if a[0] == org)

    def all_atoms(self, orgs=None) -> frozenset:
        return frozenset(a for a in self.atoms if orgs is None or a[0] in orgs)


def read_outputs(folders, truth: Truth, min_n: int) -> Attack:
    """Every fact, target and row-presence problem in the files under ``folders``."""
    att = Attack()

    def fact(v, atoms, n, total, source):
        v = truth.var(v)
        atoms = frozenset(atoms)
        if n is None or (isinstance(n, float) and np.isnan(n)):
            return
        n = int(round(float(n)))
        true_n = truth.n(v, atoms)
        assert n == true_n, f"attacker misread {source}: n {n} != {true_n} for {v}"
        att.facts.append((v, atoms, n, total, source))

    folders = [Path(f) for f in folders]
    # a validation report written by another command is read beside that run's results
    results_dir = next((f for f in folders if (f / "organisations" / "results.csv").exists()), None)
    for folder in folders:
        org_dir = folder / "organisations"
        if (org_dir / "results.csv").exists():
            res = _csv(org_dir / "results.csv")
            for r in res.itertuples():
                atoms = truth.org_atoms(r.organisation)
                if r.suppressed:
                    if pd.notna(r.n) or pd.notna(r.mean) or pd.notna(getattr(r, "invited", np.nan)):
                        att.leaks.append(("direct", f"{folder.name}: results.csv shows a number beside "
                                          f"suppressed {r.organisation}/{r.scale}"))
                    att.targets.append((truth.var(r.scale), atoms, "cell", f"{r.organisation}/{r.scale}"))
                else:
                    fact(r.scale, atoms, r.n, r.n * r.mean, f"{folder.name}/results.csv")
            _same_rows(att, res, ["scale"], "results.csv")
            hidden_orgs = set(res.groupby("organisation")["suppressed"].all().loc[lambda s: s].index)
            for org in hidden_orgs:
                att.targets.append((PEOPLE, truth.org_atoms(org), "cell", f"{org} headcount"))
            if hidden_orgs:
                for v in {truth.var(s) for s in res["scale"].unique()} | {PEOPLE}:
                    att.targets.append((v, truth.all_atoms(hidden_orgs), "pool", "suppressed organisations"))
        if (org_dir / "by_role.csv").exists():
            br = _csv(org_dir / "by_role.csv")
            _same_rows(att, br, ["role_group", "scale"], "by_role.csv")
            reasons = set(br.loc[br["suppressed"], "reason"].dropna())
            if len(reasons) > 1:
                att.row_problems.append(f"by_role.csv: suppressed role cells give {len(reasons)} different "
                                        f"reasons: {sorted(reasons)}")
            for (org, sc), cells in br.groupby(["organisation", "scale"]):
                pool = []
                for r in cells.itertuples():
                    atoms = frozenset([(org, r.role_group)])
                    if r.suppressed:
                        if pd.notna(r.n) or pd.notna(r.mean):
                            att.leaks.append(("direct", f"by_role.csv shows a number in a suppressed cell {org}/"
                                              f"{r.role_group}/{sc}"))
                        att.targets.append((truth.var(sc), atoms, "cell", f"{org}/{r.role_group}/{sc}"))
                        pool.append((org, r.role_group))
                    else:
                        fact(sc, atoms, r.n, r.n * r.mean, f"{folder.name}/by_role.csv")
                        # generous: a shown role cell whose n is the group's headcount counts people too
                        if truth.n(PEOPLE, atoms) == int(r.n):
                            fact(PEOPLE, atoms, r.n, None, f"{folder.name}/by_role.csv")
                if len(pool) > 1:
                    att.targets.append((truth.var(sc), frozenset(pool), "pool", f"{org}/{sc} hidden roles"))
            hidden_groups = br.groupby(["organisation", "role_group"])["suppressed"].all()
            for (org, g), hid in hidden_groups.items():
                if hid:
                    att.targets.append((PEOPLE, frozenset([(org, g)]), "cell", f"{org}/{g} headcount"))
        if (org_dir / "items.csv").exists():
            it = _csv(org_dir / "items.csv")
            _same_rows(att, it, ["item"], "items.csv")
            share = [c for c in it.columns if c.startswith("share_") and c[6:].isdigit()]
            pts = np.array([int(c[6:]) for c in share])
            for r in it.itertuples():
                atoms = truth.org_atoms(r.organisation)
                if r.suppressed:
                    if pd.notna(r.n):
                        att.leaks.append(("direct", f"items.csv shows a suppressed row {r.organisation}/{r.item}"))
                    for v in [r.item, f"{r.item}=dk", *(f"{r.item}={k}" for k in pts)]:
                        if v in truth.values:
                            att.targets.append((v, atoms, "cell", f"{r.organisation}/{v}"))
                    continue
                sh = np.array([getattr(r, c) for c in share], float)
                answered = r.n * sh.sum()
                fact(r.item, atoms, answered, r.n * (sh * pts).sum(), f"{folder.name}/items.csv")
                for k, x in zip(pts, sh):
                    if f"{r.item}={k}" in truth.values:
                        fact(f"{r.item}={k}", atoms, r.n * x, None, f"{folder.name}/items.csv")
                fact(f"{r.item}=dk", atoms, r.n * r.share_dont_know, None, f"{folder.name}/items.csv")
        if (org_dir / "headline.csv").exists():
            head = _csv(org_dir / "headline.csv").set_index("organisation")
            res = _csv(org_dir / "results.csv").set_index(["organisation", "scale"])
            for org, r in head.iterrows():
                if r["status"] == "suppressed" and r[["n", "invited", "potential", "realised"]].notna().any():
                    att.leaks.append(("direct", f"headline.csv shows numbers for suppressed {org}"))
                for sc in ("potential", "realised"):
                    if pd.notna(r[sc]) and res.loc[(org, sc), "suppressed"]:
                        att.leaks.append(("direct", f"headline.csv shows {sc} of {org}, suppressed in results"))
                if r["status"] == "shown":
                    fact(PEOPLE, truth.org_atoms(org), r["n"], None, f"{folder.name}/headline.csv")
            _same_rows(att, _csv(org_dir / "knowledge_gaps.csv"), ["source"], "knowledge_gaps.csv")
            gaps = _csv(org_dir / "knowledge_gaps.csv")
            for r in gaps.itertuples():
                for side in ("gathered", "used"):
                    if pd.notna(getattr(r, side)) and res.loc[(r.organisation, f"{side}:{r.source}"), "suppressed"]:
                        att.leaks.append(("direct", f"knowledge_gaps.csv shows {side} {r.source} of "
                                          f"{r.organisation}, suppressed in results"))
        icc_path = folder / "aggregation" / "icc.csv"
        if icc_path.exists():
            icc = _csv(icc_path).set_index("scale")
            res = _csv(folder / "organisations" / "results.csv")
            if "n" in icc.columns:
                for sc, r in icc.iterrows():
                    shown = res[(res["scale"] == sc) & ~res["suppressed"]]["organisation"]
                    atoms = frozenset().union(*[truth.org_atoms(o) for o in shown]) if len(shown) else frozenset()
                    fact(sc, atoms, r["n"], None, f"{folder.name}/icc.csv")
        for vdir in (folder / "validation", folder):
            if (vdir / "report.json").exists():
                _read_validation(att, vdir, truth, fact, results_dir or folder)
        net = folder / "network"
        if (net / "node_metrics.csv").exists():
            _read_network(att, net, folder, truth, fact, min_n)
    return att


def _same_rows(att: Attack, table: pd.DataFrame, keys: list, name: str) -> None:
    rows = table.groupby("organisation")[keys].apply(lambda d: tuple(map(tuple, d.to_numpy().tolist())))
    if rows.nunique() > 1:
        att.row_problems.append(f"{name}: organisations have different rows ({rows.map(len).to_dict()})")


def _read_validation(att, vdir, truth, fact, folder):
    """Facts of a validation report; ``folder`` holds the organisation results it was released beside.

    Which respondents a figure covers is taken as the documented rule for the report's
    ``respondents`` setting, or every respondent, whichever fits the true n (generous).
    """
    rep = json.loads((vdir / "report.json").read_text(encoding="utf-8"))
    items = pd.read_csv(vdir / "items.csv", encoding="utf-8-sig", comment="#").set_index("item")
    bank = truth.bank
    res_path = folder / "organisations" / "results.csv"
    shown_rows, pop_orgs, pooled = {}, None, set()
    if res_path.exists():
        t = _csv(folder / "organisations" / "items.csv")
        shown_rows = t[~t["suppressed"]].groupby("item")["organisation"].apply(set).to_dict()
        res = _csv(res_path)
        pop_orgs = set(res.groupby("organisation")["suppressed"].all().loc[lambda s: ~s].index)
        br = _csv(folder / "organisations" / "by_role.csv")
        hid = br.groupby(["organisation", "role_group"])["suppressed"].any()
        pooled = {a for a, h in hid.items() if h and a[0] in pop_orgs}

    def pick(v, n, candidates):
        for atoms in candidates:
            if truth.n(v, atoms) == int(round(n)):
                return atoms
        return candidates[0]  # fact() then reports the misread

    everyone = truth.all_atoms()
    for iid, r in items.iterrows():
        atoms = pick(iid, r["n"], [truth.all_atoms(shown_rows.get(iid, set())), everyone])
        mean = r["mean"]
        if bank.items[iid]["reverse"] and pd.notna(mean):
            pts = bank.response_scales[bank.items[iid]["response_scale"]].points
            mean = pts + 1 - mean
        fact(iid, atoms, r["n"], r["n"] * mean if pd.notna(mean) else None, f"{vdir.name}/items.csv")
    dist = rep["sections"]["items"]["tables"].get("distribution")
    if dist:
        d = pd.DataFrame(dist["records"]).set_index(dist["index"][0])
        for iid, r in d.iterrows():
            pts = bank.response_scales[bank.items[iid]["response_scale"]].points
            for col, n in r.items():
                if col == "dont_know":
                    v = f"{iid}=dk"
                elif str(col).isdigit():  # the report counts reverse-keyed answers
                    k = int(col)
                    v = f"{iid}={pts + 1 - k if bank.items[iid]['reverse'] else k}"
                else:
                    continue
                if v in truth.values and pd.notna(n):
                    atoms = pick(v, n, [truth.all_atoms(shown_rows.get(iid, set())), everyone])
                    fact(v, atoms, n, None, f"{vdir.name}/report distribution")
    m = rep["meta"]
    pop = pick(PEOPLE, m["n_respondents"], [truth.all_atoms(pop_orgs), everyone])
    fact(PEOPLE, pop, m["n_respondents"], None, f"{vdir.name}/report n_respondents")
    if rep["settings"].get("group") == "role_group":
        for g, n in m["group_sizes"].items():
            if n is None:
                continue
            if g == "not shown":
                cands = [frozenset(a for a in pop if a in pooled)]
            else:
                cands = [frozenset(a for a in pop if a[1] == g and a not in pooled),
                         frozenset(a for a in pop if a[1] == g)]
            fact(PEOPLE, pick(PEOPLE, n, cands), n, None, f"{vdir.name}/report group sizes")


def _read_network(att, net, folder, truth, fact, min_n):
    nodes = _csv(net / "node_metrics.csv")
    br_path = folder / "organisations" / "by_role.csv"
    br = _csv(br_path) if br_path.exists() else None
    for bad in ("role", "id", "respondent_id", "responded", "potential", "realised"):
        if bad in nodes.columns:
            att.row_problems.append(f"network/node_metrics.csv has a column {bad!r}")
    for org, nd in nodes.groupby("organisation"):
        counts = nd["role_group"].value_counts()
        for g, c in counts.items():
            if g != "other":
                if c < min_n:
                    att.leaks.append(("network", f"{org}: role group {g} of {c} people named in network files"))
                if br is not None:
                    cells = br[(br["organisation"] == org) & (br["role_group"] == g)]
                    if cells["suppressed"].any():
                        att.leaks.append(("network", f"{org}: role group {g} named in network files but "
                                          "suppressed in the survey results"))
            elif c < min_n and c < len(nd):
                att.leaks.append(("network", f"{org}: 'other' holds {c} people"))
        # in the demo the roster is the survey's respondents: node counts are headcounts
        org_atoms = truth.org_atoms(org)
        if truth.n(PEOPLE, org_atoms) == len(nd):
            named = set(counts.index) - {"other"}
            for g in named:
                fact(PEOPLE, frozenset(a for a in org_atoms if a[1] == g), counts[g], None, "network nodes")
            fact(PEOPLE, frozenset(a for a in org_atoms if a[1] not in named), counts.get("other", 0), None,
                 "network nodes (other)")
    for f in net.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".gexf", ".graphml"):
            text = f.read_text(encoding="utf-8-sig", errors="replace")
            from acap.network.model import OUTSIDE_CATEGORIES

            for role in truth.bank.role_ids:
                if role in OUTSIDE_CATEGORIES:  # "public_health", "other" are also contact categories
                    continue
                if role in text:
                    att.leaks.append(("network", f"{f.relative_to(folder)} names the exact role {role}"))
                    break


def attack(att: Attack, truth: Truth, min_n: int) -> Attack:
    """Try to recover every target from the facts of its variable (rank test over atoms)."""
    by_var: dict = {}
    for v, atoms, n, total, source in att.facts:
        by_var.setdefault(v, []).append((atoms, n, total, source))
    for v, atoms, kind, label in att.targets:
        true_n = truth.n(v, atoms)
        if true_n == 0 or (kind == "pool" and true_n >= min_n):
            continue  # nothing about a person, or a pool big enough to be shown
        facts = by_var.get(v, [])
        if not facts:
            continue
        index = {a: k for k, a in enumerate(sorted({a for f in facts for a in f[0]} | set(atoms)))}

        def row(s):
            r = np.zeros(len(index))
            r[[index[a] for a in s]] = 1.0
            return r

        # n: every fact; mean: facts with a sum
        for layer, subset in (("n", facts), ("sum", [f for f in facts if f[2] is not None])):
            if not subset:
                continue
            F = np.array([row(f[0]) for f in subset])
            t = row(atoms)
            att.span_tests += 1
            att.facts_combined += len(subset)
            if np.linalg.matrix_rank(np.vstack([F, t])) == np.linalg.matrix_rank(F):
                att.leaks.append(("subtraction", f"{label} ({v}, true n {true_n}) recovered from "
                                  f"{sorted({f[3] for f in subset})} [{layer}]"))
    return att
