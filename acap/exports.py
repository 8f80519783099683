"""Recognise what survey tools export: which column is which item, which answer is which code.

A consultant receives Microsoft Forms, Qualtrics, SmartSurvey or LimeSurvey exports, SPSS files
and spreadsheets. Without any option a column is recognised when its header is

* an item ID in any case (``aq01``), a header starting with one (``AQ01. We actively seek ...``),
  or the bank's item text, compared after normalising case, spaces, punctuation and quotes
  (also when numbered, ``3. We regularly scan ...``, or cut short after 40 characters);
* a background question (organisation, role, years in role) by its ID or its wording;
* a response ID (``ID``, ``ResponseId``, ``Response ID``...), read as the respondent ID;
* metadata of the survey tool (timestamps, durations, IP address, progress, status, language,
  tokens...): set aside with a note;
* a name or an e-mail address: dropped on reading, so that it reaches no output.

Qualtrics puts two more header rows under the first (the question text and an ImportId
row); rows like these are recognised and used to match columns. Answers may be the codes or
the bank's answer labels in any case (``slightly agree``, ``5 - Slightly agree``), and SPSS
value labels translate a file's own codes to the bank's. Anything else goes through a mapping
file (:func:`read_mapping`; :func:`draft_mapping` writes one from what was found).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from acap.errors import AcapInputError
from acap.items import Bank, load_yaml
from acap.readers import Table, normalise

#: Columns a responses table may carry besides background questions and items.
META_COLUMNS = ("respondent_id", "bank_version", "submitted_at", "started_at", "consent")
#: Headers read as the respondent ID when the table has no respondent_id column (normalised).
RESPONSE_ID_HEADERS = ("respondent id", "response id", "responseid", "id", "userno", "unique id", "respondent")
#: Words of a header that say it holds personal data: dropped on reading.
PERSONAL_WORDS = frozenset({"email", "e mail", "mail", "name", "names", "firstname", "lastname", "surname",
                            "recipientemail", "recipientfirstname", "recipientlastname", "phone", "telephone",
                            "address", "ipaddress", "ip"})
#: Words of a header that say it is the survey tool's metadata: set aside.
METADATA_WORDS = frozenset({
    "date", "time", "start", "started", "end", "ended", "completion", "completed", "duration", "seconds",
    "progress", "finished", "status", "submitdate", "submitted", "datestamp", "startdate", "enddate",
    "recordeddate", "lastpage", "startlanguage", "language", "userlanguage", "seed", "token", "refurl",
    "url", "referrer", "latitude", "longitude", "locationlatitude", "locationlongitude", "channel",
    "distributionchannel", "externalreference", "reference", "responseid", "response", "type", "modified",
    "last", "interviewtime", "device", "browser", "agent", "useragent", "id", "uniqueid", "userno", "q",
    "recaptcha", "score", "collector", "custom", "data", "timestamp", "ipaddress"})
#: What the background questions may be called in an export (normalised), beside ID and label.
BACKGROUND_HEADERS = {
    "organisation": ("organisation", "organization", "org", "organisation name", "organization name",
                     "your organisation", "your organization", "which organisation do you work for",
                     "which organization do you work for"),
    "role": ("role", "job role", "main role", "your role", "your main role", "job title"),
    "years_in_role": ("years in role", "years in this role", "years in post", "years"),
}
IGNORE = "ignore"


@dataclass(frozen=True)
class Mapping:
    """A mapping file: export columns to item IDs, answer texts to codes.

    Attributes
    ----------
    columns : dict
        Column header as in the export -> item ID, background ID, ``respondent_id`` or
        ``ignore``.
    answers : dict
        Answer text (compared normalised) -> code (int), ``"dont_know"`` or ``"missing"``.
    source : str
    """

    columns: dict
    answers: dict
    source: str = "mapping"


@dataclass(frozen=True)
class Recognised:
    """An export with its columns recognised.

    Attributes
    ----------
    table : Table
        The recognised columns only, under acap's names (item IDs, organisation, role...);
        extra header rows removed (rows keep their numbers in the file).
    columns : DataFrame
        One row per column of the export: ``column``, ``target`` (what it was read as, or
        empty), ``how`` (why: "item ID", "item text", "mapping", "metadata", "personal data",
        "not recognised").
    answers : dict
        Item ID -> {normalised answer text: code}, the answer labels the column may hold
        (code ``-1`` for don't know, NaN for missing).
    recode : dict
        Item ID -> {file code: bank code} from SPSS value labels.
    notes : list of str
    problems : list of (column, problem)
        Structural problems: unrecognised columns, two columns read as one item.
    """

    table: Table
    columns: pd.DataFrame
    answers: dict
    recode: dict
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)


# ---- matching headers --------------------------------------------------------------------

class _Matcher:
    """Finds the item or background question a header names."""

    def __init__(self, bank: Bank):
        self.bank = bank
        self.ids = {iid.lower(): iid for iid in bank.items}
        self.texts = {normalise(meta["text"]): iid for iid, meta in bank.items.items()}
        self.background = {}
        for b in bank.background:
            for h in (b.id, b.label, *BACKGROUND_HEADERS.get(b.id, ())):
                self.background[normalise(h)] = b.id
        self.meta = {normalise(m): m for m in META_COLUMNS}

    def item(self, header: str) -> tuple[str | None, str]:
        h = str(header).strip()
        if h in self.bank.items:
            return h, "item ID"
        if h.lower() in self.ids:
            return self.ids[h.lower()], "item ID in another case"
        n = normalise(h)
        if not n:
            return None, ""
        if n in self.texts:
            return self.texts[n], "item text"
        first = n.split(" ", 1)[0]
        # "AQ01. We actively seek ..." (LimeSurvey's "question code and text") or "AQ01 - ..."
        if first in self.ids and " " in n:
            return self.ids[first], "item ID and text"
        # numbered ("3. We regularly ...") or prefixed ("Q5 - We ..."), or cut short by the tool
        hits = {iid for text, iid in self.texts.items() if n.endswith(" " + text) or
                (len(n) >= 40 and text.startswith(n))}
        if len(hits) == 1:
            return hits.pop(), "item text"
        return None, ""

    def other(self, header: str) -> tuple[str | None, str]:
        n = normalise(header)
        if str(header).strip() in META_COLUMNS:
            return str(header).strip(), "column name"
        if n in self.meta:
            return self.meta[n], "column name"
        if n in self.background:
            return self.background[n], "background question"
        return None, ""


def _kind_of_extra(header: str) -> str | None:
    """'personal data', 'metadata' or None for a header acap does not score."""
    n = normalise(header)
    words = set(n.split())
    if words & PERSONAL_WORDS or "e mail" in n:
        return "personal data"
    if words & METADATA_WORDS or re.fullmatch(r"(q|qid)?\d+( \d+)*", n):
        return "metadata"
    return None


def _is_header_row(cells: list[str], matcher: _Matcher) -> bool:
    """Whether a first data row is really a header row (Qualtrics' question text and ImportId rows)."""
    texts = [str(c) for c in cells if c is not None and not pd.isna(c) and str(c).strip()]
    if not texts:
        return False
    if any(str(c).lstrip().startswith('{"ImportId"') for c in texts):
        return True
    hits = sum(matcher.item(c)[0] is not None for c in texts)
    return hits >= 2 and hits >= 0.3 * len(texts)


def holds_items(rows: list[list[str]], bank: Bank) -> bool:
    """Whether a sheet (its header and first rows) has any column naming an item."""
    m = _Matcher(bank)
    return any(m.item(c)[0] is not None for row in rows[:4] for c in row)


# ---- answers -----------------------------------------------------------------------------

DONT_KNOW = -1  # in answer maps: the answer is "don't know / not applicable"
#: Text answers read as "don't know / not applicable" (compared normalised).
DONT_KNOW_TEXT = frozenset(normalise(t) for t in (
    "dk", "don't know", "dont know", "do not know", "n/a", "not applicable", "don't know / not applicable",
    "not sure"))


def answer_labels(bank: Bank, scale: str) -> dict:
    """Normalised answer text -> code for one response scale: labels, "5 - Slightly agree", don't know."""
    rs = bank.response_scales[scale]
    out = {t: DONT_KNOW for t in DONT_KNOW_TEXT}
    out[normalise(rs.dont_know.label)] = DONT_KNOW
    for code, label in rs.labels.items():
        n = normalise(label)
        out[n] = code
        out[f"{code} {n}"] = code
        out[f"{n} {code}"] = code
    out[f"{rs.dont_know.code} {normalise(rs.dont_know.label)}"] = DONT_KNOW
    return out


# ---- the mapping file --------------------------------------------------------------------

def read_mapping(path: str | os.PathLike, bank: Bank) -> Mapping:
    """Read a mapping file (YAML): ``columns`` (header -> item ID) and ``answers`` (text -> code).

    Parameters
    ----------
    path : path-like
        YAML with two optional sections::

            columns:
              "Q5_1": RV01          # an item ID
              "Trust name": organisation
              "Q2": ignore          # set aside
            answers:
              "Totally agree": 7
              "Not sure": dont_know
              "Skipped": missing

    bank : Bank
        Targets are checked against it.

    Returns
    -------
    Mapping

    Raises
    ------
    AcapInputError
        Naming the file and the entry: not YAML, an unknown target, a code that is not a whole
        number, an entry left empty (a draft's unmatched entries must be filled or removed).
    """
    import yaml

    p = Path(path)
    try:
        raw = load_yaml(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise AcapInputError("no such file", where=str(p)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise AcapInputError(f"not valid YAML{f' at line {mark.line + 1}' if mark else ''}", where=str(p)) from None
    if not isinstance(raw, dict) or set(raw) - {"columns", "answers"}:
        raise AcapInputError("a mapping file has two sections, columns and answers", where=str(p))
    allowed = set(bank.items) | {b.id for b in bank.background} | set(META_COLUMNS) | {IGNORE}
    columns = {}
    for header, target in (raw.get("columns") or {}).items():
        if target is None:
            raise AcapInputError(f"columns, {header!r}: not filled in (give an item ID, a background question "
                                 "or ignore)", where=str(p))
        t = str(target).strip()
        t = next((a for a in allowed if a.lower() == t.lower()), t)
        if t not in allowed:
            raise AcapInputError(f"columns, {header!r}: {target!r} is not an item ID of bank {bank.bank} "
                                 f"{bank.version}, a background question or ignore", where=str(p))
        columns[str(header).strip()] = t
    answers = {}
    for text, code in (raw.get("answers") or {}).items():
        if code is None:
            raise AcapInputError(f"answers, {text!r}: not filled in (give a code, dont_know or missing)", where=str(p))
        if str(code).strip().lower() in ("dont_know", "don't know", "dk"):
            answers[normalise(text)] = DONT_KNOW
        elif str(code).strip().lower() == "missing":
            answers[normalise(text)] = np.nan
        elif isinstance(code, int) and not isinstance(code, bool):
            answers[normalise(text)] = code
        else:
            raise AcapInputError(f"answers, {text!r}: {code!r} is not a whole-number code, dont_know or missing",
                                 where=str(p))
    return Mapping(columns=columns, answers=answers, source=str(p))


# ---- recognition -------------------------------------------------------------------------

def recognise(table: Table, bank: Bank, mapping: Mapping | None = None) -> Recognised:
    """Recognise the columns (and extra header rows) of an export.

    Parameters
    ----------
    table : Table
        As read by :func:`acap.readers.read_table`.
    bank : Bank
    mapping : Mapping, optional
        Takes precedence over what is recognised.

    Returns
    -------
    Recognised
    """
    m = _Matcher(bank)
    frame = table.data
    # Extra header rows (Qualtrics: question text, then ImportId) sit above the first answer.
    k = 0
    while k < min(3, len(frame)) and _is_header_row(
            [frame[c].iloc[k] if not pd.api.types.is_numeric_dtype(frame[c]) else None for c in frame.columns], m):
        k += 1
    layers = [[frame[c].iloc[i] for i in range(k)] for c in frame.columns]
    mapped = dict(mapping.columns) if mapping else {}
    mapped_norm = {normalise(h): t for h, t in mapped.items()}
    rows = []
    for col, extra in zip(frame.columns, layers):
        target, how = None, ""
        if col in mapped or normalise(col) in mapped_norm:
            target, how = mapped.get(col, mapped_norm.get(normalise(col))), "mapping"
            if target == IGNORE:
                target, how = None, "ignored (mapping)"
        else:
            for header in [col, *[e for e in extra if isinstance(e, str)]]:
                target, how = m.item(header)
                if target is None:
                    target, how = m.other(header)
                if target is not None:
                    break
        rows.append([col, target, how])
    cols = pd.DataFrame(rows, columns=["column", "target", "how"])
    taken = set(cols["target"].dropna())
    if "respondent_id" not in taken:
        for header in RESPONSE_ID_HEADERS:  # first in this order of preference
            hit = cols.index[cols["target"].isna() & (cols["column"].map(normalise) == header)]
            if len(hit):
                cols.loc[hit[0], ["target", "how"]] = ["respondent_id", "response ID"]
                break
    notes, problems = list(table.notes), []
    if k:
        notes.append(f"{k} more header row{'s' if k > 1 else ''} under the first (question text, import IDs) "
                     "used to recognise columns")
    unmatched = cols["target"].isna() & ~cols["how"].str.startswith("ignored")
    for i in np.flatnonzero(unmatched.to_numpy()):
        col = cols.at[i, "column"]
        kind = _kind_of_extra(col)
        if kind is not None:
            cols.loc[i, "how"] = kind
        else:
            cols.loc[i, "how"] = "not recognised"
            problems.append((col, _unknown_message(col, bank)))
    dup = cols["target"].notna() & cols["target"].duplicated(keep=False)
    for target, group in cols[dup].groupby("target", sort=False):
        problems.append((", ".join(group["column"]), f"columns {', '.join(map(repr, group['column']))} are all "
                         f"read as {target!r}: keep one, or say which is which in a mapping file"))
    set_aside = cols.loc[cols["how"] == "metadata", "column"].tolist()
    personal = cols.loc[cols["how"] == "personal data", "column"].tolist()
    if set_aside:
        notes.append(f"{len(set_aside)} metadata column{'s' if len(set_aside) > 1 else ''} set aside: "
                     + ", ".join(set_aside))
    if personal:
        notes.append(f"{len(personal)} column{'s' if len(personal) > 1 else ''} of personal data dropped on "
                     "reading, written nowhere: " + ", ".join(personal))
    by_text = int(cols["how"].isin(["item text", "item ID and text"]).sum())
    if by_text:
        notes.append(f"{by_text} item column{'s' if by_text > 1 else ''} recognised by the item's text")
    by_case = int((cols["how"] == "item ID in another case").sum())
    if by_case:
        notes.append(f"{by_case} item ID{'s' if by_case > 1 else ''} written in another case")

    keep = cols[cols["target"].notna() & ~dup]
    data = pd.DataFrame({t: frame[c].iloc[k:].reset_index(drop=True) for c, t in zip(keep["column"], keep["target"])})
    positions = table.positions[k:] if table.positions is not None else (
        np.arange(k, len(frame)) if table.kind != "frame" else None)
    if table.kind == "frame" and k:
        data.index = frame.index[k:]
    labels = {t: table.value_labels[c] for c, t in zip(keep["column"], keep["target"]) if c in table.value_labels}
    missing = {t: table.user_missing[c] for c, t in zip(keep["column"], keep["target"]) if c in table.user_missing}
    # SPSS: organisation and role are often numbers with value labels; the labels are the names.
    for col in ("organisation", "role"):
        if col in data.columns and pd.api.types.is_numeric_dtype(data[col]):
            codes = data[col]
            named = codes.map(labels.get(col, {}))
            as_text = codes.map(lambda v: None if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v)))
            data[col] = named.where(named.notna(), as_text).astype(object)
    answers, recode = {}, {}
    for iid, meta in bank.items.items():
        if iid not in data.columns:
            continue
        amap = answer_labels(bank, meta["response_scale"])
        if mapping:
            amap.update(mapping.answers)
        answers[iid] = amap
        if iid in labels:  # SPSS value labels: the file's code -> the bank's code, through the label
            rc = {}
            for code, label in labels[iid].items():
                got = amap.get(normalise(label))
                if got is not None and not (isinstance(got, float) and np.isnan(got)):
                    rc[float(code)] = got
            if rc and any(c != g for c, g in rc.items()):
                recode[iid] = rc
    new = Table(data=data, source=table.source, kind=table.kind, positions=positions, delimiter=table.delimiter,
                decimal_comma=table.decimal_comma, sheet=table.sheet, blank_rows=table.blank_rows,
                value_labels=labels, user_missing=missing, notes=tuple(notes))
    return Recognised(table=new, columns=cols, answers=answers, recode=recode, notes=notes, problems=problems)


def _unknown_message(col: str, bank: Bank) -> str:
    return (f"unknown item ID {col!r}: not an item of bank {bank.bank} {bank.version}, a background question "
            "or survey metadata (name it in a mapping file: acap map)")


# ---- draft mapping -----------------------------------------------------------------------

def draft_mapping(table: Table, bank: Bank, mapping: Mapping | None = None) -> str:
    """A mapping file (YAML text) from what :func:`recognise` found, marking what it could not match.

    Every column is listed with what it was read as and why; unmatched columns and answer texts
    get an empty value and a ``# NOT MATCHED`` comment to fill in (or delete) before use.
    """
    rec = recognise(table, bank, mapping)
    lines = ["# acap mapping file: drafted by `acap map`; check every entry, fill in each NOT MATCHED one",
             "# (an item ID, a background question such as organisation or role, or ignore) and pass it",
             "# with --map. Answer texts map to codes (1-7), dont_know or missing.",
             "columns:"]
    for _, r in rec.columns.iterrows():
        key = json.dumps(str(r["column"]), ensure_ascii=False)
        if r["target"] is not None and not pd.isna(r["target"]):
            lines.append(f"  {key}: {r['target']}  # {r['how']}")
        elif r["how"] in ("metadata", "personal data") or str(r["how"]).startswith("ignored"):
            lines.append(f"  {key}: {IGNORE}  # {r['how']}")
        else:
            lines.append(f"  {key}:  # NOT MATCHED: an item ID, a background question or ignore")
    lines.append("answers:")
    unknown: dict[str, int] = {}
    data = rec.table.data
    # answers in the item columns, and in the unmatched ones (most are items the draft could not name)
    columns = [(data[iid], amap) for iid, amap in rec.answers.items()]
    unnamed = rec.columns.loc[rec.columns["how"] == "not recognised", "column"]
    if len(unnamed):
        amap = answer_labels(bank, next(iter(bank.response_scales)))
        if mapping:
            amap.update(mapping.answers)
        k = rec.table.positions[0] - table.positions[0] if rec.table.positions is not None and len(
            rec.table.positions) and table.positions is not None else 0
        # an answer scale is shared by many items: a text counts as an answer when two or more
        # unmatched columns hold it (an organisation name in an unmatched column does not)
        seen: dict[str, int] = {}
        for c in unnamed:
            for text in set(table.data[c].iloc[k:].dropna().astype(str).str.strip()):
                seen[text] = seen.get(text, 0) + 1
        shared = {t for t, n in seen.items() if n >= 2}
        columns += [(table.data[c].iloc[k:].where(table.data[c].iloc[k:].astype(str).str.strip().isin(shared)), amap)
                    for c in unnamed]
    for s, amap in columns:
        if pd.api.types.is_numeric_dtype(s):
            continue
        counts = s.dropna().astype(str).str.strip().value_counts()
        for text, n in counts.items():
            key = normalise(text)
            if not key or key in amap or text.lower() in ("na", "#n/a", "null", "#null!", "-"):
                continue
            try:
                float(text.replace(",", "."))
                continue
            except ValueError:
                unknown[text] = unknown.get(text, 0) + int(n)
    for text, n in sorted(unknown.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {json.dumps(text, ensure_ascii=False)}:  # NOT MATCHED ({n} cells): a code, dont_know "
                     "or missing")
    if not unknown:
        lines.append("  # every answer text was recognised")
    return "\n".join(lines) + "\n"
