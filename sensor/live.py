"""Live feedback: find each rep as soon as the bar comes to rest after it, and report it.

A cheap check runs on every decoded bar block: is the bar moving (rotation or specific force away
from 1 g)? When it has rested for `rest_s` after moving, the analysis pipeline runs on the last
`window_s` seconds of all sensors (the same `analysis.pipeline.analyze` as offline, with the
lumbar zero fixed from the quiet standing at the start), and every rep that ended since the last
report is emitted. The time from the triggering block to the emitted rep is recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analysis.config import PipelineSettings, load_thresholds
from analysis.flags import describe, evaluate_rep_flags
from analysis.imu import Role
from analysis.lumbar import standing_reference
from analysis.orientation import estimate_attitude
from analysis.pipeline import analyze
from analysis.results import FlagResult, RepResult
from analysis.timebase import to_uniform
from analysis.units import G0_MPS2


@dataclass
class LiveRep:
    set: int
    rep: int
    result: RepResult
    velocity_loss_pct: float
    latency_s: float


@dataclass
class LiveAnalyzer:
    exercise: str
    bar_sensor_id: int
    on_rep: Callable[[LiveRep], None] = lambda r: None
    window_s: float = 60.0
    rest_s: float = 0.5
    thresholds: dict = field(default_factory=load_thresholds)
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
        self._rep_no = 0
        self._set_best = 0.0
        self._first_flex: float | None = None

    def warm_up(self) -> None:
        """Load the compiled kernels before the first rep, so it is not slower than the rest."""
        from analysis.imu import ImuStream, Session

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
        moving = bool(np.any(np.linalg.norm(gyro, axis=1) > np.deg2rad(8.0)) or
                      np.any(np.abs(np.linalg.norm(acc, axis=1) - G0_MPS2) > 0.04 * G0_MPS2))
        now = float(t[-1])
        if moving:
            self._last_motion_t = now
            self._armed = True
        elif self._armed and now - self._last_motion_t >= self.rest_s:
            self._armed = False
            self.analyse(ingest, now)

    def _standing_axes(self, ingest) -> dict[Role, np.ndarray]:
        if self._standing is None:
            self._standing = {}
            first = ingest.session(since_s=None)
            for role in (Role.LUMBAR_UPPER, Role.LUMBAR_LOWER):
                s = first.streams.get(role)
                if s is None:
                    continue
                keep = s.t_s <= s.t_s[0] + 60.0
                from analysis.imu import ImuStream

                u = to_uniform(ImuStream(s.t_s[keep], s.acc_sf_mps2[keep], s.gyro_sf_rps[keep]))
                att = estimate_attitude(u, self.settings)
                self._standing[role] = standing_reference(att, u.t_s, u.fs_hz)[0]
        return self._standing

    def analyse(self, ingest, now_s: float) -> list[LiveRep]:
        t0 = time.perf_counter()
        axes = self._standing_axes(ingest)
        window = ingest.session(since_s=now_s - self.window_s)
        if Role.BAR not in window.streams or len(window.streams[Role.BAR]) < 20:
            return []
        try:
            res = analyze(window, self.settings, self.thresholds, standing_axes=axes)
        except ValueError:
            return []
        out = []
        for r in res.reps:
            if r.concentric_start_s < self._last_end - 0.1:  # already reported (seen again in this window)
                continue
            if r.concentric_start_s - self._last_end > self.settings.set_gap_s:
                self._set_no += 1
                self._rep_no = 0
                self._set_best = 0.0
                self._first_flex = r.peak_lumbar_flexion_deg
            self._rep_no += 1
            if np.isfinite(r.mean_velocity_mps):
                self._set_best = max(self._set_best, r.mean_velocity_mps)
            vl = (100.0 * (self._set_best - r.mean_velocity_mps) / self._set_best
                  if self._set_best > 0 and np.isfinite(r.mean_velocity_mps) else float("nan"))
            r.set, r.rep, r.velocity_loss_pct = self._set_no, self._rep_no, vl
            if self._first_flex is not None and r.peak_lumbar_flexion_deg is not None:
                r.lumbar_flexion_rise_deg = r.peak_lumbar_flexion_deg - self._first_flex
            raised = evaluate_rep_flags(r.__dict__, self.thresholds, self.exercise)
            r.flags = [FlagResult(n, float(v), *describe(n, v, self.thresholds)) for n, v in raised.items()]
            self._last_end = r.concentric_end_s
            latency = time.perf_counter() - t0
            live = LiveRep(self._set_no, self._rep_no, r, vl, latency)
            self.latencies_s.append(latency)
            self.reps.append(live)
            out.append(live)
            self.on_rep(live)
        return out
