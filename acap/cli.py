"""The ``acap`` command line: the only part of acap that talks to the terminal.

Bad input ends with a non-zero exit and one line saying what and where, never a traceback,
and nothing written.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Annotated, Optional

# Before numpy loads: its advice to back large arrays with huge pages makes page faults wait
# for the kernel to compact memory where transparent huge pages defragment on advice (as on
# the project's machines); a command that allocates and frees many mid-size arrays then pays
# that as erratic system time (acap score on 100,000 respondents: 1.7-2.4 s with the advice,
# 1.8-2.0 s without). numpy's documented switch; a value already set is kept.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

import pandas as pd  # noqa: E402
import typer  # noqa: E402

from acap.errors import AcapInputError  # noqa: E402
from acap.thresholds import DEFAULT_MIN_N  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="acap: absorptive-capacity instrument for health-care commissioning organisations.")

EXIT_BAD_INPUT = 2


def _freeze_loaded() -> None:
    """Leave what is loaded by now out of the garbage collector's passes.

    One command runs per process: the modules and their objects stay to the end, so full
    collections need not walk them (0.1-0.2 s of acap validate).
    """
    import gc

    gc.freeze()


def _one_line_errors(fn):
    """Turn bad input (and unwritable output) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except AcapInputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except Exception as exc:  # a bug, not bad input: still one line unless debugging
            if os.environ.get("ACAP_DEBUG"):
                raise
            typer.echo(f"internal error: {type(exc).__name__}: {exc} (set ACAP_DEBUG=1 for the traceback; "
                       "please report it)", err=True)
            raise typer.Exit(1) from None

    return wrapper


def _fmt(frame: pd.DataFrame, digits: int = 2) -> str:
    return frame.to_string(float_format=lambda v: f"{v:.{digits}f}", na_rep="–")


def _load_bank(path: Optional[Path]):
    from acap.items import load_bank

    return load_bank(path)


