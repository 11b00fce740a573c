"""A small server-rendered bar chart of sent / failed / recovered per channel over time.

The geometry is computed here so the template only draws rectangles; no JavaScript, no library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT, PADDING = 640, 160, 24
SERIES = (("sent", "#2f855a"), ("failed", "#c53030"), ("recovered", "#2b6cb0"))


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class Chart:
    channel: str
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)
    peak: int = 0
    width: int = WIDTH
    height: int = HEIGHT


def delivery_charts(series: list[dict[str, Any]], *, label_format: str = "%b %d %H:%M") -> list[Chart]:
    """One chart per channel: for each time bucket, three bars side by side (sent, failed, recovered)."""
    channels = sorted({entry["channel"] for entry in series})
    buckets = sorted({entry["bucket"] for entry in series})
    charts = []
    for channel in channels:
        rows = {entry["bucket"]: entry for entry in series if entry["channel"] == channel}
        peak = max((max(r[name] for name, _ in SERIES) for r in rows.values()), default=0) or 1
        chart = Chart(channel, peak=peak)
        slot = (WIDTH - 2 * PADDING) / max(len(buckets), 1)
        bar_width = max(slot / (len(SERIES) + 1), 1)
        plot_height = HEIGHT - 2 * PADDING
        for index, bucket in enumerate(buckets):
            row = rows.get(bucket)
            left = PADDING + index * slot
            chart.labels.append((left, bucket.strftime(label_format)))
            for position, (name, color) in enumerate(SERIES):
                value = row[name] if row else 0
                height = plot_height * value / peak
                chart.bars.append(
                    Bar(
                        x=round(left + position * bar_width, 1),
                        y=round(HEIGHT - PADDING - height, 1),
                        width=round(bar_width, 1),
                        height=round(height, 1),
                        color=color,
                        title=f"{bucket.strftime(label_format)}: {value} {name}",
                    )
                )
        charts.append(chart)
    return charts
