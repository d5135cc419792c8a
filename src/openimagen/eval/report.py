"""The benchmark's pictures and its self-contained HTML report (the grid is embedded, no other files needed)."""

from __future__ import annotations

import base64
import html
import io
from typing import Any, Sequence

from PIL import Image


def grid_image(images: Sequence[Image.Image], columns: int, max_rows: int | None = None, pad: int = 2,
               background: tuple[int, int, int] = (190, 190, 190)) -> Image.Image:
    """Images in rows of `columns` (one row per prompt), grey lines between them (white scenes stay apart)."""
    rows = -(-len(images) // columns)
    if max_rows is not None:
        rows = min(rows, max_rows)
    width, height = images[0].size
    grid = Image.new("RGB", (columns * (width + pad) + pad, rows * (height + pad) + pad), background)
    for index, image in enumerate(images[:rows * columns]):
        row, column = divmod(index, columns)
        grid.paste(image.convert("RGB"), (pad + column * (width + pad), pad + row * (height + pad)))
    return grid



def _percent(rate: dict[str, Any]) -> str:
    return f"{100 * rate['accuracy']:.1f}% ({rate['passed']}/{rate['total']})"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(metrics: dict[str, Any], per_prompt: Sequence[dict[str, Any]], grid: Image.Image) -> str:
    """One HTML page: summary, per-category and per-requirement tables, FD_shapes, the grid, every prompt."""
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG")
    picture = base64.b64encode(buffer.getvalue()).decode("ascii")
    summary = [["alignment (all checks pass)", f"{100 * metrics['alignment']:.1f}% "
                f"({metrics['passed']}/{metrics['images']} images, {metrics['prompts']} prompts)"]]
    if "fd_shapes" in metrics:
        fd = metrics["fd_shapes"]
        summary.append(["FD_shapes (real-vs-real floor)", f"{fd['fd']:.3f} ({fd['floor']:.3f}), {fd['num_images']} "
                        f"images at {fd['size']} px"])
    summary += [[key, value] for key, value in metrics.get("settings", {}).items()]
    categories = [[name, _percent(rate)] for name, rate in metrics["categories"].items()]
    requirements = [[name, _percent(rate)] for name, rate in metrics["requirements"].items()]
    prompts = [[row["index"], row["category"], row["prompt"], f"{row['passed']}/{row['images']}",
                "; ".join(sorted({name for failed in row["failures"] for name in failed}))] for row in per_prompt]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}img{image-rendering:pixelated}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>openimagen bench</title><style>{style}</style>"
            f"</head><body><h1>openimagen bench</h1>{_table(['metric', 'value'], summary)}"
            f"<h2>Per category</h2>{_table(['category', 'alignment'], categories)}"
            f"<h2>Per requirement</h2>{_table(['requirement', 'pass rate'], requirements)}"
            "<h2>Samples</h2><p>One row per prompt, in the order of the prompts table (the first rows only).</p>"
            f"<img src='data:image/png;base64,{picture}' width='{2 * grid.width}'>"
            f"<h2>Prompts</h2>{_table(['#', 'category', 'prompt', 'passed', 'failed checks'], prompts)}"
            "</body></html>\n")
