"""Feedback reports an organisation acts on: one PDF and one accessible HTML page per organisation.

Two layers: :func:`feedback` builds a neutral :class:`~acap.report.model.Report` from an
organisation's ``OrganisationFeedback`` (and the previous wave's, when there is one), and the
renderers :func:`render_pdf` and :func:`render_html` only lay it out. :func:`report_files`
renders many organisations in parallel for ``acap report``, ``acap demo`` and the app.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"feedback": "build", "render_pdf": "pdf", "render_html": "html", "network_svg": "html", "Report": "model",
            "report_files": "batch", "render_one": "batch", "index_html": "batch", "feedback_run": "run"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
