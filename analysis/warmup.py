"""The warm-up check: did the first heavy set of a session come after lighter ones?

"Inadequate warm-up" is a named cause of back pain after deadlifts, and practising with lighter
weights the way in. A session's sets, in time order, with their loads (or, without loads, their
mean velocity: a lighter load moves faster) show the ramp. The first heavy set is the first at or
above `heavy_pct_e1rm` of the athlete's e1RM, or slower than the athlete's velocity at that share
(both from the history); without a history, the first of the session's heaviest (or slowest) sets.
It is warned of when fewer than `min_lighter_sets` lighter sets began in the `window_min` minutes
before it. Peak lumbar flexion of the warm-up sets is set beside the heavy set's, so a coach sees
whether the warm-up changed how the back moved. Pure: sets and reps in, a typed result out.
"""

from __future__ import annotations

import math

import numpy as np

from barback.analysis.config import WarmUpRule
from barback.analysis.results import RepResult, SetResult, WarmUpResult


def _flexion(reps: list[RepResult], set_no: int) -> float | None:
    v = [r.peak_lumbar_flexion_deg for r in reps if r.set == set_no and r.peak_lumbar_flexion_deg is not None]
    return float(np.mean(v)) if v else None


def warm_up_check(sets: list[SetResult], reps: list[RepResult], rule: WarmUpRule,
                  e1rm_kg: float | None = None, heavy_velocity_mps: float | None = None) -> WarmUpResult:
    """The session's warm-up against `rule`. `e1rm_kg` and `heavy_velocity_mps` (the athlete's
    velocity at rule.heavy_pct_e1rm of the e1RM) come from the history when there is one."""
    sets = sorted(sets, key=lambda s: s.start_s)
    if not sets:
        return WarmUpResult(None, "none", note="no sets")
    loads_known = all(s.load_kg for s in sets)
    heavy = None
    if e1rm_kg and loads_known:
        by = "e1rm"
        heavy = next((s for s in sets if s.load_kg and s.load_kg >= rule.heavy_pct_e1rm / 100 * e1rm_kg), None)
        if heavy is None:
            return WarmUpResult(None, by, note=f"no set at or above {rule.heavy_pct_e1rm:g} % of the e1RM "
                                               f"({e1rm_kg:.0f} kg): nothing heavy to warm up for")
    elif heavy_velocity_mps:
        by = "velocity"
        heavy = next((s for s in sets if s.mean_of_mean_velocity_mps <= heavy_velocity_mps), None)
        if heavy is None:
            return WarmUpResult(None, by, note=f"no set slower than {heavy_velocity_mps:.2f} m/s (the athlete's "
                                               f"velocity at {rule.heavy_pct_e1rm:g} % of the e1RM)")
    elif len(sets) < 2:
        return WarmUpResult(None, "none", note="one set and no e1RM in the history: whether it was heavy is unknown")
    elif loads_known:
        by = "load"
        top = max(s.load_kg or 0.0 for s in sets)
        heavy = next(s for s in sets if (s.load_kg or 0.0) >= (1 - rule.slowest_margin) * top)
    else:
        by = "velocity_in_session"
        mv = [s.mean_of_mean_velocity_mps for s in sets]
        known = [v for v in mv if math.isfinite(v)]
        if not known:
            return WarmUpResult(None, "none", note="no set velocity and no loads: the ramp is unknown")
        slowest = min(known)
        heavy = next(s for s, v in zip(sets, mv) if math.isfinite(v) and v <= (1 + rule.slowest_margin) * slowest)
    heavy_mv = heavy.mean_of_mean_velocity_mps

    def lighter(s: SetResult) -> bool:
        if s.load_kg and heavy.load_kg:
            return s.load_kg <= rule.lighter_load_fraction * heavy.load_kg
        v = s.mean_of_mean_velocity_mps
        return math.isfinite(v) and math.isfinite(heavy_mv) and v >= rule.faster_velocity_fraction * heavy_mv

    before = tuple(s.set for s in sets if s.start_s < heavy.start_s
                   and heavy.start_s - s.start_s <= 60.0 * rule.window_min and lighter(s))
    flex = {s.set: f for s in sets if (f := _flexion(reps, s.set)) is not None}
    warm = [flex[k] for k in before if k in flex]
    warned = len(before) < rule.min_lighter_sets
    numbers = rule.numbers()
    numbers.update(heavy_set=heavy.set, n_lighter=len(before))
    return WarmUpResult(
        heavy.set, by, before, warned,
        rule.explanation.format(**numbers) if warned else None, rule.cue if warned else None,
        warm_up_flexion_deg=float(np.mean(warm)) if warm else None, heavy_flexion_deg=flex.get(heavy.set),
        flexion_by_set=flex)