class _small_n_warnings:
    """Show a small-minimum warning as one line on stderr (the library warns; the CLI prints)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        from acap.publish import SmallMinimumWarning

        self._ctx.__exit__(*exc)
        for w in self._caught:
            if issubclass(w.category, SmallMinimumWarning):
                typer.echo(f"warning: {w.message}", err=True)
        return False


def _read_invited(path: Optional[Path], organisations) -> tuple[Optional[pd.Series], Optional[pd.Series]]:
    """(organisation -> invited count, organisation -> type) from a CSV/XLSX with columns
    organisation, invited and optionally type (peer groups).

    Every organisation named must be in the responses (spellings differing only by case,
    spaces or punctuation are the same organisation), and every count a whole number no
    smaller than 1; the message names the file and row.
    """
    if path is None:
        return None, None
    from acap.readers import clean_text, organisation_key, read_table

    t = read_table(path)
    missing = {"organisation", "invited"} - set(t.data.columns)
    if missing:
        raise AcapInputError(f"needs columns organisation and invited (missing: {', '.join(sorted(missing))})",
                             where=str(path))
    org = clean_text(t.data["organisation"])
    invited = pd.to_numeric(clean_text(t.data["invited"]), errors="coerce")
    known = {organisation_key(o): o for o in pd.unique(organisations)}
    names = []
    for pos in range(len(t.data)):
        where = f"{t.row_label(pos)}"
        if org.iloc[pos] is None:
            raise AcapInputError(f"{where}, column organisation: organisation is missing", where=str(path))
        v = invited.iloc[pos]
        if not (pd.notna(v) and v >= 1 and float(v).is_integer()):
            raise AcapInputError(f"{where}, column invited: {t.data['invited'].iloc[pos]!r} is not a whole "
                                 "number of at least 1", where=str(path))
        key = organisation_key(org.iloc[pos])
        if key not in known:
            raise AcapInputError(f"{where}, column organisation: {org.iloc[pos]!r} has no responses", where=str(path))
        if known[key] in names:
            raise AcapInputError(f"{where}, column organisation: {org.iloc[pos]!r} is listed twice", where=str(path))
        names.append(known[key])
    types = (pd.Series(clean_text(t.data["type"]).to_numpy(), index=names)
             if "type" in t.data.columns else None)
    return pd.Series(invited.astype(int).to_numpy(), index=names), types


def _read_organisations(path: Optional[Path]) -> Optional[pd.DataFrame]:
    from acap.readers import read_organisations

    return read_organisations(path) if path is not None else None


#: Problems printed on the terminal; the rest are in the CSV list.
SHOWN_PROBLEMS = 20


def _echo_problems(problems: pd.DataFrame, source: str, full_list: Optional[Path]) -> None:
    """Up to SHOWN_PROBLEMS problems grouped by kind, with the total and where the full list is."""
    total = len(problems)
    kinds = problems.groupby("kind", sort=False)
    where = f" (every one in {full_list})" if full_list is not None else ""
    typer.echo(f"error: {source}: refused: {total:,} problem{'s' if total != 1 else ''} in "
               f"{kinds.ngroups} kind{'s' if kinds.ngroups != 1 else ''}{where}", err=True)
    each = max(1, SHOWN_PROBLEMS // max(kinds.ngroups, 1))
    shown = 0
    for kind, group in kinds:
        typer.echo(f"  {kind}: {len(group):,}", err=True)
        for _, r in group.head(min(each, SHOWN_PROBLEMS - shown)).iterrows():
            at = ", ".join(x for x in (f"{'case' if source.lower().endswith(('.sav', '.zsav')) else 'row'} {r['row']}"
                                       if r["row"] is not None and not pd.isna(r["row"]) else "",
                                       f"column {r['column']}" if r["column"] is not None and not pd.isna(r["column"])
                                       else "") if x)
            typer.echo(f"    {at + ': ' if at else ''}{r['problem']}", err=True)
            shown += 1
        if shown >= SHOWN_PROBLEMS:
            break


def _refused(exc: AcapInputError, out: Optional[Path]) -> None:
    """Report a refused input: one line for one problem, else grouped; mark ``out`` stale."""
    from acap.outputs import PROBLEMS, mark_stale

    problems = exc.problems
    if out is not None:
        mark_stale(out, str(exc), problems if len(problems) > 1 else None)
    if len(problems) > 1:
        _echo_problems(problems, exc.where or "input", out / PROBLEMS if out is not None else None)
    else:
        typer.echo(f"error: {exc}", err=True)
    if out is not None and (out / "STALE.txt").exists():
        typer.echo(f"The results in {out}/ are from an earlier run: marked stale ({out / 'STALE.txt'}).", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _echo_read(notes, warnings, limit: int = 6) -> None:
    """How the input was read (notes) and what it lost (warnings), a few lines each."""
    for note in list(notes)[:limit]:
        typer.echo(f"  note: {_clip(note)}")
    if len(notes) > limit:
        typer.echo(f"  ... and {len(notes) - limit} more notes")
    for w in list(warnings)[:limit]:
        typer.echo(f"  warning: {_clip(w)}")
    if len(warnings) > limit:
        typer.echo(f"  ... and {len(warnings) - limit} more warnings")


def _clip(text: str, width: int = 160) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


@app.command()
@_one_line_errors
def score(
    responses: Annotated[Path, typer.Argument(help="Responses table or survey export: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the results.")],
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    invited: Annotated[Optional[Path], typer.Option("--invited", help="CSV of organisation,invited for finite-population CIs.")] = None,
    organisations: Annotated[Optional[Path], typer.Option(
        "--organisations", help="Organisations of record: name, type, invited, optional aliases; responses "
                                "from an organisation not on it are refused.")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Workbook sheet (name or number); default: "
                                                 "the one holding item columns.")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--map", help="Mapping file: columns to item IDs, answer "
                                                    "texts to codes (draft one with acap map).")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Suppress organisations and role groups below "
                                       "this n (below 5 needs --allow-small-n).")] = DEFAULT_MIN_N,
    allow_small_n: Annotated[bool, typer.Option("--allow-small-n", help="Accept a --min-n below 5 (warns; "
                                                "recorded in every output).")] = False,
    min_share: Annotated[float, typer.Option("--min-share", help="Share of a scale's items needed for a score.")] = 2 / 3,
    respondents: Annotated[bool, typer.Option("--respondents", help="Also write respondent-level scores "
                                              "(scores/respondents.csv); they are not suppressed.")] = False,
    networks: Annotated[Optional[Path], typer.Option("--networks", help="Folder with collected network data: "
                                                     "ties.csv, people.csv, outside_contacts.csv (as the demo's "
                                                     "data/network/).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the network pseudonyms and permutation tests.")] = 2024,
):
    """Score a responses table (or a survey export) and aggregate it to organisations (and measure networks)."""
    from acap.outputs import MANIFEST, PROBLEMS, STALE, json_writer, remove_writer, run_manifest, write_all
    from acap.pipeline import score_and_aggregate
    from acap.publish import headline_table, publication_files, publish_all
    from acap.scoring import validate_responses

    _freeze_loaded()
    t0 = time.perf_counter()
    try:
        b = _load_bank(bank)
        orgs = _read_organisations(organisations)
        checked = validate_responses(responses, b, sheet=sheet, mapping=mapping, organisations=orgs)
        inv, types = _read_invited(invited, checked.background["organisation"])
        if orgs is not None:
            if inv is None and "invited" in orgs.columns:
                inv = orgs["invited"].dropna().astype(int)
            if types is None and "type" in orgs.columns:
                types = orgs["type"].dropna()
    except AcapInputError as exc:
        _refused(exc, out)
    with _small_n_warnings():
        scored = score_and_aggregate(checked, b, invited=inv, min_n=min_n, min_share=min_share,
                                     allow_small_n=allow_small_n)
    files = {}
    net = None
    if networks is not None:
        from acap.network.pipeline import network_files, read_network_files, run_networks

        net = run_networks(*read_network_files(networks), scored, seed=seed)
        files.update(network_files(net, seed=seed))
    feedback = publish_all(scored, organisations=types, networks=None if net is None else net.feedback)
    files = {**publication_files(scored, feedback=feedback, respondents=respondents), **files}
    options = {"bank": str(bank) if bank else None, "invited": str(invited) if invited else None,
               "organisations": str(organisations) if organisations else None, "sheet": sheet,
               "map": str(mapping) if mapping else None, "min_n": min_n, "allow_small_n": allow_small_n,
               "min_share": min_share, "respondents": respondents, "networks": str(networks) if networks else None}
    files[MANIFEST] = json_writer(run_manifest(bank=b, source=responses, options=options, warnings=checked.warnings,
                                               notes=checked.notes, sheet=sheet,
                                               files=[k for k, w in files.items() if not getattr(w, 'removes', False)]))
    files[STALE] = files[PROBLEMS] = remove_writer()  # a run that succeeds clears an earlier refusal's marks
    written = write_all(out, files)
    head = headline_table(feedback).drop(columns=["largest_gap_label", "reason"], errors="ignore")
    _echo_score_summary(scored, head, b, checked, out, written, time.perf_counter() - t0)
    if net is not None:
        typer.echo(f"Advice networks of {len(net.summaries)} organisations"
                   + (f" ({len(net.dropped)} suppressed, left out)" if net.dropped else "") + ".")

def _echo_score_summary(scored, head: pd.DataFrame, b, checked, out: Path, written, seconds: float) -> None:
    """A screen-long summary: what was read, what it lost, the organisations in brief, the paths."""
    bg = scored.scores.background
    typer.echo(f"Scored {len(bg):,} respondents from {bg['organisation'].nunique():,} organisations "
               f"(bank {b.bank} {b.version}) in {seconds:.1f} s.")
    _echo_read(checked.notes, checked.warnings)
    shown = head[head["status"] != "suppressed"]
    typer.echo(f"\nOrganisations: {len(shown):,} shown, {len(head) - len(shown):,} suppressed (fewer than "
               f"{scored.organisations.min_n} respondents).")
    if len(head) <= 15:
        typer.echo(_fmt(head))
    elif len(shown):
        q = shown[["potential", "realised", "ratio"]].quantile([0.25, 0.5, 0.75])
        typer.echo("Across shown organisations: median [lower quartile, upper quartile]")
        for c in q.columns:
            typer.echo(f"  {c:<10} {q.at[0.5, c]:.2f} [{q.at[0.25, c]:.2f}, {q.at[0.75, c]:.2f}]")
        if shown["largest_gap_source"].notna().any():
            top = shown["largest_gap_source"].value_counts().head(3)
            typer.echo("  largest knowledge gap most often: " + ", ".join(f"{k} ({v:,})" for k, v in top.items()))
    typer.echo(f"\nWrote {len(written)} files to {out}/:")
    for f in written:
        typer.echo(f"  {f}")


@app.command()
@_one_line_errors
def check(
    responses: Annotated[Path, typer.Argument(help="Responses table or survey export: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="CSV for the full list of problems (default: "
                                                "<name>-problems.csv here).")] = None,
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    organisations: Annotated[Optional[Path], typer.Option(
        "--organisations", help="Organisations of record (name, type, invited, optional aliases).")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Workbook sheet (name or number).")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--map", help="Mapping file (see acap map).")] = None,
):
    """Validate a responses table without scoring it; write every problem as CSV (row, column, value, problem)."""
    from acap.scoring import check_responses

    b = _load_bank(bank)
    orgs = _read_organisations(organisations)
    res = check_responses(responses, b, sheet=sheet, mapping=mapping, organisations=orgs)
    target = out or Path(f"{responses.stem}-problems.csv")
    target.parent.mkdir(parents=True, exist_ok=True)
    res.problems.to_csv(target, index=False, encoding="utf-8-sig")
    cols = res.columns
    n_items = int(cols["target"].isin(list(b.items)).sum()) if cols is not None else 0
    typer.echo(f"Checked {responses}: {len(cols) if cols is not None else 0} columns, {n_items} of them items "
               f"of bank {b.bank} {b.version}.")
    _echo_read(res.notes, res.warnings)
    if res.ok:
        typer.echo(f"No problems: {len(res.responses.background):,} respondents ready to score "
                   f"(empty list written to {target}).")
        return
    _echo_problems(res.problems, str(responses), target)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command("map")
@_one_line_errors
def map_(
    export: Annotated[Path, typer.Argument(help="Survey export: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Path, typer.Option("--out", help="Mapping file to write (YAML).")] = Path("map.yaml"),
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Workbook sheet (name or number).")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--map", help="An earlier mapping file to start from.")] = None,
):
    """Draft a mapping file from an export: what each column was read as; NOT MATCHED where unknown."""
    from acap.exports import draft_mapping, holds_items, read_mapping
    from acap.readers import read_table

    b = _load_bank(bank)
    table = read_table(export, sheet=sheet, prefer=lambda rows: holds_items(rows, b))
    text = draft_mapping(table, b, read_mapping(mapping, b) if mapping else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    unmatched = text.count("# NOT MATCHED")
    typer.echo(f"Wrote {out}: {text.count(chr(10)) - 5} entries, {unmatched} not matched"
               + (" (fill them in, then pass the file with --map)." if unmatched else "."))


@app.command()
@_one_line_errors
def report(
    responses: Annotated[Path, typer.Argument(help="Responses table: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports (written to OUT/reports/).")],
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    invited: Annotated[Optional[Path], typer.Option("--invited", help="CSV of organisation,invited for finite-population CIs.")] = None,
    organisations: Annotated[Optional[Path], typer.Option(
        "--organisations", help="CSV/XLSX of organisation, type, invited: peer groups by type, response rates.")] = None,
    networks: Annotated[Optional[Path], typer.Option("--networks", help="Folder of collected advice-network files.")] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", help="Responses of the previous wave: adds "
                                                     "change since then.")] = None,
    wave: Annotated[Optional[str], typer.Option("--wave", help="Name of this wave, e.g. 'Spring 2026'.")] = None,
    previous_wave: Annotated[Optional[str], typer.Option("--previous-wave", help="Name of the previous wave.")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Suppress organisations and role groups below "
                                       "this n (below 5 needs --allow-small-n).")] = DEFAULT_MIN_N,
    allow_small_n: Annotated[bool, typer.Option("--allow-small-n", help="Accept a --min-n below 5 (warns; "
                                                "recorded in every report).")] = False,
    min_share: Annotated[float, typer.Option("--min-share", help="Share of a scale's items needed for a score.")] = 2 / 3,
    jobs: Annotated[Optional[int], typer.Option("--jobs", min=1, help="Worker processes (default: usable cores).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the network pseudonyms and layout.")] = 2024,
):
    """Write every organisation's feedback report (PDF and accessible HTML) and an index page."""
    from acap.outputs import write_all
    from acap.report.batch import usable_cores
    from acap.report.run import feedback_run, report_files
    from acap.scoring import validate_responses

    t0 = time.perf_counter()
    b = _load_bank(bank)
    checked = validate_responses(responses, b)
    register = _read_organisations(organisations)
    invited_n, types = _read_invited(invited, checked.background["organisation"])
    if register is not None:
        present = set(checked.background["organisation"])
        if invited_n is None and "invited" in register.columns:
            invited_n = register["invited"].dropna().astype(int)
            invited_n = invited_n[invited_n.index.isin(present)]
        if types is None and "type" in register.columns:
            types = register["type"].dropna()
    with _small_n_warnings():
        current, before = feedback_run(responses, b, invited=invited_n, organisations=types, networks=networks,
                                       previous=previous, wave=wave, previous_wave=previous_wave, min_n=min_n,
                                       allow_small_n=allow_small_n, min_share=min_share, checked=checked, seed=seed)
    with typer.progressbar(length=len(current), label="Rendering reports") as bar:
        files = report_files(current, before, processes=jobs or usable_cores(), progress=lambda _: bar.update(1))
    written = write_all(out, files)
    shown = sum(fb.status == "shown" for fb in current.values())
    typer.echo(f"Wrote reports for {len(current)} organisations ({shown} with results, {len(current) - shown} "
               f"withheld) to {out / 'reports'}/ (open {out / 'reports' / 'index.html'}) in "
               f"{time.perf_counter() - t0:.1f} s; {len(written)} files.")


