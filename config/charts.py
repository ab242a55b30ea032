"""Chart configurations for static/js/charts.js, shared by the pages that draw a series over time.

A time chart places its points by when they happened (an irregular history is spaced by time, not
evenly), labels the axis with dates in the seller's time zone, and never draws an axis around
nothing: a series with one value gets a range around that value, and a chart with no value at all
is not drawn (the page says why instead).
"""

import json
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

SINGLE_VALUE_MARGIN = Decimal("0.10")  # a flat series is drawn within ±10% of its value


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def has_values(points) -> bool:
    return any(value is not None for _, value in points)


def time_chart(datasets: list[dict], *, y_axis: dict | None = None) -> str:
    """A line chart on a time axis. Each dataset is {"label", "color", "points": [(datetime, value)],
    plus any Chart.js dataset option}; values may be None (a gap). "" when nothing has a value."""
    if not any(has_values(dataset["points"]) for dataset in datasets):
        return ""
    chart_datasets, numbers = [], []
    for dataset in datasets:
        options = {key: value for key, value in dataset.items() if key not in ("points", "color")}
        color = dataset.get("color")
        points = [
            {"x": epoch_ms(at), "y": float(value) if isinstance(value, int | float | Decimal) else value}
            for at, value in dataset["points"]
        ]
        numbers += [point["y"] for point in points if isinstance(point["y"], float)]
        chart_datasets.append(
            {
                "borderColor": color,
                "backgroundColor": color,
                "pointRadius": 2,
                "spanGaps": True,
                **options,
                "data": points,
            }
        )
    y = dict(y_axis or {"beginAtZero": False})
    if y.get("type") != "category" and numbers and min(numbers) == max(numbers):
        value = Decimal(str(numbers[0]))
        margin = abs(value) * SINGLE_VALUE_MARGIN or Decimal(1)
        y.setdefault("suggestedMin", float(max(value - margin, Decimal(0)) if value >= 0 else value - margin))
        y.setdefault("suggestedMax", float(value + margin))
    config = {
        "type": "line",
        "data": {"datasets": chart_datasets},
        "options": {"scales": {"y": y}, "interaction": {"mode": "nearest", "axis": "x", "intersect": False}},
        "timeAxis": {"timeZone": timezone.get_current_timezone_name()},
    }
    return json.dumps(config)
