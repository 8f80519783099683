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

    Every organisation named must be in the responses, and every count a whole number no
    smaller than 1; the message names the file and row.
    """
    if path is None:
        return None
    from acap.readers import clean_text, read_table

    t = read_table(path)
    missing = {"organisation", "invited"} - set(t.data.columns)
    if missing:
        raise AcapInputError(f"needs columns organisation and invited (missing: {', '.join(sorted(missing))})",
                             where=str(path))
    org = clean_text(t.data["organisation"])
    invited = pd.to_numeric(clean_text(t.data["invited"]), errors="coerce")
    known = set(organisations)
    for pos in range(len(t.data)):
        where = f"{t.row_label(pos)}"
        if org.iloc[pos] is None:
            raise AcapInputError(f"{where}, column organisation: organisation is missing", where=str(path))
        v = invited.iloc[pos]
        if not (pd.notna(v) and v >= 1 and float(v).is_integer()):
            raise AcapInputError(f"{where}, column invited: {t.data['invited'].iloc[pos]!r} is not a whole "
                                 "number of at least 1", where=str(path))
        if org.iloc[pos] not in known:
            raise AcapInputError(f"{where}, column organisation: {org.iloc[pos]!r} has no responses", where=str(path))
    if org.duplicated().any():
        pos = int(org.duplicated().to_numpy().nonzero()[0][0])
        raise AcapInputError(f"{t.row_label(pos)}, column organisation: {org.iloc[pos]!r} is listed twice",
                             where=str(path))
    return pd.Series(invited.astype(int).to_numpy(), index=org.to_numpy())


@app.command()
@_one_line_errors
def score(
    responses: Annotated[Path, typer.Argument(help="Responses table: CSV, XLSX or SPSS .sav.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the results.")],
    bank: Annotated[Optional[Path], typer.Option("--bank", help="Item bank YAML (default: acap v1).")] = None,
    invited: Annotated[Optional[Path], typer.Option("--invited", help="CSV of organisation,invited for finite-population CIs.")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Suppress organisations and role groups below this n.")] = 5,
    min_share: Annotated[float, typer.Option("--min-share", help="Share of a scale's items needed for a score.")] = 2 / 3,
    respondents: Annotated[bool, typer.Option("--respondents", help="Also write respondent-level scores "
                                              "(scores/respondents.csv); they are not suppressed.")] = False,
):
    """Score a responses table and aggregate it to organisations."""
    from acap.demo import scoring_files
    from acap.outputs import write_all
    from acap.pipeline import headline, score_and_aggregate

    from acap.scoring import validate_responses

    b = _load_bank(bank)
    checked = validate_responses(responses, b)
    scored = score_and_aggregate(checked, b, invited=_read_invited(invited, checked.background["organisation"]),
                                 min_n=min_n, min_share=min_share)
    files = write_all(out, scoring_files(scored, respondents=respondents))
    n = len(scored.scores.background)
    typer.echo(f"Scored {n} respondents from {scored.scores.background['organisation'].nunique()} organisations "
               f"(bank {b.bank} {b.version}).")
    typer.echo(_fmt(headline(scored)))
    typer.echo(f"\nWrote {len(files)} files to {out}/")


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
    min_n: Annotated[int, typer.Option("--min-n", min=1, help="Leave organisations below this n out of "
                                       "per-organisation tables.")] = 5,
):
    """Psychometric validation report (HTML + JSON) of acap's questionnaire or of any numeric items.

    acap responses: acap validate responses.csv. Your own items: acap validate bfi.csv --model model.yaml.
    """
    from acap.outputs import write_all
    from acap.report_html import validation_files
    from acap.validate import validation_report

    t0 = time.perf_counter()
    out = out if out is not None else data.with_suffix("").with_name(data.stem + "-validation")
    kw = {}
    if group is not None:
        kw["group"] = group
    if organisation is not None:
        kw["organisation"] = organisation
    rep = validation_report(data, bank=bank, model=model, seed=seed, min_n=min_n, points=points, range=range_,
                            reverse=[r.strip() for r in reverse.split(",") if r.strip()] if reverse else (),
                            cfa_missing=cfa_missing, n_factors=n_factors, n_iter=n_iter, ordinal=ordinal, **kw)
    files = write_all(out, validation_files(rep, prefix=""))
    m = rep.meta
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