@app.command()
@_one_line_errors
def validate(
    data: Annotated[Path, typer.Argument(help="Table of answers: CSV, XLSX or SPSS .sav. acap responses, or any "
                                        "numeric items with --model.")],
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Folder for report.html, report.json and the CSV tables (default: a folder named after "
                      "the data file, beside it).")] = None,
    model: Annotated[Optional[Path], typer.Option(
        "--model", help="Measurement model file: YAML or JSON mapping each factor to its columns "
                        "(factor: \\[col1, col2, col3]), or lavaan syntax (factor =~ col1 + col2 + col3). "
                        "Default: the bank's scales.")] = None,
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1 for acap "
                                                 "responses).")] = None,
    points: Annotated[Optional[int], typer.Option("--points", min=2, help="Answers run 1..POINTS (default: "
                                                  "each item's range in the data).")] = None,
    range_: Annotated[Optional[str], typer.Option("--range", help="Response range LO,HI, e.g. 0,4 (instead of "
                                                  "--points).")] = None,
    reverse: Annotated[Optional[str], typer.Option("--reverse", help="Comma-separated items to reverse-key "
                                                   "(LO + HI - answer).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Column of groups to test invariance across "
                                                 "(default: role_group for acap responses, none otherwise).")] = None,
    organisation: Annotated[Optional[str], typer.Option(
        "--organisation", help="Column of organisations: adds the aggregation section (rwg(j), ICCs).")] = None,
    cfa_missing: Annotated[str, typer.Option(
        "--cfa-missing", help="Missing answers in the CFA: auto, listwise, fiml or two.stage (auto: listwise when "
                              "90% or more are complete, else two.stage).")] = "auto",
    n_factors: Annotated[Optional[int], typer.Option("--n-factors", min=1, help="Factors in the EFA (default: "
                                                     "parallel analysis).")] = None,
    n_iter: Annotated[int, typer.Option("--n-iter", min=1, help="Parallel-analysis iterations.")] = 50,
    ordinal: Annotated[bool, typer.Option("--ordinal", help="Fit the CFA to the items as ordered categories "
                                          "(WLSMV, as lavaan's ordered = TRUE).")] = False,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (parallel analysis, rotation starts, two-stage CFA).")] = 2024,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Minimum n of the organisation results this "
                                       "report may be released beside (below 5 needs --allow-small-n).")] = DEFAULT_MIN_N,
    allow_small_n: Annotated[bool, typer.Option("--allow-small-n", help="Accept a --min-n below 5.")] = False,
    all_respondents: Annotated[bool, typer.Option("--all-respondents", help="Every respondent, suppressed "
                                                  "organisations and groups included: for the researcher only, "
                                                  "never to be released with organisation results.")] = False,
):
    """Psychometric validation report (HTML + JSON) of acap's questionnaire or of any numeric items.

    acap responses: acap validate responses.csv. Your own items: acap validate bfi.csv --model model.yaml.

    By default it covers what organisation results scored with the same --min-n show, so it
    may be released beside them.
    """
    from acap.outputs import write_all
    from acap.report.batch import usable_cores
    from acap.report_html import validation_files
    from acap.validate import validation_report

    _freeze_loaded()

    t0 = time.perf_counter()
    out = out if out is not None else data.with_suffix("").with_name(data.stem + "-validation")
    kw = {}
    if group is not None:
        kw["group"] = group
    if organisation is not None:
        kw["organisation"] = organisation
    with _small_n_warnings():
        rep = validation_report(data, bank=bank, model=model, seed=seed, min_n=min_n, points=points, range=range_,
                                reverse=[r.strip() for r in reverse.split(",") if r.strip()] if reverse else (),
                                cfa_missing=cfa_missing, n_factors=n_factors, n_iter=n_iter, ordinal=ordinal,
                                allow_small_n=allow_small_n, respondents="all" if all_respondents else "shown",
                                processes=usable_cores(), **kw)
    files = write_all(out, validation_files(rep, prefix=""))
    m = rep.meta
    if m.get("release_warning"):
        typer.echo(m["release_warning"] + "\n")
    orgs = f" from {m['n_organisations']} organisations" if m.get("n_organisations") is not None else ""
    typer.echo(f"Validated {m['n_items']} items in {m['n_scales']} factors on {m['n_respondents']} respondents{orgs} "
               f"({'bank ' + m['bank'] + ' ' + m['bank_version'] if m['bank'] != 'custom' else 'own items'}, "
               f"data sha256 {m['data_sha256'][:12]}...).\n")
    _echo_validation(rep)
    typer.echo(f"\nWrote {len(files)} files to {out}/ (open {out / 'report.html'}) in {time.perf_counter() - t0:.1f} s.")


