"""Compare an analysis with ground truth: rep detection, metric errors, flag precision/recall."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from barback.analysis.results import RepResult, SessionResult

CORE_FLAGS = ("lumbar_flexion", "hips_rise_early", "lockout_hyperextension", "bar_drift", "velocity_loss",
              "side_bend", "twist", "bar_tilt")
METRICS = ("mean_velocity_mps", "peak_velocity_mps", "rom_m", "peak_lumbar_flexion_deg",
           "peak_trunk_inclination_deg", "bar_drift_m", "concentric_start_s", "concentric_end_s",
           "peak_side_bend_deg", "peak_twist_deg", "bar_tilt_deg")


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: dict[str, list[float]] = field(default_factory=dict)
    flags: dict[str, list[int]] = field(default_factory=dict)  # name -> [tp, fp, fn]
    withheld: dict[str, int] = field(default_factory=dict)  # metric -> reps it was withheld on (NaN)

    def add(self, other: Scores) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        for k, v in other.errors.items():
            self.errors.setdefault(k, []).extend(v)
        for k, n in other.withheld.items():
            self.withheld[k] = self.withheld.get(k, 0) + n
        for k, counts in other.flags.items():
            acc = self.flags.setdefault(k, [0, 0, 0])
            for i in range(3):
                acc[i] += counts[i]

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 1.0

    def bias(self, k: str) -> float:
        e = self.errors.get(k, [])
        return float(np.mean(e)) if e else float("nan")

    def rmse(self, k: str) -> float:
        e = self.errors.get(k, [])
        return float(np.sqrt(np.mean(np.square(e)))) if e else float("nan")

    def precision_recall(self, name: str) -> tuple[float, float]:
        tp, fp, fn = self.flags.get(name, [0, 0, 0])
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        return p, r


def match_reps(result: SessionResult, truth: list[dict]) -> list[tuple[dict | None, RepResult | None]]:
    """Pair detected and true reps whose concentric windows overlap by more than half."""
    pairs: list[tuple[dict | None, RepResult | None]] = []
    used = set()
    for t in truth:
        best, best_ov = None, 0.0
        for k, r in enumerate(result.reps):
            if k in used:
                continue
            ov = min(t["concentric_end_s"], r.concentric_end_s) - max(t["concentric_start_s"], r.concentric_start_s)
            dur = t["concentric_end_s"] - t["concentric_start_s"]
            if ov > 0.5 * dur and ov > best_ov:
                best, best_ov = k, ov
        if best is None:
            pairs.append((t, None))
        else:
            used.add(best)
            pairs.append((t, result.reps[best]))
    pairs += [(None, r) for k, r in enumerate(result.reps) if k not in used]
    return pairs


def rom_between(t_s: np.ndarray, acc_mps2: np.ndarray, t0_s: float, t1_s: float) -> float:
    """The height gained from t0 to t1 by double integration of `acc_mps2` (trapezoids on the
    samples between, the ends interpolated), with the speed pinned to zero at both: the
    range of motion a per-rep integral gets when its phase bounds are exact."""
    inside = (t_s > t0_s) & (t_s < t1_s)
    tt = np.concatenate([[t0_s], t_s[inside], [t1_s]])
    aa = np.interp(tt, t_s, acc_mps2)
    dt = np.diff(tt)
    v = np.concatenate([[0.0], np.cumsum(0.5 * (aa[1:] + aa[:-1]) * dt)])
    v = v - v[-1] * (tt - t0_s) / (t1_s - t0_s)
    return float(np.sum(0.5 * (v[1:] + v[:-1]) * dt))


def rom_floor_errors(result: SessionResult, truth: list[dict]) -> list[float]:
    """For every rep found whose concentric phase lost no data (truth says which): the error of
    the range of motion integrated from the analysis's own vertical acceleration between the
    simulator's true phase bounds. What is left comes from the sensor's noise and clock and the
    estimated vertical, none from phase detection: what a per-rep double integral keeps with exact
    bounds, reported beside the analysis's error."""
    bar = result.series.bar if result.series is not None else None
    if bar is None:
        return []
    out = []
    for t, r in match_reps(result, truth):
        if t is None or r is None or t.get("gap_in_concentric_s", 0.0) > 0:
            continue
        rom = rom_between(bar.t_s, bar.acc_z_wf_mps2, t["concentric_start_s"], t["concentric_end_s"])
        out.append(rom - float(t["rom_m"]))
    return out


def score(result: SessionResult, truth: list[dict]) -> Scores:
    s = Scores()
    for t, r in match_reps(result, truth):
        if t is None:
            s.fp += 1
            continue
        if r is None:
            s.fn += 1
            for f in CORE_FLAGS:
                if f in t["flags"]:
                    s.flags.setdefault(f, [0, 0, 0])[2] += 1
            continue
        s.tp += 1
        # metrics are scored on reps whose concentric phase lost no data (truth says so where it
        # knows, so a rep cannot be excused by the code under test calling it a gap)
        gap = t["gap_in_concentric_s"] > 0 if "gap_in_concentric_s" in t else any("gap" in q for q in r.quality)
        for m in METRICS:
            tv, rv = t.get(m), getattr(r, m)
            if tv is None or rv is None or gap:
                continue
            if not np.isfinite(rv):  # withheld by the analysis as implausible: not an error, counted
                s.withheld[m] = s.withheld.get(m, 0) + 1
                continue
            s.errors.setdefault(m, []).append(float(rv) - float(tv))
        names = set(r.flag_names)
        for f in CORE_FLAGS:
            acc = s.flags.setdefault(f, [0, 0, 0])
            inT, inR = f in t["flags"], f in names
            if f == "hips_rise_early" and getattr(r, "hip_rise_from", None) == "trunk":
                # one upper lumbar sensor: the flag says "hips rising first or the back rounding"
                inT = inT or t.get("fault") in ("hips_rise_early", "lumbar_flexion")
            acc[0] += inT and inR
            acc[1] += inR and not inT
            acc[2] += inT and not inR
    return s
