"""The preference chart (like Imagen's Fig. 3) as inline SVG: per question, one stacked bar per category (prefer A |
indifferent | prefer B) with 95% CI whiskers on A's share (from the left) and B's share (from the right)."""

from __future__ import annotations

from html import escape

from openimagen.rate.store import QUESTIONS

TITLES = {"quality": "Which set is of higher quality?", "alignment": "Which set better represents the caption?"}
COLORS = {"A": "#3b6fb6", "indifferent": "#c8c8c8", "B": "#e08a2c"}
LABEL, BAR, ROW = 150, 420, 30


def preference_svg(rows: list[dict]) -> str:
    panels, height = [], 0
    for question in QUESTIONS:
        mine = [r for r in rows if r["question"] == question]
        if not mine:
            continue
        panels.append(f'<text x="0" y="{height + 16}" font-weight="bold">{escape(TITLES[question])}</text>')
        height += 26
        for row in mine:
            panels.append(_bar(row, height))
            height += ROW
        height += 12
    legend = "".join(f'<rect x="{LABEL + 130 * i}" y="{height}" width="12" height="12" fill="{COLORS[a]}"/>'
                     f'<text x="{LABEL + 130 * i + 16}" y="{height + 11}">{name}</text>'
                     for i, (a, name) in enumerate((("A", "prefer A"), ("indifferent", "indifferent"),
                                                    ("B", "prefer B"))))
    width = LABEL + BAR + 60
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}" '
            f'font-family="sans-serif" font-size="12" role="img" aria-label="preference chart">'
            + "".join(panels) + legend + "</svg>")


def _bar(row: dict, y: int) -> str:
    parts = [f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(row["category"])} '
             f'({row["votes"]})</text>']
    x = LABEL
    for answer in ("A", "indifferent", "B"):
        width = BAR * row[f"{answer}_rate"]
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="22" fill="{COLORS[answer]}"/>')
        if answer != "indifferent" and width > 34:
            parts.append(f'<text x="{x + width / 2:.1f}" y="{y + 11}" text-anchor="middle" fill="white">'
                         f'{100 * row[f"{answer}_rate"]:.0f}%</text>')
        x += width
    for answer, low, high in (("A", row["A_low"], row["A_high"]), ("B", 1 - row["B_high"], 1 - row["B_low"])):
        x1, x2 = LABEL + BAR * low, LABEL + BAR * high
        level = y + (15 if answer == "A" else 19)          # below the labels; A's whisker above B's
        ticks = f"M{x1:.1f} {level - 2}V{level + 2}M{x2:.1f} {level - 2}V{level + 2}"
        parts.append(f'<path d="M{x1:.1f} {level}H{x2:.1f}{ticks}" '
                     f'stroke="black" stroke-width="1.2" class="ci-{answer}"/>')
    return "".join(parts)
