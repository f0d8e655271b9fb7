"""Live feedback: find each rep as soon as the bar stops rising, and report it.

Real sets never rest between touch-and-go reps, so the trigger is the top of each stroke, seen by
a cheap check on every decoded bar block: the bar's vertical speed, from the specific force's
magnitude minus its running mean (no attitude or calibration needed) integrated with a leak, rose
above `rise_mps` and has fallen back below a fraction of its peak. `settle_s` later (enough for
the deceleration into lockout to be in the data), the analysis pipeline runs on the last
`window_s` seconds of all sensors (the same `barback.analysis.pipeline.analyze` as offline, with the
lumbar zero fixed from the quiet standing at the start), and every rep that ended since the last
report is emitted. The bar coming to rest for `rest_s` triggers the same, so a rep the top
trigger missed is still reported. Both the pipeline's time and the delay from the rep's end (on
the sensor clock) to its report are recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from barback.analysis.bar import long_axis_from_rests
from barback.analysis.config import PipelineSettings, Thresholds, load_thresholds
from barback.analysis.flags import SetTracker
from barback.analysis.imu import Role, load_of_set
from barback.analysis.lumbar import standing_reference
from barback.analysis.orientation import prepare_stream
from barback.analysis.pipeline import analyze
from barback.analysis.results import RepResult, SetResult, WarmUpResult
from barback.analysis.units import G0_MPS2
from barback.analysis.warmup import warm_up_check


@dataclass
class LiveRep:
    set: int
    rep: int
    result: RepResult
    velocity_loss_pct: float
    latency_s: float
    reported_s: float = float("nan")  # when it was reported, on the session clock

    @property
    def delay_s(self) -> float:
        """From the rep's end to its report, on the session clock."""
        return self.reported_s - self.result.concentric_end_s


