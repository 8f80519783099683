"""The network stage for collected data: measure, link to ACAP, and publish.

Takes the three tables a network module collects, in the shapes ``acap demo`` writes under
``data/network/`` (and the store exports): *ties* (``organisation, source, target, weight``
by person id), *people* (``organisation, id, role`` or ``role_group``, optionally ``board``
and ``responded``) and *outside contacts* (``organisation, respondent, category, count,
frequency``), with a scored run (:class:`acap.pipeline.Scored`) whose respondent ids are the
people's ids.

What it publishes follows the publication rule (:mod:`acap.publish`):

* organisations suppressed in the scored run take no part at all;
* people appear under pseudonyms (``P01`` ..., assigned in a seeded random order, never the
  roster order), with their role *group* only, and only for groups the survey results
  show for that organisation (every role-group cell shown) that hold at least ``min_n``
  people on the roster; every other group is merged into ``"other"``, itself widened until
  it holds at least ``min_n`` people (or everyone);
* node files hold the pseudonym, role group, board flag and network measures, nothing else;
  outside contacts leave only as organisation totals per category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError

__all__ = ["NetworkRun", "OTHER_GROUP", "network_files", "public_role_groups", "read_network_files",
           "run_networks"]

#: The role group every small or unshown group is merged into.
OTHER_GROUP = "other"

#: Summary measures compared with peers.
PEER_MEASURES = ("density", "board_density", "reciprocity", "centralization", "betweenness_centralization",
                 "response_rate")

#: Node measures published (beside label, role group and board).
NODE_MEASURES = ("in_degree", "out_degree", "in_strength", "out_strength", "betweenness", "betweenness_norm",
                 "closeness", "constraint", "effective_size")


@dataclass(frozen=True)
class NetworkRun:
    """What :func:`run_networks` returns.

    Attributes
    ----------
    metrics : pandas.DataFrame
        Published node measures of every shown organisation: index (organisation, label);
        role_group, board and :data:`NODE_MEASURES`.
    summaries : pandas.DataFrame
        Network summary per shown organisation (n_nodes, density, board_density, ...).
    links : NetworkLinks
        Linking of network position to ACAP scores (:func:`acap.network.link_networks`),
        over shown organisations only.
    feedback : dict
        Organisation -> :class:`acap.publish.NetworkFeedback`.
    networks : dict
        Organisation -> publishable :class:`acap.network.AdviceNetwork` (ids are pseudonyms,
        attributes role_group and board only), for exports and sociograms.
    dropped : list of str
        Organisations left out because the scored run suppresses them.
    """

    metrics: pd.DataFrame
    summaries: pd.DataFrame
    links: object
    feedback: dict
    networks: dict
    dropped: list = field(default_factory=list)


def read_network_files(directory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Read ``ties.csv``, ``people.csv`` and (if present) ``outside_contacts.csv`` from a folder."""
    from acap.readers import read_table

    d = Path(directory)
    out = []
    for name, required in (("ties", True), ("people", True), ("outside_contacts", False)):
        p = d / f"{name}.csv"
        if not p.exists():
            if required:
                raise AcapInputError(f"no {name}.csv in the network folder", str(d))
            out.append(None)
            continue
        out.append(read_table(p).data.copy())
    ties, people, contacts = out
    for frame, name, cols in ((ties, "ties.csv", ("organisation", "source", "target")),
                              (people, "people.csv", ("organisation", "id")),
                              (contacts, "outside_contacts.csv", ("organisation", "respondent", "category",
                                                                  "count"))):
        if frame is None:
            continue
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise AcapInputError(f"needs column(s) {', '.join(missing)}", str(d / name))
    if "weight" not in ties.columns:
        ties["weight"] = 1
    ties["weight"] = pd.to_numeric(ties["weight"], errors="coerce")
    if contacts is not None:
        for c in ("count", "frequency"):
            if c in contacts.columns:
                contacts[c] = pd.to_numeric(contacts[c], errors="coerce")
    for frame in (ties, people, contacts):
        if frame is not None:
            for c in ("organisation", "id", "source", "target", "respondent"):
                if c in frame.columns:
                    frame[c] = frame[c].astype(str)
    if "board" in people.columns:
        people["board"] = people["board"].astype(str).str.lower().isin(["true", "1", "yes"])
    if "responded" in people.columns:
        people["responded"] = people["responded"].astype(str).str.lower().isin(["true", "1", "yes"])
    return ties, people, contacts


