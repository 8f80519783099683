"""Library support for running a wave online: the files an administrator hands in and takes out.

The Streamlit app (``app/``) only renders; the reading, checking and building of files happens here,
so the same rules hold wherever they are used:

* invitation lists and colleague lists are read with :mod:`acap.readers` and refused with every
  bad row named (:class:`~acap.errors.AcapInputError` with a ``problems`` table);
* uploaded answers go through :func:`acap.scoring.validate_responses` and are stored in the shape
  of the demo's ``data/responses.csv``, so online and uploaded answers share one scoring path;
* exports: CSV, XLSX and SPSS ``.sav`` with the bank's variable and value labels, and a codebook;
* :func:`wave_feedback`: every organisation's ``OrganisationFeedback`` for a stored wave.
"""

from __future__ import annotations

import io
import os
import secrets
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.items import Bank

#: Largest upload the app accepts, in megabytes (``ACAP_UPLOAD_LIMIT_MB``).
UPLOAD_LIMIT_MB = int(os.environ.get("ACAP_UPLOAD_LIMIT_MB", "20"))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def _refuse(problems: list[dict], what: str, where: str) -> None:
    if problems:
        frame = pd.DataFrame(problems, columns=["row", "column", "value", "problem"]).assign(kind=what)
        first = frame.iloc[0]
        more = len(frame) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise AcapInputError(f"{what}: {first['row']}, column {first['column']}: {first['problem']}{tail}",
                             where=where, problems=frame)


def _table(path, need: set[str], what: str):
    from acap.readers import read_table

    t = read_table(path)
    t.data.columns = [str(c).strip().lower() for c in t.data.columns]
    missing = need - set(t.data.columns)
    if missing:
        raise AcapInputError(f"{what} needs the column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(sorted(missing))}", where=str(path))
    if t.data.empty:
        raise AcapInputError(f"{what} has no rows", where=str(path))
    return t


def read_invitations(path, organisations: pd.DataFrame) -> pd.DataFrame:
    """Read an invitation list (organisation, email, optional name) and check every row.

    Parameters
    ----------
    path : path-like
        CSV or XLSX.
    organisations : DataFrame
        The store's organisations (column ``name``); each row's organisation must be one of them.

    Returns
    -------
    DataFrame
        organisation, email, name (blank when not given).

    Raises
    ------
    AcapInputError
        With ``problems`` (row, column, value, problem) listing every bad row.
    """
    from acap.readers import clean_text

    t = _table(path, {"organisation", "email"}, "the invitation list")
    d = t.data
    known = {str(n).casefold(): str(n) for n in organisations["name"]}
    org = clean_text(d["organisation"])
    email = clean_text(d["email"])
    name = clean_text(d["name"]) if "name" in d.columns else pd.Series([None] * len(d))
    problems = []
    seen: dict[str, str] = {}
    for pos in range(len(d)):
        row = t.row_label(pos)
        o, e = org.iloc[pos], email.iloc[pos]
        if o is None:
            problems.append(dict(row=row, column="organisation", value="", problem="organisation is missing"))
        elif o.casefold() not in known:
            problems.append(dict(row=row, column="organisation", value=o,
                                 problem=f"unknown organisation {o!r}; add it first"))
        if e is None:
            problems.append(dict(row=row, column="email", value="", problem="e-mail address is missing"))
        elif not _EMAIL.match(e):
            problems.append(dict(row=row, column="email", value=e, problem=f"{e!r} is not an e-mail address"))
        elif e.casefold() in seen:
            problems.append(dict(row=row, column="email", value=e, problem=f"listed twice (also {seen[e.casefold()]})"))
        else:
            seen[e.casefold()] = row
    _refuse(problems, "the invitation list", str(path))
    return pd.DataFrame({"organisation": [known[o.casefold()] for o in org], "email": list(email),
                         "name": [n or "" for n in name]})


def issue_links(store, wave_id: int, rows: pd.DataFrame, base_url: str, *, actor: str) -> pd.DataFrame:
    """Issue one code per row and return the mail-merge table (rows plus ``code`` and ``link``).

    The codes are returned here once; the store keeps only their hashes.
    """
    orgs = store.organisations()
    ids = {str(n): i for i, n in zip(orgs["id"], orgs["name"])}
    out = rows.copy()
    out["code"] = ""
    for name, idx in out.groupby("organisation", sort=False).groups.items():
        codes = store.issue_codes(wave_id, int(ids[name]), len(idx), actor=actor)
        out.loc[idx, "code"] = codes
    out["link"] = [f"{base_url.rstrip('/')}/?code={c}" for c in out["code"]]
    return out


