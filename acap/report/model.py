"""The neutral structure of a feedback report: what to say, not how it looks.

:func:`acap.report.feedback` fills it from an ``OrganisationFeedback``; the renderers
(:mod:`acap.report.pdf`, :mod:`acap.report.html`) only lay it out. Every number is already
formatted as text here, so the PDF and the HTML page show exactly the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Bullets", "Chart", "Heading", "Paragraph", "Report", "Section", "Table"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph. ``kind`` is "body", "lead" (larger), "note" (smaller) or "callout" (boxed)."""

    text: str
    kind: str = "body"


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of formatted cells.

    Attributes
    ----------
    caption : str
    columns : tuple of str
        Column headers; the first column holds the row headers.
    rows : tuple of tuple of str
    emphasis : tuple of bool
        Rows to highlight (e.g. the largest gaps); empty for none.
    numeric : tuple of bool
        Columns aligned right.
    widths : tuple of float, optional
        Relative column widths.
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    emphasis: tuple[bool, ...] = ()
    numeric: tuple[bool, ...] = ()
    widths: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Chart:
    """Data for one figure, with its text alternative and legend in plain words.

    ``kind`` is one of "intervals" (points with intervals against peer bands), "pairs"
    (gathered against used), "stacked" (answer distributions), "sociogram" and "bars".
    ``data`` holds what that kind draws (see :mod:`acap.report.build`).
    """

    kind: str
    title: str
    alt: str
    data: dict
    legend: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Section:
    """A numbered section: title and blocks; ``new_page`` starts it on a new PDF page."""

    id: str
    title: str
    blocks: tuple
    new_page: bool = True


@dataclass(frozen=True)
class Report:
    """One organisation's feedback report.

    Attributes
    ----------
    title, subtitle, author, language : str
    organisation : str
    status : str
        "shown" or "suppressed".
    cover : tuple of (label, value)
        Facts printed on the cover.
    sections : tuple of Section
    footer : str
    """

    title: str
    subtitle: str
    author: str
    language: str
    organisation: str
    status: str
    cover: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    footer: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)
