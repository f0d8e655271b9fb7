"""Form flags: rules over per-rep metrics, with explanations and coaching cues from the threshold file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from barback.analysis.config import HipsRiseEarlyRule, LumbarFlexionRule, Thresholds
from barback.analysis.imu import FLOOR_PULLS, HINGES
from barback.analysis.results import FlagResult, RepResult, SetResult, count_flags

FLAG_NAMES = ("lumbar_flexion", "lumbar_flexion_drift", "hips_rise_early",
              "lockout_hyperextension", "bar_drift", "velocity_loss", "side_bend", "twist", "bar_tilt")
# what a lifter or coach reads (the code names stay in the JSON)
FLAG_LABELS = {"lumbar_flexion": "lower back rounding", "lumbar_flexion_drift": "rounding more each rep",
               "hips_rise_early": "hips rising first", "lockout_hyperextension": "leaning back at lockout",
               "bar_drift": "bar drifting away", "velocity_loss": "velocity loss",
               "side_bend": "back bending to one side", "twist": "trunk twisting", "bar_tilt": "bar tilted (one hand higher)"}


def flag_label(name: str) -> str:
    return FLAG_LABELS.get(name, name.replace("_", " "))


def velocity_loss_pct(mean_velocity_mps) -> np.ndarray:
    """Velocity loss of each rep of a set, in order, in percent: against the fastest rep so far
    (the first, in a set that only slows). A live display knows no later rep, so this is the one
    definition offline and live. A rep whose velocity is unknown has none."""
    mv = np.asarray(mean_velocity_mps, dtype=float)
    best = np.fmax.accumulate(np.where(np.isfinite(mv), mv, -np.inf)) if mv.size else mv
    with np.errstate(invalid="ignore", divide="ignore"):
        vl = 100.0 * (best - mv) / best
    return np.where(np.isfinite(mv) & (best > 0), vl, np.nan)


@dataclass
class SetTracker:
    """One set as its reps arrive, in order: each rep's velocity loss, its lumbar flexion rise over
    the set's first rep, and its flags. The one set rule, for offline analysis and live feedback."""

    exercise: str
    thresholds: Thresholds
    reps: list[RepResult] = field(default_factory=list)

    def add(self, rep: RepResult) -> RepResult:
        self.reps.append(rep)
        rep.velocity_loss_pct = float(velocity_loss_pct([r.mean_velocity_mps for r in self.reps])[-1])
        # rounding more each rep is a trend: the rise of the straight line fitted to the set's peak
        # flexion so far, from its first rep to this one (three reps at least: 16, 28, 24, 19, 15 deg
        # is one spike, not a drift)
        flex = [(k, r.peak_lumbar_flexion_deg) for k, r in enumerate(self.reps) if r.peak_lumbar_flexion_deg is not None]
        if len(flex) >= 3 and rep.peak_lumbar_flexion_deg is not None:
            k, f = np.array(flex, dtype=float).T
            slope = float(np.polyfit(k, f, 1)[0])
            rep.lumbar_flexion_rise_deg = slope * (k[-1] - k[0])
        rep.flags = rep_flags(rep, self.thresholds, self.exercise)
        return rep

    def result(self, set_no: int, load_kg: float | None = None) -> SetResult:
        mv = np.array([r.mean_velocity_mps for r in self.reps], dtype=float)
        vl = np.array([r.velocity_loss_pct for r in self.reps], dtype=float)
        known = np.isfinite(mv)
        counts = count_flags(r.flag_names for r in self.reps)
        nan = float("nan")
        return SetResult(set=set_no, n_reps=len(self.reps), start_s=self.reps[0].concentric_start_s,
                         end_s=self.reps[-1].concentric_end_s,
                         best_mean_velocity_mps=float(mv[known].max()) if known.any() else nan,
                         mean_of_mean_velocity_mps=float(mv[known].mean()) if known.any() else nan,
                         last_rep_velocity_loss_pct=float(vl[-1]),
                         max_velocity_loss_pct=float(np.nanmax(vl)) if np.isfinite(vl).any() else nan,
                         load_kg=load_kg, flag_counts=counts)


