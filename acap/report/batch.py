"""Every organisation's report, PDF and HTML, rendered in parallel, with an index page.

:func:`report_files` returns writers for :func:`acap.outputs.write_all` (so a folder gets all
of a run's reports or none); the rendering itself runs in worker processes, one per usable
core, each limited to one BLAS/OpenMP thread (reports do no linear algebra, and several
processes each starting a thread per core would only fight for the cores).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from html import escape

from acap.outputs import slug

__all__ = ["index_html", "render_one", "report_files", "usable_cores"]


def usable_cores() -> int:
    """Cores this process may use (affinity mask, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _one_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # pragma: no cover - threadpoolctl is a dependency; never fail a render over it
        pass


def render_one(current, previous=None) -> tuple[str, bytes, str]:
    """Build and render one organisation's report.

    Parameters
    ----------
    current : OrganisationFeedback
    previous : OrganisationFeedback, optional

    Returns
    -------
    (organisation, pdf bytes, html text)
    """
    from acap.report.build import feedback
    from acap.report.html import render_html
    from acap.report.pdf import render_pdf

    rep = feedback(current, previous)
    return current.organisation, render_pdf(rep), render_html(rep)


def _render_pair(args):
    return render_one(*args)


def index_html(entries: list[dict], title: str = "Absorptive capacity feedback reports") -> str:
    """An accessible index page listing every organisation's reports.

    ``entries``: dicts with organisation, org_type, status, reason, pdf and html (relative paths).
    """
    rows = []
    for e in entries:
        if e["status"] == "shown":
            files = (f'<a href="{escape(e["pdf"])}">PDF<span class="sr"> report for {escape(e["organisation"])}'
                     f'</span></a> · <a href="{escape(e["html"])}">web page<span class="sr"> for '
                     f'{escape(e["organisation"])}</span></a>')
            state = "results shown"
        else:
            files = (f'<a href="{escape(e["pdf"])}">PDF<span class="sr"> notice for {escape(e["organisation"])}'
                     f'</span></a> · <a href="{escape(e["html"])}">web page<span class="sr"> notice for '
                     f'{escape(e["organisation"])}</span></a>')
            state = f"results withheld: {e['reason'] or 'too few respondents'}"
        rows.append(f'<tr><th scope="row">{escape(e["organisation"])}</th><td>{escape(e["org_type"] or "")}</td>'
                    f"<td>{escape(state)}</td><td>{files}</td></tr>")
    return (f'<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><style>'
            "body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#1b1b1b;margin:0}"
            "main{max-width:60rem;margin:0 auto;padding:1rem 1.5rem}h1{color:#1d4f91}"
            "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #b8b8b8;padding:.35rem;"
            "text-align:left}thead th{background:#1d4f91;color:#fff}a{color:#1d4f91}"
            ".sr{position:absolute;left:-9999px}</style></head><body><main>"
            f"<h1>{escape(title)}</h1><p>One report per organisation, as a PDF and as an accessible web page with "
            "the same content. Organisations with too few respondents get a short notice instead of results.</p>"
            '<table><caption>Reports by organisation</caption><thead><tr><th scope="col">Organisation</th>'
            '<th scope="col">Type</th><th scope="col">Status</th><th scope="col">Files</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></main></body></html>\n")


def report_files(feedback: Mapping[str, object], previous: Mapping[str, object] | None = None, *,
                 folder: str = "reports", processes: int | None = None,
                 progress: Callable[[str], None] | None = None) -> dict[str, Callable]:
    """Render every organisation's report and return the files to write.

    Parameters
    ----------
    feedback : mapping organisation -> OrganisationFeedback
        :func:`acap.publish.publish_all` output.
    previous : mapping organisation -> OrganisationFeedback, optional
        The previous wave's feedback; organisations found in it get the change section.
    folder : str, default "reports"
        Folder (inside the output folder) for the reports and ``index.html``.
    processes : int, optional
        Worker processes; default one per usable core (1 renders in this process).
    progress : callable, optional
        Called with each organisation's name as its report is done (the CLI's progress bar).

    Returns
    -------
    dict
        Relative path -> writer, for :func:`acap.outputs.write_all`: ``<folder>/<slug>.pdf``,
        ``<folder>/<slug>.html`` for every organisation and ``<folder>/index.html``.
    """
    previous = previous or {}
    orgs = list(feedback)
    jobs = [(feedback[o], previous.get(o)) for o in orgs]
    procs = min(processes or usable_cores(), max(1, len(jobs)))
    done: dict[str, tuple[bytes, str]] = {}
    if procs <= 1:
        for job in jobs:
            org, pdf, page = render_one(*job)
            done[org] = (pdf, page)
            if progress:
                progress(org)
    else:
        with ProcessPoolExecutor(procs, initializer=_one_thread) as pool:
            for org, pdf, page in pool.map(_render_pair, jobs, chunksize=max(1, len(jobs) // (procs * 8))):
                done[org] = (pdf, page)
                if progress:
                    progress(org)
    files: dict[str, Callable] = {}
    taken: set[str] = set()
    entries = []
    for org in orgs:
        name = slug(org, taken)
        pdf, page = done[org]
        files[f"{folder}/{name}.pdf"] = (lambda b: lambda path: path.write_bytes(b))(pdf)
        files[f"{folder}/{name}.html"] = (lambda t: lambda path: path.write_text(t, encoding="utf-8"))(page)
        fb = feedback[org]
        entries.append(dict(organisation=org, org_type=fb.org_type, status=fb.status, reason=fb.reason,
                            pdf=f"{name}.pdf", html=f"{name}.html"))
    files[f"{folder}/index.html"] = (lambda t: lambda path: path.write_text(t, encoding="utf-8"))(index_html(entries))
    return files
