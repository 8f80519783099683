"""Colours and type shared by the PDF and HTML renderers (one palette, one place).

Every colour that carries text has at least 4.5:1 contrast with white or with the text drawn
on it; the answer scale is a diverging red-grey-blue that stays distinct in grey scale and for
red-green colour blindness, and don't-know is a separate neutral.
"""

from __future__ import annotations

#: Named colours used by charts and tables (hex).
COLOURS = {
    "ink": "#1b1b1b", "muted": "#4a4a4a", "rule": "#b8b8b8", "faint": "#eeeeee",
    "accent": "#1d4f91", "accent_light": "#c9d9ef", "band": "#d9d9d9", "median": "#4a4a4a",
    "point": "#1d4f91", "flag": "#9b2915", "gathered": "#8fb3de", "used": "#1d4f91",
    "highlight": "#fbe9d9", "board": "#1d4f91", "staff": "#ffffff", "broker": "#b4520f",
    "edge": "#9a9a9a", "potential": "#6e97c9", "realised": "#1d4f91", "bar": "#1d4f91",
}

#: Seven answer points, strongly disagree (1) to strongly agree (7); don't know apart.
ANSWER_COLOURS = ("#a3311f", "#d06a4e", "#eeb49d", "#d4d4d4", "#a7c5e0", "#4f88bd", "#1d4f91")
DONT_KNOW_COLOUR = "#8a8a8a"

#: Answer points drawn with white text on them (the dark ones).
DARK_ANSWERS = (0, 1, 5, 6)