def roster_links(store, wave_id: int, organisation_id: int, base_url: str, *, actor: str) -> pd.DataFrame:
    """Personal links for everyone on a roster who has none yet (name, label, code, link)."""
    out = store.issue_roster_codes(wave_id, organisation_id, actor=actor)
    out["link"] = [f"{base_url.rstrip('/')}/?code={c}" for c in out["code"]]
    return out


def reminder_list(store, path) -> pd.DataFrame:
    """The rows of a mail-merge file whose code has not been submitted, with their status."""
    from acap.readers import read_table

    t = read_table(path)
    t.data.columns = [str(c).strip().lower() for c in t.data.columns]
    codes = read_codes(path)
    status = store.code_status(codes).set_index("code")["status"]
    rows = t.data[t.data["code"].astype(str).str.strip().isin(codes)].copy()
    rows["status"] = rows["code"].astype(str).str.strip().map(status)
    return rows[rows["status"] != "submitted"]


def rates_table(rates: pd.DataFrame) -> pd.DataFrame:
    """The store's response rates as a flat table for display (organisation, role group, counts, rate)."""
    out = rates.reset_index()
    out["response_rate"] = out["response_rate"].round(3)
    return out


def unusable_password() -> str:
    """A random password nobody is told (for accounts that sign in through single sign-on only)."""
    return secrets.token_urlsafe(32)


def read_roster(path, bank: Bank) -> pd.DataFrame:
    """Read a list of colleagues for the advice-network question (name; optional role, board).

    Returns
    -------
    DataFrame
        name, role (a bank role ID or None), board (bool).

    Raises
    ------
    AcapInputError
        With ``problems`` naming every bad row (missing or repeated name, unknown role, board not yes/no).
    """
    from acap.readers import clean_text

    t = _table(path, {"name"}, "the list of colleagues")
    d = t.data
    name = clean_text(d["name"])
    role = clean_text(d["role"]) if "role" in d.columns else pd.Series([None] * len(d))
    board = clean_text(d["board"]) if "board" in d.columns else pd.Series([None] * len(d))
    roles = {r.id: r.id for r in bank.roles} | {r.label.casefold(): r.id for r in bank.roles}
    problems, seen, out_role, out_board = [], {}, [], []
    for pos in range(len(d)):
        row = t.row_label(pos)
        n, r, b = name.iloc[pos], role.iloc[pos], board.iloc[pos]
        if n is None:
            problems.append(dict(row=row, column="name", value="", problem="name is missing"))
        elif n.casefold() in seen:
            problems.append(dict(row=row, column="name", value=n, problem=f"listed twice (also {seen[n.casefold()]})"))
        else:
            seen[n.casefold()] = row
        rid = None
        if r is not None:
            rid = roles.get(r) or roles.get(r.casefold())
            if rid is None:
                problems.append(dict(row=row, column="role", value=r, problem=f"unknown role {r!r}"))
        out_role.append(rid)
        bv = (b or "").casefold()
        if bv not in _YES | _NO:
            problems.append(dict(row=row, column="board", value=b, problem="board must be yes or no"))
        out_board.append(bv in _YES)
    _refuse(problems, "the list of colleagues", str(path))
    return pd.DataFrame({"name": list(name), "role": out_role, "board": out_board})


def reminders(rates: pd.DataFrame) -> pd.DataFrame:
    """Per organisation: invited, not started, started but not submitted (the store's "all" rows)."""
    by = rates.xs("all", level="role_group")
    return pd.DataFrame({"organisation": by.index, "invited": by["invited"].to_numpy(),
                         "not started": (by["invited"] - by["started"]).to_numpy(),
                         "started, not submitted": (by["started"] - by["submitted"]).to_numpy()})


def read_codes(path) -> list[str]:
    """The ``code`` column of a mail-merge file handed back for a reminders list."""
    from acap.readers import clean_text

    t = _table(path, {"code"}, "the mail-merge file")
    return [c for c in clean_text(t.data["code"]) if c]


def responses_frame(checked, bank: Bank) -> pd.DataFrame:
    """A validated :class:`~acap.scoring.Responses` back as a responses table (don't-know as its code)."""
    codes = checked.codes.copy()
    for iid, meta in bank.items.items():
        if iid in codes.columns:
            dk = bank.response_scales[meta["response_scale"]].dont_know.code
            codes.loc[checked.dont_know[iid].to_numpy(), iid] = dk
    bg = checked.background.reindex(columns=["organisation", "role", "years_in_role"])
    out = pd.concat([bg, codes], axis=1).rename_axis("respondent_id").reset_index()
    out.insert(1, "bank_version", checked.bank_version)
    return out


