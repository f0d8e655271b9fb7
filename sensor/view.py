"""The live terminal view: one line per rep, the last rep's velocity in large digits, a bell on a
flag or when velocity loss crosses the set's threshold."""

from __future__ import annotations

import sys

from rich.console import Console

from barback.analysis.results import sided_deg
from barback.sensor.live import LiveRep

_FONT = {
    "0": ["███", "█ █", "█ █", "█ █", "███"], "1": [" █ ", "██ ", " █ ", " █ ", "███"],
    "2": ["███", "  █", "███", "█  ", "███"], "3": ["███", "  █", "███", "  █", "███"],
    "4": ["█ █", "█ █", "███", "  █", "  █"], "5": ["███", "█  ", "███", "  █", "███"],
    "6": ["███", "█  ", "███", "█ █", "███"], "7": ["███", "  █", "  █", "  █", "  █"],
    "8": ["███", "█ █", "███", "█ █", "███"], "9": ["███", "█ █", "███", "  █", "███"],
    ".": ["   ", "   ", "   ", "   ", " █ "], " ": ["   "] * 5, "-": ["   ", "   ", "███", "   ", "   "],
}


def big(text: str) -> str:
    """Text in a 5-row block font (digits, '.', '-', space), readable from the platform."""
    rows = ["" for _ in range(5)]
    for ch in text:
        glyph = _FONT.get(ch, _FONT[" "])
        for i in range(5):
            rows[i] += glyph[i] + " "
    return "\n".join(rows)


def _sides(r) -> str:
    """Side bend, twist and bar tilt where they were measured: ", side 6° R, twist 2° L, bar 1°"."""
    out = ""
    if r.peak_side_bend_deg is not None:
        out += f", side {sided_deg(r.peak_side_bend_deg)}, twist {sided_deg(r.peak_twist_deg)}"
    if r.bar_tilt_deg is not None:
        out += f", bar tilt {r.bar_tilt_deg:.0f}°"
    return out


class LiveView:
    def __init__(self, vl_threshold_pct: float, console: Console | None = None, bell: bool = True) -> None:
        self.console = console or Console(file=sys.stdout)
        self.vl_threshold_pct = vl_threshold_pct
        self.bell = bell
        self._vl_warned_set = 0

    def header(self, text: str) -> None:
        self.console.print(f"[bold]{text}[/bold]")

    def message(self, text: str) -> None:
        self.console.print(f"[yellow]{text}[/yellow]")

    def rep(self, live: LiveRep) -> None:
        r = live.result
        flex = "–" if r.peak_lumbar_flexion_deg is None else f"{r.peak_lumbar_flexion_deg:.0f}°"
        incl = "–" if r.peak_trunk_inclination_deg is None else f"{r.peak_trunk_inclination_deg:.0f}°"
        known = r.mean_velocity_mps == r.mean_velocity_mps
        self.console.print(big(f"{r.mean_velocity_mps:.2f}" if known else "--"),
                           style="bold green" if not r.flags else "bold red", highlight=False)
        if known:
            self.console.print(f"[bold]set {live.set} rep {live.rep}[/bold]  {r.mean_velocity_mps:.2f} m/s mean, "
                               f"{r.peak_velocity_mps:.2f} peak, loss {live.velocity_loss_pct:.0f} %, "
                               f"lumbar flexion {flex}, trunk {incl}{_sides(r)}, data {r.quality_grade}", highlight=False)
        else:
            self.console.print(f"[bold]set {live.set} rep {live.rep}[/bold]  counted; velocity unknown "
                               f"({'; '.join(r.quality)})", highlight=False)
        ring = False
        for f in r.flags:
            self.console.print(f"  [bold red]{f.name}[/bold red]: {f.cue}", highlight=False)
            ring = True
        vl = live.velocity_loss_pct
        if vl == vl and vl >= self.vl_threshold_pct and self._vl_warned_set != live.set:
            self._vl_warned_set = live.set
            self.console.print(f"  [bold yellow]velocity loss {live.velocity_loss_pct:.0f} % reached the "
                               f"{self.vl_threshold_pct:.0f} % threshold: consider ending the set[/bold yellow]")
            ring = True
        if ring and self.bell:
            self.console.bell()
