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

import pandas as pd
import typer

from acap.errors import AcapInputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="acap: absorptive-capacity instrument for health-care commissioning organisations.")

EXIT_BAD_INPUT = 2


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


def _read_invited(path: Optional[Path], organisations) -> Optional[pd.Series]:
    """Organisation -> invited count from a CSV/XLSX with columns organisation, invited.

    Every organisation named must be in the responses (spellings differing only by case,
    spaces or punctuation are the same organisation), and every count a whole number no
    smaller than 1; the message names the file and row.
    """
    if path is None:
        return None
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
    return pd.Series(invited.astype(int).to_numpy(), index=names)


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
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Suppress organisations and role groups below this n.")] = 5,
    min_share: Annotated[float, typer.Option("--min-share", help="Share of a scale's items needed for a score.")] = 2 / 3,
    respondents: Annotated[bool, typer.Option("--respondents", help="Also write respondent-level scores "
                                              "(scores/respondents.csv); they are not suppressed.")] = False,
):
    """Score a responses table and aggregate it to organisations."""
    from acap.outputs import MANIFEST, PROBLEMS, STALE, json_writer, remove_writer, run_manifest, write_all
    from acap.pipeline import headline, score_and_aggregate
    from acap.scoring import validate_responses

    t0 = time.perf_counter()
    try:
        b = _load_bank(bank)
        orgs = _read_organisations(organisations)
        checked = validate_responses(responses, b, sheet=sheet, mapping=mapping, organisations=orgs)
        inv = (orgs["invited"].dropna().astype(int) if orgs is not None and invited is None
               else _read_invited(invited, checked.background["organisation"]))
    except AcapInputError as exc:
        _refused(exc, out)
    scored = score_and_aggregate(checked, b, invited=inv, min_n=min_n, min_share=min_share)
    from acap.demo import scoring_files

    files = scoring_files(scored, respondents=respondents)
    options = {"bank": str(bank) if bank else None, "invited": str(invited) if invited else None,
               "organisations": str(organisations) if organisations else None, "sheet": sheet,
               "map": str(mapping) if mapping else None, "min_n": min_n, "min_share": min_share,
               "respondents": respondents}
    files[MANIFEST] = json_writer(run_manifest(bank=b, source=responses, options=options, warnings=checked.warnings,
                                               notes=checked.notes, sheet=sheet,
                                               files=[k for k, w in files.items() if not getattr(w, 'removes', False)]))
    files[STALE] = files[PROBLEMS] = remove_writer()  # a run that succeeds clears an earlier refusal's marks
    written = write_all(out, files)
    _echo_score_summary(scored, headline(scored), b, checked, out, written, time.perf_counter() - t0)


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
def validate(
    data: Annotated[Path, typer.Argument(help="Responses table: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, report.json and the CSV tables.")],
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    model: Annotated[Optional[Path], typer.Option(
        "--model", help="Measurement model, YAML or JSON {factor: [item IDs]} (default: the bank's scales).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (parallel analysis, rotation starts, two-stage CFA).")] = 2024,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Leave organisations below this n out of "
                                       "per-organisation tables.")] = 5,
):
    """Psychometric validation report of the questionnaire on a responses table (HTML + JSON)."""
    from acap.outputs import write_all
    from acap.report_html import validation_files
    from acap.validate import validation_report

    t0 = time.perf_counter()
    rep = validation_report(data, bank=bank, model=model, seed=seed, min_n=min_n)
    files = write_all(out, validation_files(rep, prefix=""))
    m = rep.meta
    typer.echo(f"Validated {m['n_items']} items in {m['n_scales']} scales on {m['n_respondents']} respondents "
               f"from {m['n_organisations']} organisations (bank {m['bank']} {m['bank_version']}, "
               f"data sha256 {m['data_sha256'][:12]}...).\n")
    _echo_validation(rep)
    typer.echo(f"\nWrote {len(files)} files to {out}/ (open {out / 'report.html'}) in {time.perf_counter() - t0:.1f} s.")


def _echo_validation(rep) -> None:
    """The verdict table and CFA fit of a validation report."""
    v = rep.verdicts[["n_items", "alpha", "omega_total", "min_item_rest", "icc2", "invariance", "verdict",
                      "organisation_level"]]
    typer.echo(_fmt(v.rename(columns={"n_items": "items", "omega_total": "omega", "min_item_rest": "min_r_drop",
                                      "organisation_level": "org_level"})))
    cf = rep.cfa.values
    if "cfi" in cf:
        typer.echo(f"\nCFA ({cf['missing']}): CFI {cf['cfi']:.3f}, TLI {cf['tli']:.3f}, RMSEA {cf['rmsea']:.3f}, "
                   f"SRMR {cf['srmr']:.3f} -> {cf['verdict']}")
    skipped = [name for name, s in rep.sections().items() if s.status != "ok"]
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
    typer.echo(_fmt(res.headline))
    rel = res.scored.organisations.public_reliability()
    scales = list(res.scored.scores.scales.columns)
    typer.echo("\nBetween-organisation reliability of the scales (ICC(1), ICC(2)):")
    typer.echo(_fmt(rel.loc[scales, ["icc1", "icc2"]]))
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
    typer.echo(f"\nWrote {len(res.files)} results to {res.out_dir}/ in {time.perf_counter() - t0:.1f} s.")


def main():  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
