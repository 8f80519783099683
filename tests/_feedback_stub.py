"""Stand-in for acap.publish.feedback_for until the publication branch lands (same field names)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from acap.pipeline import headline


def stub_feedback(scored, org, bank, org_type=None, network=None, min_n=5):
    t = scored.organisations.table.loc[org]
    fam = {s.id: s.family for s in bank.scales} | {"potential": "composite", "realised": "composite"}
    lab = {s.id: s.label for s in bank.scales} | {"potential": "Potential ACAP", "realised": "Realised ACAP"}
    for s in bank.sources.items:
        for k in ("gathered", "used"):
            fam[f"{k}:{s.id}"], lab[f"{k}:{s.id}"] = k, f"{s.label} ({k})"
    sc = t.rename(columns={"ci_lower": "ci_low", "ci_upper": "ci_high"})[
        ["n", "mean", "sd", "ci_low", "ci_high", "rwg_j", "suppressed", "reason"]].copy()
    sc.insert(0, "family", [fam[i] for i in sc.index])
    sc.insert(0, "label", [lab[i] for i in sc.index])
    for c in ("mean", "ci_low", "ci_high"):
        sc[c.replace("mean", "mean_100") if c == "mean" else c + "_100"] = (sc[c] - 1) / 6 * 100
    shown = not bool(t["suppressed"].all())
    roles = scored.organisations.by_role.loc[org].rename_axis(["role_group", "scale"])
    roles = roles[roles.index.get_level_values("scale").isin([s.id for s in bank.scales])].copy()
    roles.insert(0, "label", [lab[s] for s in roles.index.get_level_values("scale")])
    roles["sd"] = np.nan
    g = scored.gaps.loc[org].copy()
    g.insert(0, "label", [s.label for s in bank.sources.items])
    who = scored.scores.background["organisation"] == org
    items = scored.scores.items[who]
    rows = []
    for sc_ in bank.scales:
        for it in sc_.items:
            x = items[it.id] if it.id in items else pd.Series(dtype=float)
            n = int(x.notna().sum())
            r = dict(item=it.id, label=it.text, scale=sc_.id, n=n)
            for k in range(1, 8):
                r[f"share_{k}"] = float((x == k).sum() / max(len(x), 1))
            r["share_dont_know"] = float(x.isna().sum() / max(len(x), 1))
            rows.append(r)
    items_df = pd.DataFrame(rows).set_index("item")
    h = headline(scored).loc[org]
    head = pd.Series(dict(potential=h["potential"], realised=h["realised"], ratio=h["ratio"],
                          largest_gap_source=h["largest_gap_source"],
                          largest_gap_label=dict((s.id, s.label) for s in bank.sources.items).get(h["largest_gap_source"]),
                          largest_gap=h["largest_gap"]))
    allm = scored.organisations.table["mean"].unstack("scale")
    others = allm.drop(index=org).dropna(how="all")
    peers = pd.DataFrame({"group": "all", "n_peers": others.notna().sum(), "q1": others.quantile(.25),
                          "median": others.median(), "q3": others.quantile(.75)})
    peers = peers[peers["n_peers"] >= 5]
    icc = scored.organisations.public_reliability()[["icc1", "icc2"]]
    meta = SimpleNamespace(acap_version="0.1.0", bank=bank.bank, bank_version=bank.version, min_n=min_n,
                           date="2026-12-06", wave="Wave 2", min_n_override=False)
    n = int(t["n"].max()) if shown else None
    inv = int(t["invited"].iloc[0]) if shown and pd.notna(t["invited"].iloc[0]) else None
    return SimpleNamespace(
        organisation=org, org_type=org_type, status="shown" if shown else "suppressed",
        reason=None if shown else "fewer than 5 respondents", n=n, invited=inv,
        response_rate=(n / inv) if (n and inv) else None, scales=sc, roles=roles, gaps=g, items=items_df,
        headline=head, peers=peers, icc=icc, network=network, meta=meta)