def public_role_groups(people: pd.DataFrame, scored, min_n: int) -> pd.Series:
    """Each person's role group as it may be published (index aligned with ``people``).

    A group is kept for an organisation when it holds at least ``min_n`` people there and
    every survey cell of that organisation and group is shown (:func:`acap.publish.role_flags`); the rest become
    :data:`OTHER_GROUP`. When ``"other"`` then holds fewer than ``min_n`` people (but some),
    the smallest kept groups join it until it holds ``min_n`` or everyone.
    """
    groups = people["role_group"].astype(object).where(people["role_group"].notna(), OTHER_GROUP)
    from acap.publish import role_flags

    ok = ~role_flags(scored).groupby(level=[0, 1]).any()
    shown_cells = set(ok.index[ok.to_numpy()])
    out = groups.copy()
    for org, idx in people.groupby("organisation", sort=False).groups.items():
        g = groups.loc[idx]
        counts = g.value_counts()
        keep = [k for k, v in counts.items() if v >= min_n and (org, k) in shown_cells and k != OTHER_GROUP]
        merged = ~g.isin(keep)
        # a small "other" would be a small group of its own: widen it, smallest groups first
        for k in sorted(keep, key=lambda k: (counts[k], str(k))):
            if not (0 < merged.sum() < min_n):
                break
            keep.remove(k)
            merged = ~g.isin(keep)
        out.loc[idx] = g.where(~merged, OTHER_GROUP)
    return out


def _shuffled_labels(ids: pd.Series, rng: np.random.Generator) -> pd.Series:
    from acap.network.model import pseudonyms

    labels = np.array(pseudonyms(len(ids)), dtype=object)
    rng.shuffle(labels)
    return pd.Series(labels, index=ids.to_numpy(), dtype=object)


def run_networks(ties: pd.DataFrame, people: pd.DataFrame, contacts: pd.DataFrame | None, scored, *,
                 score: str = "potential", n_perm: int = 1000, seed: int = 2024) -> NetworkRun:
    """Measure collected advice networks, link them to ACAP, and cut what may be published.

    Parameters
    ----------
    ties, people, contacts : DataFrame
        As described in the module docstring (``contacts`` may be None).
    scored : Scored
        The scored run; its suppressed organisations are left out, its respondent ids link
        people to scores, and its role-group cells decide which groups may be named.
    score : str, default "potential"
        Individual score for the dyadic models.
    n_perm : int, default 1000
        Permutations of the linking tests.
    seed : int, default 2024
        Seeds the pseudonym order and the permutation tests.

    Returns
    -------
    NetworkRun
    """
    from acap.network.link import link_networks
    from acap.network.metrics import node_metrics, summary
    from acap.network.model import OUTSIDE_CATEGORIES, AdviceNetwork
    from acap.publish import NetworkFeedback

    min_n = scored.organisations.min_n
    people = people.copy()
    if "role_group" not in people.columns:
        if "role" not in people.columns:
            raise AcapInputError("needs a role or role_group column", "people")
        bank = scored.bank
        if bank is None:
            from acap.items import load_bank

            bank = load_bank()
        people["role_group"] = people["role"].map(bank.role_groups)
    if "board" not in people.columns:
        people["board"] = people["role_group"].eq("board")
    if "responded" not in people.columns:
        people["responded"] = True
    people["id"] = people["id"].astype(str)
    hidden = scored.organisations.table["suppressed"].groupby(level=0).all()
    known = set(hidden.index)
    unknown = sorted(set(people["organisation"]) - known)
    if unknown:
        raise AcapInputError(f"organisation {unknown[0]!r} has no survey responses", "people")
    shown_orgs = set(hidden.index[~hidden.to_numpy()])
    dropped = sorted(set(people["organisation"]) - shown_orgs)
    people = people[people["organisation"].isin(shown_orgs)].reset_index(drop=True)
    ties = ties[ties["organisation"].isin(shown_orgs)].reset_index(drop=True)
    if contacts is not None:
        contacts = contacts[contacts["organisation"].isin(shown_orgs)].reset_index(drop=True)
    people["public_group"] = public_role_groups(people, scored, min_n).to_numpy()

    # linking uses the real ids inside the library; only pseudonyms leave it
    individual = scored.scores.scales.join(scored.scores.composites[["potential", "realised"]])
    individual = individual.loc[individual.index.isin(people["id"])]
    org_means = scored.organisations.table["mean"].unstack("scale")
    org_means = org_means.loc[org_means.index.isin(shown_orgs), list(individual.columns)].dropna(how="all")
    nd_link = people[["organisation", "id", "board", "responded", "public_group"]].rename(
        columns={"public_group": "role_group"})
    links = link_networks(ties, nd_link, individual, org_means, dyadic_score=score, group="role_group",
                          n_perm=n_perm, seed=seed)

    rng = np.random.default_rng(seed)
    metrics, summaries, feedback, networks = [], {}, {}, {}
    for org in [o for o in pd.unique(people["organisation"])]:
        nd = people[people["organisation"] == org]
        label = _shuffled_labels(nd["id"], rng)
        e = ties.loc[ties["organisation"] == org, ["source", "target", "weight"]].astype({"source": str,
                                                                                         "target": str})
        roster = nd[["id", "board", "responded", "public_group"]].rename(columns={"public_group": "role_group"})
        m = node_metrics(e, roster.reset_index(drop=True), group="role_group")
        s = summary(e, roster.reset_index(drop=True))
        summ = pd.Series({k: v for k, v in s.items() if isinstance(v, (int, float, np.number))
                          and not isinstance(v, bool)}, name=org, dtype=float)
        # the contract's plain name: Freeman degree centralization
        summ["centralization"] = summ.get("degree_centralization", np.nan)
        summaries[org] = summ
        nodes = pd.DataFrame({"role_group": roster["role_group"].to_numpy(), "board": roster["board"].to_numpy()},
                             index=pd.Index(label.reindex(roster["id"]).to_numpy(), name="label"))
        measures = m.reindex(roster["id"].to_numpy())
        # total degree (people they go to plus people who come to them; missing out-ties count 0)
        nodes["degree"] = measures["in_degree"].fillna(0).to_numpy() + measures["out_degree"].fillna(0).to_numpy()
        for c in NODE_MEASURES:
            if c in measures.columns:
                nodes[c] = measures[c].to_numpy()
        brokerage = [c for c in m.columns if c not in NODE_MEASURES and c not in ("closeness_harmonic",)]
        for c in brokerage:
            nodes[c] = measures[c].to_numpy()
        nodes = nodes.sort_index()
        pub_ties = pd.DataFrame({"source": e["source"].map(label).to_numpy(),
                                 "target": e["target"].map(label).to_numpy(),
                                 "weight": e["weight"].to_numpy()})
        if contacts is not None and len(contacts):
            c = contacts[contacts["organisation"] == org]
            outside = (c.groupby("category")["count"].sum().reindex(list(OUTSIDE_CATEGORIES), fill_value=0)
                       .astype(int).rename("ties").to_frame().rename_axis("category"))
        else:
            outside = pd.DataFrame({"ties": pd.Series(0, index=pd.Index(list(OUTSIDE_CATEGORIES),
                                                                        name="category"))})
        feedback[org] = NetworkFeedback(summary=summ, nodes=nodes, ties=pub_ties, outside=outside, peers=None)
        networks[org] = AdviceNetwork.from_frames(
            nodes.reset_index().rename(columns={"label": "id"})[["id", "role_group", "board"]].assign(
                label=lambda f: f["id"]), pub_ties, organisation=str(org))
        metrics.append(nodes.assign(organisation=org).set_index("organisation", append=True)
                       .reorder_levels(["organisation", "label"]))
    summaries = pd.DataFrame(summaries).T.rename_axis("organisation")
    peers = _network_peers(summaries, min_n)
    if peers is not None:
        feedback = {o: NetworkFeedback(f.summary, f.nodes, f.ties, f.outside, peers) for o, f in feedback.items()}
    all_metrics = pd.concat(metrics) if metrics else pd.DataFrame()
    return NetworkRun(metrics=all_metrics, summaries=summaries, links=links, feedback=feedback,
                      networks=networks, dropped=dropped)


