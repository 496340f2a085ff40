"""The simulated day as a picture: the chain's lag over time (from the
ledger's catalog: when each export was recorded and where it brought the
watermark), each export as a tick, and the pause, the failed exports and the
PITR gap shaded. Plain SVG, no plotting library."""
from __future__ import annotations

from html import escape


def lag_series(catalog: list[dict], start: float, end: float, step: float = 60) -> list[tuple[float, float]]:
    """(time, lag in minutes) every `step` seconds: now minus the end of the
    last export recorded by then (of the latest chain that has a full export)."""
    done = sorted((c["recordedAt"], c["chain"], c["to"]) for c in catalog if c["status"] == "COMPLETED")
    out, i, best = [], 0, (-1, None)
    t = start
    while t <= end:
        while i < len(done) and done[i][0] <= t:
            _, chain, to = done[i]
            if chain > best[0] or (chain == best[0] and to > best[1]):
                best = (chain, to)
            i += 1
        if best[1] is not None:
            out.append((t, (t - best[1]) / 60))
        t += step
    return out


def svg(catalog: list[dict], start: float, end: float, spans: list[tuple[str, float, float, str]],
        title: str) -> str:
    """The chart; `spans`: (label, from, to, colour) shaded behind the line."""
    w, h, left, right, top, bottom = 960, 360, 60, 20, 40, 40
    series = lag_series(catalog, start, end)
    peak = max([m for _, m in series] + [60])
    x = lambda t: left + (t - start) / (end - start) * (w - left - right)  # noqa: E731
    y = lambda m: top + (1 - m / peak) * (h - top - bottom)  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">{escape(title)}</text>']
    for label, a, b, colour in spans:
        parts.append(f'<rect x="{x(a):.1f}" y="{top}" width="{max(x(b) - x(a), 2):.1f}" height="{h - top - bottom}" '
                     f'fill="{colour}" opacity="0.25"><title>{escape(label)}</title></rect>')
        parts.append(f'<text x="{x(a) + 2:.1f}" y="{top + 12}" fill="#333">{escape(label)}</text>')
    for m in range(0, int(peak) + 1, max(15, int(peak) // 6 // 15 * 15 or 15)):
        parts.append(f'<line x1="{left}" x2="{w - right}" y1="{y(m):.1f}" y2="{y(m):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y(m) + 4:.1f}" text-anchor="end">{m}</text>')
    for hour in range(0, int((end - start) // 3600) + 1, 3):
        t = start + hour * 3600
        parts.append(f'<text x="{x(t):.1f}" y="{h - bottom + 16}" text-anchor="middle">+{hour} h</text>')
    for c in catalog:
        colour = "#2a7" if c["status"] == "COMPLETED" else "#d33"
        parts.append(f'<line x1="{x(c["recordedAt"]):.1f}" x2="{x(c["recordedAt"]):.1f}" y1="{h - bottom}" '
                     f'y2="{h - bottom - 8}" stroke="{colour}"><title>{escape(c["kind"])} {c["status"]}</title></line>')
    points = " ".join(f"{x(t):.1f},{y(m):.1f}" for t, m in series)
    parts.append(f'<polyline points="{points}" fill="none" stroke="#1f5fbf" stroke-width="1.5"/>')
    parts.append(f'<text x="14" y="{top + (h - top - bottom) / 2:.0f}" transform="rotate(-90 14 {top + (h - top - bottom) / 2:.0f})" '
                 f'text-anchor="middle">lag (minutes)</text>')
    parts.append(f'<text x="{w - right}" y="{h - 6}" text-anchor="end">ticks: exports recorded (green) and failed (red)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