def _echo_validation(rep) -> None:
    """The verdict table and CFA fit of a validation report."""
    cols = ["n_items", "alpha", "omega_total", "min_item_rest", "icc2", "invariance", "verdict", "organisation_level"]
    if rep.aggregation.status == "not requested":
        cols = [c for c in cols if c not in ("icc2", "organisation_level")]
    if rep.invariance.status == "not requested":
        cols.remove("invariance")
    v = rep.verdicts[cols]
    typer.echo(_fmt(v.rename(columns={"n_items": "items", "omega_total": "omega", "min_item_rest": "min_r_drop",
                                      "organisation_level": "org_level"})))
    cf = rep.cfa.values
    if "cfi" in cf:
        typer.echo(f"\nCFA ({cf['missing']}): CFI {cf['cfi']:.3f}, TLI {cf['tli']:.3f}, RMSEA {cf['rmsea']:.3f}, "
                   f"SRMR {cf['srmr']:.3f} -> {cf['verdict']}")
    skipped = [name for name, s in rep.sections().items() if s.status not in ("ok", "not requested")]
    if skipped:
        typer.echo("Sections not fully computed (see the report): " + ", ".join(skipped))


@app.command()
@_one_line_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo results.")] = Path("acap-demo"),
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 2024,
    organisations: Annotated[int, typer.Option(min=2, max=2000, help="Number of simulated organisations.")] = 12,
):
    """Simulate organisations and run everything acap does on them; write the results to a folder."""
    from acap.demo import run_demo

    t0 = time.perf_counter()
    res = run_demo(out, seed=seed, n_organisations=organisations)
    sim = res.simulation
    typer.echo(f"acap demo: {len(sim.responses)} simulated respondents in {len(sim.organisations)} organisations "
               f"(seed {seed}).\n")
    typer.echo("Organisations: potential and realised ACAP (1-7), their ratio, and the knowledge source\n"
               "gathered most beyond its use (suppressed below n = 5):")
    typer.echo(_fmt(res.headline.drop(columns=["largest_gap_label", "reason", "invited", "response_rate"])))
    icc = next(iter(res.extras["feedback"].values())).icc
    scales = list(res.scored.scores.scales.columns)
    typer.echo("\nBetween-organisation reliability of the scales (ICC(1), ICC(2); shown organisations):")
    typer.echo(_fmt(icc.loc[scales, ["icc1", "icc2"]]))
    if "validation" in res.extras:
        typer.echo("\nValidation of the scales (full report: validation/report.html):")
        _echo_validation(res.extras["validation"])
    if "network" in res.extras:
        links = res.extras["network"]["links"]
        cols = ["n_nodes", "density", "board_density", "reciprocity", "betweenness_centralization", "response_rate"]
        typer.echo("\nAdvice networks (simulated): density, board density, reciprocity, centralization, response:")
        org_network = res.extras["network"]["org_network"]  # organisations below the minimum n left out
        typer.echo(_fmt(org_network[[c for c in cols if c in org_network.columns]]))
        ind = links.individual.reset_index()
        top = ind[ind["scale"].isin(["potential", "realised"])].set_index(["scale", "measure"])
        typer.echo("\nACAP and network position (within-organisation permutation p-values):")
        typer.echo(_fmt(top[["n", "pearson_r", "slope", "p_slope"]], digits=3))
    if "feedback" in res.extras:
        typer.echo(f"\nFeedback reports (PDF and web page) for {len(res.extras['feedback'])} organisations: "
                   f"{res.out_dir / 'reports' / 'index.html'}")
    typer.echo(f"\nWrote {len(res.files)} results to {res.out_dir}/ in {time.perf_counter() - t0:.1f} s.")


