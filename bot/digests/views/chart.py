"""The weekly digest's chart: incidents and CI red minutes per day, as a PNG.

matplotlib is imported here only, and only when a chart is drawn, so the bot starts without
paying for it. The Agg backend draws without a display; figures are closed so none leak.
"""

from __future__ import annotations

import datetime as dt
import io

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10.0, 5.0, 100


def render_png(
    days: list[dt.date], incidents: list[int], red_minutes: list[float], title: str
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A Figure not attached to pyplot is freed with the object: no global state, thread-safe.
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    top, bottom = figure.subplots(2, 1, sharex=True)
    labels = [day.strftime("%d %b") for day in days]
    positions = list(range(len(days)))
    top.bar(positions, incidents, color="#d1453b")
    top.set_ylabel("incidents")
    top.yaxis.get_major_locator().set_params(integer=True)
    bottom.bar(positions, red_minutes, color="#e8a33d")
    bottom.set_ylabel("CI red minutes")
    step = max(1, len(days) // 14)
    bottom.set_xticks(positions[::step], labels[::step], rotation=45, ha="right", fontsize=8)
    for axis in (top, bottom):
        axis.grid(axis="y", alpha=0.3)
        axis.spines[["top", "right"]].set_visible(False)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