def _get(rep: Mapping, key: str) -> float | None:
    v = rep.get(key)
    if v is None:
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def evaluate_rep_flags(rep: Mapping, th: Thresholds, exercise: str) -> dict[str, float]:
    """Return {flag name: the value that triggered it} for one rep's metrics.

    Metrics that are missing (None/NaN: no sensor, or not measurable) never raise a flag.
    """
    out: dict[str, float] = {}
    hinge = exercise in HINGES
    v = _get(rep, "velocity_loss_pct")
    if v is not None and v >= th.velocity_loss.threshold_pct:
        out["velocity_loss"] = v
    v = _get(rep, "peak_lumbar_flexion_deg")
    pct = _get(rep, "peak_lumbar_flexion_pct_max")
    if hinge and pct is not None:  # calibrated athlete: relative to their own maximum
        if pct >= th.lumbar_flexion.pct_of_max:
            out["lumbar_flexion"] = v if v is not None else pct
    elif hinge and v is not None and v >= th.exercise[exercise].lumbar_flexion_peak_deg:
        out["lumbar_flexion"] = v
    gain = _get(rep, "lumbar_flexion_gain_deg")  # the back giving way under load, from any start
    if hinge and v is not None and gain is not None and gain >= th.lumbar_flexion.gain_deg:
        out.setdefault("lumbar_flexion", v)
    v = _get(rep, "lumbar_flexion_rise_deg")
    if hinge and v is not None and v >= th.lumbar_flexion_drift.rise_deg:
        out["lumbar_flexion_drift"] = v
    v = _get(rep, "hip_rise_deg")
    if exercise in (*FLOOR_PULLS, "squat") and v is not None and v >= th.hips_rise_early.trunk_rise_deg:
        out["hips_rise_early"] = v
    lean = _get(rep, "lockout_lean_back_deg")
    ext = _get(rep, "lockout_lumbar_extension_deg")
    lk = th.lockout_hyperextension
    if hinge and ((lean is not None and lean >= lk.lean_back_deg) or
                  (ext is not None and ext >= lk.lumbar_extension_deg)):
        out["lockout_hyperextension"] = max(x for x in (lean, ext) if x is not None)
    v = _get(rep, "bar_drift_m")
    if v is not None and v >= th.bar_drift.max_m:
        out["bar_drift"] = v
    for flag, key, limit in (("side_bend", "peak_side_bend_deg", th.side_bend.max_deg),
                             ("twist", "peak_twist_deg", th.twist.max_deg)):
        v = _get(rep, key)
        if hinge and v is not None and abs(v) >= limit:  # signed: to the right positive
            out[flag] = v
    v = _get(rep, "bar_tilt_deg")
    if v is not None and v >= th.bar_tilt.max_deg:
        out["bar_tilt"] = v
    return out


def describe(flag: str, value: float, th: Thresholds, pct_of_max: float | None = None,
             trunk_only: bool = False, exercise: str = "deadlift") -> tuple[str, str]:
    """Plain-language explanation and coaching cue of a raised flag (`pct_of_max`: the rep's
    lumbar flexion as a percentage of the athlete's calibrated maximum, when known; `trunk_only`:
    hips judged from one upper lumbar sensor, which cannot tell them from a rounding back)."""
    rule = th.rule(flag)
    if isinstance(rule, LumbarFlexionRule) and pct_of_max is not None:
        return rule.explanation_pct.format(pct=pct_of_max, pct_of_max=rule.pct_of_max), rule.cue
    if isinstance(rule, HipsRiseEarlyRule) and trunk_only:
        return (rule.explanation_trunk.format(value=value, trunk_rise_deg=rule.trunk_rise_deg,
                                              early_pct=100 * rule.early_fraction), rule.cue_trunk)
    numbers = rule.numbers()
    numbers.update(peak_deg=th.exercise[exercise].lumbar_flexion_peak_deg, value=value, value_cm=value * 100,
                   max_cm=numbers.get("max_m", 0.0) * 100,
                   early_pct=100 * numbers.get("early_fraction", 0.0), abs_value=abs(value))
    return rule.explanation.format(**numbers, side="right" if value > 0 else "left"), rule.cue

def rep_flags(rep: RepResult, th: Thresholds, exercise: str) -> list[FlagResult]:
    """The flags of one rep, explained: the one rule, for offline and live alike."""
    raised = evaluate_rep_flags(rep.__dict__, th, exercise)
    return [FlagResult(name, float(val), *describe(name, val, th, rep.peak_lumbar_flexion_pct_max,
                                                   trunk_only=rep.hip_rise_from == "trunk", exercise=exercise))
            for name, val in raised.items()]
