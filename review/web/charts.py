"""Geometry of the dashboard's inline-SVG bar charts (the template draws them; no JS)."""
from __future__ import annotations

WIDTH = 360       # px of the longest bar
ROW = 26          # px per bar


def bars(items: list[tuple[str, float | None, str]], maximum: float | None = None) -> dict:
    """[(label, value, shown text)] → {"rows": [{label, text, y, width}], "height"}.

    Bars are scaled to ``maximum`` (default: the largest value); a missing value draws no bar.
    """
    values = [v for _, v, _ in items if v is not None]
    top = maximum if maximum is not None else max(values, default=0)
    rows = []
    for i, (label, value, text) in enumerate(items):
        width = 0 if not value or not top else max(1, round(WIDTH * min(value, top) / top))
        rows.append({"label": label, "text": text, "y": i * ROW, "width": width})
    return {"rows": rows, "height": max(len(rows), 1) * ROW, "width": WIDTH}