def _network_peers(summaries: pd.DataFrame, min_n: int) -> pd.DataFrame | None:
    cols = [c for c in PEER_MEASURES if c in summaries.columns]
    if len(summaries) < min_n or not cols:
        return None
    q = summaries[cols].quantile([0.25, 0.5, 0.75])
    return pd.DataFrame({"n_peers": summaries[cols].notna().sum(), "q1": q.loc[0.25], "median": q.loc[0.5],
                         "q3": q.loc[0.75]}).rename_axis("measure")


def network_files(run: NetworkRun, *, seed: int = 1) -> dict:
    """The published network files for :func:`acap.outputs.write_all`.

    ``network/organisations.csv`` (summaries), ``network/node_metrics.csv`` (pseudonym, role
    group, board, measures), ``network/ties.csv`` (pseudonymous), ``network/outside_contacts.csv``
    (organisation totals per category), the linking tables, and ``network/gephi/<org>/`` with
    GEXF, GraphML, Gephi CSV, UCINET DL and a sociogram per shown organisation.
    """
    from acap.outputs import csv_writer, slug

    ties = pd.concat({o: f.ties for o, f in run.feedback.items()}, names=["organisation"]).reset_index(
        level=0) if run.feedback else pd.DataFrame(columns=["organisation", "source", "target", "weight"])
    outside = (pd.concat({o: f.outside for o, f in run.feedback.items()}, names=["organisation"])
               if run.feedback else pd.DataFrame())
    links = run.links

    def gephi(path: Path) -> None:
        from acap.network.export import export_all

        taken: set[str] = set()
        for org, net in run.networks.items():
            folder = path / slug(org, taken)
            folder.mkdir(parents=True)
            export_all(net, folder, sociogram=False)
            from acap.network.sociogram import save_sociogram, sociogram_figure

            fig = sociogram_figure(net, metrics=run.feedback[org].nodes, seed=seed)
            save_sociogram(fig, folder / f"{folder.name}_sociogram", formats=("png", "svg"))

    return {
        "network/organisations.csv": csv_writer(run.summaries),
        "network/node_metrics.csv": csv_writer(run.metrics),
        "network/ties.csv": csv_writer(ties, index=False),
        "network/outside_contacts.csv": csv_writer(outside),
        "network/link_individual.csv": csv_writer(links.individual),
        "network/link_organisation.csv": csv_writer(links.organisation),
        "network/link_dyadic.csv": csv_writer(links.dyadic),
        # one folder, replaced whole, so no organisation's old exports outlive a new run
        "network/gephi": gephi,
    }
