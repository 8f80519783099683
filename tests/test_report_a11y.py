"""Static accessibility basics of the HTML validation report (acap.report_html), without a browser.

The full check runs axe-core in headless chromium (tools/a11y, needs node); this test keeps the
structural rules in the ordinary suite: a page language and title, one h1 and no skipped heading
levels, no empty headings, one main landmark, alt text on every figure, caption and scoped header
cells on every table, named links whose in-page targets exist, verdict badges whose white text
has at least 4.5:1 contrast, and loading labels in the heatmap readable on their cell colour.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from matplotlib.colors import to_rgb

from acap.report_html import figure_loadings, render_html

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Node:
    def __init__(self, tag: str, attrs: dict, parent):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], []

    def iter(self, tag: str | None = None):
        for c in self.children:
            if tag is None or c.tag == tag:
                yield c
            yield from c.iter(tag)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)


class _Tree(HTMLParser):
    """A minimal DOM: enough to ask structural questions of well-formed report HTML."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in _VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(_Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"stray </{tag}>"
        self.cur = node.parent

    def handle_data(self, data):
        self.cur.text.append(data)


def _contrast(a, b) -> float:
    def lum(rgb):
        c = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb[:3]]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _hex(h: str):
    h = h.lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


@pytest.fixture(scope="module")
def report(validation_demo_report):
    return validation_demo_report


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


@pytest.fixture(scope="module")
def tree(page):
    return _Tree(page).root


def test_language_title_and_main(tree):
    html = list(tree.iter("html"))
    assert len(html) == 1 and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", html[0].attrs.get("lang", ""))
    titles = list(tree.iter("title"))
    assert len(titles) == 1 and titles[0].all_text().strip()
    assert len(list(tree.iter("main"))) == 1


def test_headings_one_h1_none_empty_no_skipped_level(tree):
    heads = [n for n in tree.iter() if re.fullmatch(r"h[1-6]", n.tag)]
    assert [h.tag for h in heads].count("h1") == 1 and heads[0].tag == "h1"
    for h in heads:
        assert h.all_text().strip(), f"empty <{h.tag}>"
    levels = [int(h.tag[1]) for h in heads]
    for prev, nxt in zip(levels, levels[1:]):
        assert nxt <= prev + 1, f"heading level jumps from h{prev} to h{nxt}"


def test_every_figure_image_has_alt_text(tree):
    imgs = list(tree.iter("img"))
    assert len(imgs) >= 3  # item distributions, scree, loadings
    for img in imgs:
        name = img.attrs.get("alt", "").strip() or img.attrs.get("aria-label", "").strip()
        assert len(name) > 20, f"figure without a useful text alternative: {img.attrs.get('alt')!r}"
    for svg in tree.iter("svg"):  # inline SVG, should a future figure be embedded that way
        assert svg.attrs.get("aria-label", "").strip() or svg.attrs.get("aria-labelledby") or \
            any(t.all_text().strip() for t in svg.iter("title")), "inline svg without a name"
    for fig in tree.iter("figure"):
        assert any(c.all_text().strip() for c in fig.iter("figcaption"))


def test_every_table_has_caption_and_scoped_headers(tree):
    tables = list(tree.iter("table"))
    assert len(tables) >= 15
    for t in tables:
        caps = list(t.iter("caption"))
        assert len(caps) == 1 and caps[0].all_text().strip(), "table without a caption"
        cap = caps[0].all_text().strip()
        ths = list(t.iter("th"))
        assert ths, f"{cap}: no header cells"
        for th in ths:
            assert th.attrs.get("scope") in ("col", "row", "colgroup", "rowgroup"), f"{cap}: <th> without scope"
        head = [th for tr in t.iter("thead") for th in tr.iter("th")]
        assert head and all(th.attrs["scope"] == "col" for th in head), f"{cap}: column headers"
        for th in head:
            assert th.all_text().strip(), f"{cap}: empty column header"
        for tr in (r for b in t.iter("tbody") for r in b.iter("tr")):
            cells = [c for c in tr.children if c.tag in ("th", "td")]
            assert cells and cells[0].tag == "th" and cells[0].attrs["scope"] == "row", f"{cap}: row without a header"


def test_scrolling_table_regions_are_named_and_focusable(tree):
    for div in tree.iter("div"):
        if div.attrs.get("role") == "region":
            assert div.attrs.get("aria-label", "").strip() and div.attrs.get("tabindex") == "0"


def test_ids_unique_links_named_and_targets_exist(tree):
    ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate id"
    for a in tree.iter("a"):
        assert a.all_text().strip() or a.attrs.get("aria-label", "").strip(), "link without a name"
        href = a.attrs.get("href", "")
        if href.startswith("#"):
            assert href[1:] in ids, f"link to missing #{href[1:]}"
    for n in tree.iter():
        if "aria-labelledby" in n.attrs:
            assert all(i in ids for i in n.attrs["aria-labelledby"].split())


def test_badge_text_contrast(page):
    colours = set(re.findall(r'class="badge" style="background:(#[0-9a-fA-F]{6})"', page))
    assert len(colours) >= 3  # the demo shows good / acceptable / questionable-type verdicts
    assert re.search(r"\.badge \{[^}]*color: #ffffff", page)
    for c in colours:
        assert _contrast(_hex(c), (1, 1, 1)) >= 4.5, f"badge {c}: white text below 4.5:1"


def test_heatmap_loading_labels_contrast_with_their_cell(report):
    fig = figure_loadings(report)
    ax = fig.axes[0]
    im = ax.images[0]
    values = im.get_array()
    labels = [t for t in ax.texts if re.fullmatch(r"-?\.\d\d|-?1\.00", t.get_text())]
    assert labels, "no loading printed in the heatmap"
    for t in labels:
        x, y = t.get_position()
        cell = im.cmap(im.norm(values[int(round(y)), int(round(x))]))
        ratio = _contrast(to_rgb(t.get_color()), cell)
        assert ratio >= 4.5, f"loading {t.get_text()} at ({x}, {y}): contrast {ratio:.2f}"