@dataclass
class LiveAnalyzer:
    exercise: str
    bar_sensor_id: int
    on_rep: Callable[[LiveRep], None] = lambda r: None
    window_s: float = 30.0
    rest_s: float = 0.5
    rise_mps: float = 0.15  # a stroke whose leaky vertical speed passes this is a candidate rep
    settle_s: float = 0.6  # after the top, before the analysis runs (the lockout must be in the data)
    moving_gyro_dps: float = 8.0  # the bar moves when it turns faster than this ...
    moving_acc_g: float = 0.04  # ... or its |f| leaves 1 g by more than this
    max_step_s: float = 0.1  # across a longer gap in the stream, the leaky speed carries this much
    leak_tau_s: float = 0.7  # the leaky integrator forgets a bias within a rep or two
    level_tau_s: float = 10.0  # |f| averages to the local g over several reps
    top_fraction: float = 0.3  # the rise has ended when the speed is back below this share of its peak
    standing_search_s: float = 60.0  # the lumbar sensors' standing zero is sought in the first minute
    thresholds: Thresholds = field(default_factory=load_thresholds)
    settings: PipelineSettings = field(default_factory=PipelineSettings)
    latencies_s: list[float] = field(default_factory=list)
    reps: list[LiveRep] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._moving_since: float | None = None
        self._last_motion_t = -np.inf
        self._armed = False
        self._last_end = -np.inf
        self._standing: dict[Role, np.ndarray] | None = None
        self._set_no = 0
        self._set: SetTracker | None = None  # the set in progress
        self._v = 0.0  # leaky vertical speed from |f| - g
        self._g: float | None = None  # running mean of |f|
        self._peak = 0.0
        self._t_prev: float | None = None
        self._due: float | None = None  # session time at which to analyse after a top
        self._bar_rests: dict[float, np.ndarray] = {}  # the bar's level rests so far: mid time -> up_sf
        self._bar_axis: np.ndarray | None = None

    @property
    def delays_s(self) -> list[float]:
        return [r.delay_s for r in self.reps]

    def warm_up(self) -> None:
        """Load the compiled kernels before the first rep, so it is not slower than the rest."""
        from barback.analysis.imu import ImuStream, Session

        n = 400
        t = np.arange(n) / 100.0
        acc = np.tile([0.0, 0.0, G0_MPS2], (n, 1))
        acc[150:250, 2] += np.sin(np.linspace(0, 2 * np.pi, 100))
        analyze(Session(self.exercise, {Role.BAR: ImuStream(t, acc, np.zeros((n, 3)))}), self.settings, self.thresholds)

    def on_block(self, sensor_id: int, ingest) -> None:
        if sensor_id != self.bar_sensor_id:
            return
        buf = ingest.sensors[sensor_id]
        if not buf.t:
            return
        acc, gyro, t = buf.acc[-1], buf.gyro[-1], buf.t[-1]
        fmag = np.linalg.norm(acc, axis=1)
        moving = bool(np.any(np.linalg.norm(gyro, axis=1) > np.deg2rad(self.moving_gyro_dps)) or
                      np.any(np.abs(fmag - G0_MPS2) > self.moving_acc_g * G0_MPS2))
        now = float(t[-1])
        if self._stroke_top(np.asarray(t, float), fmag):
            self._due = now + self.settle_s
        if moving:
            self._last_motion_t = now
            self._armed = True
        if self._due is not None and now >= self._due:
            self._due = None
            self.analyse(ingest, now)
        elif self._armed and not moving and now - self._last_motion_t >= self.rest_s:
            self._armed = False
            self.analyse(ingest, now)

    def _stroke_top(self, t: np.ndarray, fmag: np.ndarray) -> bool:
        """Advance the leaky vertical speed over one block; True when a rise has just ended."""
        top = False
        for ti, fi in zip(t.tolist(), fmag.tolist()):
            if self._t_prev is None:
                self._t_prev, self._g = ti, fi
                continue
            if ti <= self._t_prev:  # a repeated or out-of-order stamp carries no new time
                continue
            dt = min(ti - self._t_prev, self.max_step_s)  # across a gap nothing is known: little is carried
            self._t_prev = ti
            self._g += (fi - self._g) * min(1.0, dt / self.level_tau_s)
            self._v = self._v * np.exp(-dt / self.leak_tau_s) + (fi - self._g) * dt
            if self._v > self._peak:
                self._peak = self._v
            if self._peak >= self.rise_mps and self._v < self.top_fraction * self._peak:
                self._peak = 0.0
                top = True
            elif self._v <= 0.0:
                self._peak = 0.0
        return top

    def _standing_axes(self, ingest) -> dict[Role, np.ndarray]:
        if self._standing is None:
            self._standing = {}
            first = ingest.session(since_s=None)
            for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
                s = first.streams.get(role)
                if s is None:
                    continue
                keep = s.t_s <= s.t_s[0] + self.standing_search_s
                from barback.analysis.imu import ImuStream

                u, att, _ = prepare_stream(ImuStream(s.t_s[keep], s.acc_sf_mps2[keep], s.gyro_sf_rps[keep]),
                                           role, self.settings)
                self._standing[role] = standing_reference(att, u.t_s, u.fs_hz, settings=self.settings)[0]
        return self._standing

    def warm_up_preview(self, set_no: int, loads_kg: dict[int, float], e1rm_kg: float | None = None) -> WarmUpResult | None:
        """The warm-up check as the lifter is about to start set `set_no` (its load just entered):
        the sets so far with their loads, and this one beginning now. None before any bar data."""
        if self._t_prev is None:
            return None
        sets = []
        for k in sorted({r.set for r in self.reps}):
            tracker = SetTracker(self.exercise, self.thresholds, reps=[r.result for r in self.reps if r.set == k])
            sets.append(tracker.result(k, load_of_set(loads_kg, k)))
        nan = float("nan")
        now = float(self._t_prev)
        sets.append(SetResult(set_no, 0, now, now, nan, nan, nan, nan, load_of_set(loads_kg, set_no), {}))
        return warm_up_check(sets, [r.result for r in self.reps], self.thresholds.warm_up, e1rm_kg)

    def _learn_bar_axis(self, res) -> None:
        """Keep the bar's level rests across windows (rolls change between sets, beyond any one
        window) and the long axis they give, for the next window's bar tilt."""
        track = res.series.bar if res.series is not None else None
        if track is None or track.rest_t_s is None:
            return
        for t, up in zip(track.rest_t_s.tolist(), track.rest_up_sf):
            self._bar_rests.setdefault(round(t, 1), up)
        axis = long_axis_from_rests(np.array(list(self._bar_rests.values())).reshape(-1, 3), self.settings)
        if axis is not None:
            self._bar_axis = axis

    def analyse(self, ingest, now_s: float) -> list[LiveRep]:
        t0 = time.perf_counter()
        axes = self._standing_axes(ingest)
        window = ingest.session(since_s=now_s - self.window_s)
        if Role.BAR not in window.streams or len(window.streams[Role.BAR]) < 20:
            return []
        try:
            res = analyze(window, self.settings, self.thresholds, standing_axes=axes, bar_axis_sf=self._bar_axis)
        except ValueError:
            return []
        self._learn_bar_axis(res)
        out = []
        for r in res.reps:
            if r.concentric_start_s < self._last_end - 0.1:  # already reported (seen again in this window)
                continue
            if r.concentric_start_s - self._last_end > self.settings.set_gap_s:
                self._set_no += 1
                self._set = None
            if self._set is None:
                self._set = SetTracker(self.exercise, self.thresholds)
            r.set, r.rep = self._set_no, len(self._set.reps) + 1
            self._set.add(r)  # velocity loss, flexion rise and flags: the offline set rule
            vl = float("nan") if r.velocity_loss_pct is None else r.velocity_loss_pct
            self._last_end = r.concentric_end_s
            latency = time.perf_counter() - t0
            live = LiveRep(r.set, r.rep, r, vl, latency, now_s + latency)
            self.latencies_s.append(latency)
            self.reps.append(live)
            out.append(live)
            self.on_rep(live)
        return out