def _app_script() -> Path:
    """The Streamlit entry script (app/main.py beside the acap package in a source checkout)."""
    script = Path(__file__).resolve().parent.parent / "app" / "main.py"
    if not script.exists():
        raise AcapInputError("the app (app/main.py) is not beside this acap installation; run acap serve from a "
                             "source checkout (pip install -e .)")
    return script


@app.command()
@_one_line_errors
def serve(
    data: Annotated[Path, typer.Option("--data", help="Folder for the embedded SQLite database "
                                       "(ignored when ACAP_DATABASE_URL is set).")] = Path("acap-data"),
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8501,
    address: Annotated[str, typer.Option("--address", help="Address to listen on.")] = "localhost",
    seed_demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Seed an empty database with the demo's "
                                            "organisations and answers.")] = True,
):
    """Start the online questionnaire and results app (Streamlit) on a database."""
    from acap import online
    from acap.store import open_store

    url = os.environ.get("ACAP_DATABASE_URL") or None
    if url is None:
        data.mkdir(parents=True, exist_ok=True)
    store = open_store(url=url, data_dir=None if url else data)
    base = os.environ.get("ACAP_BASE_URL") or f"http://{address}:{port}"
    where = "PostgreSQL (ACAP_DATABASE_URL)" if url and url.startswith("postgres") else (url or f"{data}/acap.sqlite")
    typer.echo(f"acap serve: database {where}")
    if store.organisations().empty and seed_demo:
        t0 = time.perf_counter()
        seeded = online.seed_demo(store, base, admin_password=os.environ.get("ACAP_ADMIN_PASSWORD"))
        typer.echo(f"Seeded the demo ({seeded.n_organisations} organisations, {seeded.n_submitted} submitted "
                   f"answers) in {time.perf_counter() - t0:.1f} s.")
        typer.echo(f"Admin login: user {seeded.admin_user!r}, password {seeded.admin_password!r} "
                   "(shown once: keep it)")
        typer.echo(f"A respondent link: {seeded.respondent_link}")
    else:
        typer.echo("The database already holds data: sign in with the admin account made at its first start.")
    t0 = time.perf_counter()
    online.warm_up()
    typer.echo(f"Analyses ready ({time.perf_counter() - t0:.1f} s). Open {base}/ (Ctrl+C stops the server).")
    env = {"ACAP_BASE_URL": base}
    if url is None:
        env["ACAP_DATA_DIR"] = str(data.resolve())
    os.environ.update(env)
    import runpy

    # The app runs in this process, so the analysis code warmed above stays loaded.
    flags = {"server.port": port, "server.address": address, "server.headless": "true",
             "server.maxUploadSize": online.UPLOAD_LIMIT_MB, "server.fileWatcherType": "none",
             "browser.gatherUsageStats": "false", "global.developmentMode": "false",
             "client.toolbarMode": "viewer"}
    runpy.run_path(str(_app_script().parent / "serve.py"))["run"](flags)


def main():  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