def check_upload(path, bank: Bank, organisations: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read and check an answers file with the library's reader; return the table to store and notes.

    Raises
    ------
    AcapInputError
        Every problem the reader finds (``problems``), or organisations not in the store.
    """
    from acap import scoring

    notes: list[str] = []
    result = scoring.check_responses(path, bank)
    notes = list(result.warnings) + list(result.notes)
    if result.responses is None:
        problems = result.problems
        first = problems.iloc[0]
        raise AcapInputError(f"row {first['row']}, column {first['column']}: {first['problem']}"
                             + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""),
                             where=Path(path).name, problems=problems)
    checked = result.responses
    frame = responses_frame(checked, bank)
    if organisations is not None:
        known = {str(n).casefold(): str(n) for n in organisations["name"]}
        problems = [dict(row=f"row {k + 2}", column="organisation", value=o,
                         problem=f"unknown organisation {o!r}; add it first")
                    for k, o in enumerate(frame["organisation"]) if str(o).casefold() not in known]
        _refuse(problems, "the answers file", Path(path).name)
        frame["organisation"] = [known[str(o).casefold()] for o in frame["organisation"]]
    return frame, notes


# ---- exports -------------------------------------------------------------------------------
def codebook(bank: Bank) -> pd.DataFrame:
    """One row per column of the responses export: variable, label, kind, scale, values."""
    rows = [dict(variable="respondent_id", label="Random respondent ID", kind="id", scale="", reverse="",
                 values=""),
            dict(variable="bank_version", label="Item bank version", kind="meta", scale="", reverse="", values=""),
            dict(variable="organisation", label="Organisation", kind="background", scale="", reverse="", values=""),
            dict(variable="role", label="Main role", kind="background", scale="", reverse="",
                 values="; ".join(f"{r.id} = {r.label}" for r in bank.roles)),
            dict(variable="years_in_role", label="Years in this role", kind="background", scale="", reverse="",
                 values="")]
    for iid, meta in bank.items.items():
        rows.append(dict(variable=iid, label=meta["text"], kind=meta["kind"], scale=meta["scale"] or meta["source"]
                         or "", reverse="yes" if meta["reverse"] else "",
                         values="; ".join(f"{k} = {v}" for k, v in _value_labels(bank, iid).items())))
    return pd.DataFrame(rows)


def _value_labels(bank: Bank, iid: str) -> dict[int, str]:
    rs = bank.response_scales[bank.items[iid]["response_scale"]]
    return {**{int(k): v for k, v in rs.labels.items()}, rs.dont_know.code: rs.dont_know.label}


def xlsx_bytes(frame: pd.DataFrame, bank: Bank) -> bytes:
    """The responses and the codebook as one workbook (sheets ``responses`` and ``codebook``)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        frame.to_excel(xl, sheet_name="responses", index=False)
        codebook(bank).to_excel(xl, sheet_name="codebook", index=False)
    return buf.getvalue()


def sav_bytes(frame: pd.DataFrame, bank: Bank) -> bytes:
    """The responses as SPSS ``.sav`` with variable labels, value labels and don't-know as user-missing."""
    import pyreadstat

    book = codebook(bank).set_index("variable")
    df = frame.copy()
    items = [c for c in df.columns if c in bank.items]
    for c in items + ["years_in_role"]:
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in ("respondent_id", "bank_version", "organisation", "role"):
        if c in df.columns:
            df[c] = df[c].astype("string").fillna("").astype(str)
    labels = {c: str(book.loc[c, "label"])[:250] for c in df.columns if c in book.index}
    value_labels = {c: {float(k): v for k, v in _value_labels(bank, c).items()} for c in items}
    missing = {c: [float(bank.response_scales[bank.items[c]["response_scale"]].dont_know.code)] for c in items}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "responses.sav"
        pyreadstat.write_sav(df, str(path), column_labels=labels, variable_value_labels=value_labels,
                             missing_ranges=missing)
        return path.read_bytes()


def retention_table(waves: pd.DataFrame, due: list[int]) -> pd.DataFrame:
    """Waves with their retention date, whether it has passed (the store's ``due_for_purge``) and
    when they were purged."""
    out = waves.reindex(columns=["id", "title", "retention", "purged_at"]).copy()
    out["due"] = np.where(out["id"].isin(due), "yes: purge now", "")
    return out


# ---- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaveResults:
    """What the results page shows for a wave: each organisation's feedback, and the scored run."""

    feedback: dict
    scored: object
    n_respondents: int


def wave_feedback(store, wave_id: int, bank: Bank) -> WaveResults:
    """Score a stored wave and build every organisation's ``OrganisationFeedback`` (publication layer)."""
    from acap.pipeline import score_and_aggregate
    from acap.publish import publish_all, run_meta
    from acap.scoring import validate_responses

    wave = store.wave(wave_id)
    frame = store.export_responses(wave_id)
    if frame.empty:
        return WaveResults({}, None, 0)
    checked = validate_responses(frame, bank)
    rates = store.response_rates(wave_id)
    invited = rates.xs("all", level="role_group")["invited"] if len(rates) else None
    if invited is not None:
        present = set(checked.background["organisation"])
        invited = invited[invited.index.isin(present)]
        invited = invited if len(invited) == len(present) else None
    scored = score_and_aggregate(checked, bank, invited=invited, min_n=int(getattr(wave, "min_n", 5)))
    orgs = store.organisations()
    types = pd.Series(orgs["type"].to_numpy(), index=orgs["name"].to_numpy())
    networks = _wave_networks(store, wave, scored) if wave.network else None
    feedback = publish_all(scored, organisations=types, networks=networks,
                           meta=run_meta(scored, wave=wave.title))
    return WaveResults(feedback, scored, len(frame))


def _wave_networks(store, wave, scored, n_perm: int = 200):
    """The wave's advice networks through the library's network stage, or None when nobody nominated.

    The store keys people by roster id; the network stage links people to scores by respondent
    id, so respondents take their respondent id and everyone else a roster-based id.
    """
    from acap.network.pipeline import run_networks

    ties, people, contacts = store.export_networks(wave.id)
    if ties.empty:
        return None
    ids = {int(p): (str(r) if isinstance(r, str) and r else f"roster-{int(p)}")
           for p, r in zip(people["id"], people["respondent_id"])}
    people = people.assign(id=people["id"].map(ids)).drop(columns=["respondent_id", "label"], errors="ignore")
    ties = ties.assign(source=ties["source"].map(ids), target=ties["target"].map(ids))
    contacts = contacts.assign(respondent=contacts["respondent"].map(ids))
    return run_networks(ties, people, contacts, scored, n_perm=n_perm, seed=wave.id).feedback


# ---- acap serve ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seeded:
    """What :func:`seed_demo` put in an empty store."""

    n_organisations: int
    n_submitted: int
    wave_id: int
    admin_user: str
    admin_password: str
    respondent_link: str


def seed_demo(store, base_url: str, *, seed: int = 2024, n_organisations: int = 12,
              admin_password: str | None = None) -> Seeded:
    """Fill an empty store with the demo: organisations, two waves, an admin account.

    The first wave asks the advice-network questions: every organisation has a made-up list of
    colleagues and unanswered codes (the link returned is one of them). The second holds the
    simulated answers, submitted (:func:`acap.store.demo.seed_demo`), with unanswered codes left
    over, so response rates and results have something to show.
    """
    from acap.simulate import simulate
    from acap.store.demo import seed_demo as store_demo

    sim = simulate(n_organisations=n_organisations, seed=seed)
    password = admin_password or secrets.token_urlsafe(12)
    store.create_account("admin", password, "admin", organisations=(), actor="acap serve")
    for name, info in sim.organisations.iterrows():
        store.add_organisation(name, info["type"], actor="acap serve")
    net = store.create_wave("Demo wave: advice network", min_n=5, network=True, actor="acap serve")
    link = None
    for k, (name, info) in enumerate(sim.organisations.iterrows()):
        oid = store.organisation_id(name)
        store.import_roster(net, oid, demo_roster(int(info["invited"]), seed=seed + k), actor="acap serve")
        codes = store.issue_codes(net, oid, int(info["invited"]), actor="acap serve")
        link = link or f"{base_url.rstrip('/')}/?code={codes[0]}"
    done = store_demo(store, sim, title="Demo wave", actor="acap serve")
    return Seeded(len(sim.organisations), done.respondents, done.wave_id, "admin", password, link)


_FIRST = ("Alex", "Bea", "Cal", "Dana", "Eli", "Fay", "Gus", "Hana", "Ira", "Jo", "Kit", "Lee", "Mo", "Nia",
          "Oli", "Pat", "Remi", "Sam", "Tam", "Val")
_LAST = ("Ashby", "Brook", "Carver", "Dale", "Ellis", "Fenwick", "Grant", "Hale", "Irwin", "Jessop", "Kerr",
         "Lowe", "Marsh", "Noble", "Orme", "Pryce", "Quill", "Rowe", "Shaw", "Tate")


def demo_roster(n: int, seed: int = 0) -> pd.DataFrame:
    """A made-up list of ``n`` colleagues (name, role) for the demo's advice-network question."""
    rng = np.random.default_rng(seed)
    pairs = rng.permutation(len(_FIRST) * len(_LAST))[:n]
    names = [f"{_FIRST[k // len(_LAST)]} {_LAST[k % len(_LAST)]}" for k in pairs]
    return pd.DataFrame({"name": names})


def warm_up() -> None:
    """Load (or, the first time on a machine, compile) the parallel-analysis kernels."""
    from acap.factor.retention import parallel_analysis

    x = np.random.default_rng(0).normal(size=(60, 6))
    parallel_analysis(x, n_iter=2, seed=0)
