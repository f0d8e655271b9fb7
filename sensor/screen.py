"""The big live screen (`--screen big`): readable from the platform, two metres from the terminal.

The whole terminal is used: the last rep's mean velocity in block digits scaled to fill it,
coloured by the set's target zone (`--zone 0.5-0.75`: green inside, yellow faster than the zone,
red slower), and under it the rep number, velocity loss, mean power when the load is known, the
flag in words, and between sets a rest timer, then the set's summary. It redraws in place (rich's
`Live` on the alternate screen); `render` is a pure function of the screen's state and size, so
tests can read it as text, and `tests/sensor/test_screen.py` reads it from a real terminal (tmux).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from barback.analysis.results import mean_power_w
from barback.sensor.cues import FLAG_WORDS
from barback.sensor.live import LiveRep
from barback.sensor.view import _FONT

SUMMARY_AFTER_S = 8.0  # of rest after a set's last rep, its summary replaces the last rep


def parse_zone(text: str) -> tuple[float, float]:
    """`--zone 0.5-0.75`: the set's target mean velocity, m/s. ValueError names the problem."""
    lo, sep, hi = text.partition("-")
    try:
        zone = (float(lo), float(hi))
    except ValueError:
        raise ValueError(f"{text!r} is not a velocity zone: use LOW-HIGH in m/s, e.g. 0.5-0.75") from None
    if not sep or not (0 < zone[0] < zone[1] < 5):
        raise ValueError(f"{text!r} is not a velocity zone: use LOW-HIGH in m/s, e.g. 0.5-0.75")
    return zone


def big_lines(text: str, scale: int) -> list[str]:
    """`text` in the 3x5 block font, each cell `scale` characters high and twice as wide (a
    terminal cell is about twice as tall as it is wide)."""
    rows: list[str] = []
    for r in range(5):
        line = "".join("".join(c * 2 * scale for c in _FONT.get(ch, _FONT[" "])[r]) + " " * scale for ch in text)
        rows += [line] * scale
    return rows


def fit_scale(text: str, width: int, height: int) -> int:
    """The largest scale at which `text` fits in width x height cells."""
    per_char = 4 * 2  # three cells and a space, two characters each, at scale 1
    return max(1, min(width // max(1, len(text) * per_char), height // 5))


@dataclass
class BigScreen:
    """The screen's state: what was last lifted, and since when the bar rests."""

    vl_threshold_pct: float
    zone_mps: tuple[float, float] | None = None
    loads_kg: dict[int, float] = field(default_factory=dict)  # set -> kg ("every set": key 0)
    clock: Callable[[], float] = time.monotonic
    console: Console | None = None
    last: LiveRep | None = None
    set_reps: list[LiveRep] = field(default_factory=list)
    last_at: float | None = None
    note: str = ""  # the last message (a load entered, a sensor reconnecting), on the bottom line
    _live: Live | None = None

    # ----- what the screen shows -------------------------------------------------------------
    def colour(self, mv: float) -> str:
        if self.zone_mps is None or mv != mv:
            return "bold white"
        lo, hi = self.zone_mps
        return "bold green" if lo <= mv <= hi else "bold yellow" if mv > hi else "bold red"

    def load_kg(self, set_no: int) -> float | None:
        return self.loads_kg.get(set_no, self.loads_kg.get(0))

    def render(self, width: int, height: int, now: float | None = None) -> Group:
        now = self.clock() if now is None else now
        rest_s = None if self.last_at is None else max(0.0, now - self.last_at)
        lines: list[Text] = []
        note = [Text(self.note, style="yellow")] if self.note else []
        if self.last is None:
            lines.append(Text("waiting for the first rep", style="bold"))
            return Group(*lines, *note)
        r = self.last.result
        if rest_s is not None and rest_s >= SUMMARY_AFTER_S:
            return Group(*self._summary(width, height, rest_s), *note)
        mv = r.mean_velocity_mps
        digits = f"{mv:.2f}" if mv == mv else "--"
        scale = fit_scale(digits, width, height - 6)
        for row in big_lines(digits, scale):
            lines.append(Text(row[:width], style=self.colour(mv)))
        info = f"SET {self.last.set}  REP {self.last.rep}   {mv:.2f} m/s" if mv == mv else \
            f"SET {self.last.set}  REP {self.last.rep}   velocity unknown"
        vl = self.last.velocity_loss_pct
        if vl == vl:
            info += f"   LOSS {vl:.0f} %"
        power = mean_power_w(self.load_kg(self.last.set), mv)
        if power is not None:
            info += f"   {power:.0f} W"
        if self.zone_mps is not None:
            lo, hi = self.zone_mps
            info += f"   ZONE {lo:.2f}-{hi:.2f}"
        lines.append(Text(info, style="bold"))
        words = [FLAG_WORDS.get(f.name, f.name).upper() for f in r.flags if f.name != "velocity_loss"]
        if vl == vl and vl >= self.vl_threshold_pct:
            words.append("STOP: VELOCITY LOSS")
        lines.append(Text("  ".join(words) if words else "FORM OK", style="bold red" if words else "bold green"))
        if rest_s is not None and rest_s >= 3.0:
            lines.append(Text(f"REST {int(rest_s) // 60}:{int(rest_s) % 60:02d}", style="bold cyan"))
        return Group(*lines, *note)

    def _summary(self, width: int, height: int, rest_s: float) -> list[Text]:
        reps = self.set_reps
        mvs = [x.result.mean_velocity_mps for x in reps if x.result.mean_velocity_mps == x.result.mean_velocity_mps]
        vls = [x.velocity_loss_pct for x in reps if x.velocity_loss_pct == x.velocity_loss_pct]
        flags: dict[str, int] = {}
        for x in reps:
            for f in x.result.flags:
                if f.name != "velocity_loss":
                    flags[f.name] = flags.get(f.name, 0) + 1
        timer = f"{int(rest_s) // 60}:{int(rest_s) % 60:02d}"
        scale = fit_scale(timer, width, height - 7)
        out = [Text(row[:width], style="bold cyan") for row in big_lines(timer, scale)]
        out.append(Text(f"REST   SET {reps[0].set} DONE: {len(reps)} REPS", style="bold"))
        if mvs:
            out.append(Text(f"BEST {max(mvs):.2f} m/s   LAST {mvs[-1]:.2f} m/s   LOSS {max(vls, default=0):.0f} %"))
        out.append(Text("FLAGS: " + ", ".join(f"{FLAG_WORDS.get(k, k)} x{v}" for k, v in flags.items())
                        if flags else "FLAGS: none", style="bold red" if flags else "bold green"))
        return out

    # ----- the live path ---------------------------------------------------------------------
    def rep(self, live: LiveRep) -> None:
        if self.last is None or live.set != self.last.set:
            self.set_reps = []
        self.set_reps.append(live)
        self.last, self.last_at = live, self.clock()
        self.refresh()

    def message(self, text: str) -> None:
        self.note = text
        self.refresh()

    def header(self, text: str) -> None:
        pass

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._renderable(), refresh=True)

    def _renderable(self) -> Group:
        c = self._live.console if self._live is not None else (self.console or Console())
        return self.render(c.size.width, c.size.height)

    def __enter__(self) -> BigScreen:
        self._live = Live(console=self.console, screen=True, auto_refresh=True, refresh_per_second=2,
                          get_renderable=self._renderable)
        self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None
