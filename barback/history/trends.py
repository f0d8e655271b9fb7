"""Trends over many sessions: pure functions over stored results (no database access here).

- Load-velocity profile per exercise (individual linear fit of each set's best mean velocity
  against its load) and the estimated 1RM: the load at the minimum velocity threshold (MVT).
  Default MVTs: each exercise's in the threshold file ([exercise.*] mvt_mps: deadlift 0.14, squat
  0.23, bench 0.10 m/s from Helms et al., trap bar 0.25 from Janicijevic et al.) until the
  athlete's own is known.
- Velocity at a given load over time, lumbar flexion per session, flag frequency.
- Pain: how what the sensors saw relates to the journal's pain scores. Correlation, not diagnosis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from barback.analysis.config import load_thresholds
from barback.analysis.results import count_flags

CAUTION = ("These are correlations across your own sessions, not a diagnosis: pain has many causes. "
           "Talk to a physiotherapist or physician about persistent or worsening pain.")


@dataclass(frozen=True)
class LoadVelocity:
    exercise: str
    n_sets: int
    slope_mps_per_kg: float
    intercept_mps: float
    r2: float
    mvt_mps: float
    e1rm_kg: float | None
    e1rm_withheld: str | None = None  # why no e1RM is given, when none is

    def to_dict(self) -> dict:
        return asdict(self)


def load_velocity_profile(loads_kg, velocities_mps, exercise: str, mvt_mps: float | None = None) -> LoadVelocity | None:
    """Linear fit v = intercept + slope * load; e1RM where v reaches the MVT. Needs at least
    three sets over at least two distinct loads, and a negative slope."""
    x, y = np.asarray(loads_kg, float), np.asarray(velocities_mps, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or len(np.unique(x)) < 2:
        return None
    fit = stats.linregress(x, y)
    mvt = mvt_mps if mvt_mps is not None else load_thresholds().exercise[exercise].mvt_mps
    r2 = float(fit.rvalue**2)
    e1rm: float | None = float((mvt - fit.intercept) / fit.slope) if fit.slope < 0 else None
    why = None
    distinct = np.unique(x)
    spread = float((distinct.max() - distinct.min()) / distinct.max()) if distinct.max() > 0 else 0.0
    if len(distinct) < MIN_E1RM_LOADS:
        why = f"not enough data: {len(distinct)} distinct loads ({MIN_E1RM_LOADS} needed)"
    elif spread < MIN_E1RM_SPREAD:
        why = (f"not enough data: the loads lie within {100 * spread:.0f} % of the heaviest "
               f"({100 * MIN_E1RM_SPREAD:.0f} % spread needed)")
    elif e1rm is None:
        why = "velocity does not fall as the load rises"
    elif r2 < MIN_E1RM_R2:
        why = f"the sets do not follow one line (R² {r2:.2f} < {MIN_E1RM_R2:.2f})"
    elif e1rm > MAX_E1RM_EXTRAPOLATION * float(np.max(x)):
        why = f"{e1rm:.0f} kg is more than {MAX_E1RM_EXTRAPOLATION:g}x the heaviest load lifted ({np.max(x):g} kg)"
    return LoadVelocity(exercise, int(len(x)), float(fit.slope), float(fit.intercept), r2,
                        float(mvt), None if why else e1rm, why)


# our choices: an individual's load-velocity line is close to straight (R² above 0.9 is usual), so
# a poorer fit is sets that do not belong together; and a 1RM far beyond what was lifted is a guess
MIN_E1RM_R2 = 0.7
# ... and a line needs loads to lie on: three distinct loads at least, spread over a fifth of the
# heaviest (profiles in the literature use four to six loads over 30-90 % of 1RM; ours is a floor)
MIN_E1RM_LOADS = 3
MIN_E1RM_SPREAD = 0.2
MAX_E1RM_EXTRAPOLATION = 2.0


def session_summary(row) -> dict:
    """Per-session numbers for trends, from a stored result."""
    res = row.result
    reps = res["reps"]
    flex = [r["peak_lumbar_flexion_deg"] for r in reps if r.get("peak_lumbar_flexion_deg") is not None]
    flags = count_flags(r["flags"] for r in reps)
    loads = [s.get("load_kg") for s in res["sets"] if s.get("load_kg") is not None]
    return {"id": row.id, "date": row.date, "athlete": row.athlete, "exercise": row.exercise, "n_reps": len(reps),
            "best_mean_velocity_mps": max((r["mean_velocity_mps"] for r in reps
                                           if r.get("mean_velocity_mps") is not None), default=None),
            "mean_peak_lumbar_flexion_deg": float(np.mean(flex)) if flex else None,
            "max_velocity_loss_pct": max((s["max_velocity_loss_pct"] for s in res["sets"]
                                          if s.get("max_velocity_loss_pct") is not None), default=None),
            "flags_per_rep": (sum(flags.values()) / len(reps)) if reps else 0.0, "flag_counts": flags,
            "top_load_kg": max(loads) if loads else None,
            # the warm-up check as analysed: "missed" (warned of), "ok", or None (not judged)
            "warm_up": None if not (res.get("warm_up") or {}).get("heavy_set") else (
                "missed" if res["warm_up"]["warned"] else "ok")}


def velocity_at_load(rows, exercise: str, load_kg: float) -> list[dict]:
    """Best mean velocity of sets at `load_kg` (±2.5 kg), per session date."""
    out = []
    for row in rows:
        if row.exercise != exercise:
            continue
        best = {s["set"]: s for s in row.result["sets"]}
        v = [s["best_mean_velocity_mps"] for s in best.values()
             if s.get("load_kg") is not None and abs(s["load_kg"] - load_kg) <= 2.5]
        if v:
            out.append({"date": row.date, "session": row.id, "mean_velocity_mps": float(max(v))})
    return out


def pain_relations(summaries: list[dict], journal: list[dict], painful_at: int = 4) -> dict:
    """Relate journal pain (after and next day) to the session metrics: Spearman correlations and
    the difference between painful and pain-free sessions, with the patterns that stand out."""
    by_session = {s["id"]: s for s in summaries}
    pairs = [(by_session[j["session_id"]], j) for j in journal if j.get("session_id") in by_session]
    out: dict = {"sessions_with_pain_scores": len(pairs), "caution": CAUTION, "metrics": {}, "patterns": []}
    if len(pairs) < 4:
        out["note"] = "at least 4 journal entries linked to sessions are needed to relate pain to the sensors"
        return out
    metrics = ("mean_peak_lumbar_flexion_deg", "flags_per_rep", "max_velocity_loss_pct", "top_load_kg")
    for key in ("after", "next_day"):
        pain = np.array([j[key] if j[key] is not None else np.nan for _, j in pairs], float)
        for m in metrics:
            vals = np.array([s[m] if s[m] is not None else np.nan for s, _ in pairs], float)
            ok = np.isfinite(pain) & np.isfinite(vals)
            if ok.sum() < 4 or np.ptp(vals[ok]) == 0 or np.ptp(pain[ok]) == 0:
                continue
            rho, p = stats.spearmanr(vals[ok], pain[ok])
            painful = vals[ok][pain[ok] >= painful_at]
            easy = vals[ok][pain[ok] < painful_at]
            entry = {"spearman_rho": float(rho), "p_value": float(p), "n": int(ok.sum()),
                     "mean_when_painful": float(painful.mean()) if painful.size else None,
                     "mean_when_not": float(easy.mean()) if easy.size else None}
            out["metrics"].setdefault(m, {})[key] = entry
            if painful.size and easy.size and rho > 0.3 and p < 0.1:
                out["patterns"].append(
                    f"{m.replace('_', ' ')}: {painful.mean():.1f} before sessions with {key.replace('_', ' ')} pain "
                    f">= {painful_at} vs {easy.mean():.1f} otherwise (Spearman rho {rho:.2f}, n {int(ok.sum())})")
    return out


def athlete_strength(rows, athlete: str | None, exercise: str, heavy_pct: float,
                     mvt_mps: float | None = None) -> tuple[float | None, float | None]:
    """The athlete's e1RM in `exercise` from the stored sessions' loaded sets, and the velocity the
    fitted load-velocity line gives at `heavy_pct` of it: what makes a set heavy for the warm-up
    check. (None, None) where the history gives no e1RM (too few loads, or none)."""
    loads, vels = [], []
    for r in rows:
        if r.athlete == athlete and r.exercise == exercise:
            for s in r.result["sets"]:
                if s.get("load_kg") is not None and s.get("best_mean_velocity_mps") is not None:
                    loads.append(s["load_kg"])
                    vels.append(s["best_mean_velocity_mps"])
    lv = load_velocity_profile(loads, vels, exercise, mvt_mps)
    if lv is None or lv.e1rm_kg is None:
        return None, None
    return lv.e1rm_kg, float(lv.intercept_mps + lv.slope_mps_per_kg * heavy_pct / 100.0 * lv.e1rm_kg)


CEILING_FAULTS = ("lumbar_flexion", "hips_rise_early")  # the form faults a load too heavy brings on


def _fault_points(rows, athlete: str | None, exercise: str) -> list[list[tuple[float, bool]]]:
    """Per stored session of the athlete's lift: (load, rounded or led with the hips) per rep."""
    out = []
    for r in rows:
        if r.athlete != athlete or r.exercise != exercise:
            continue
        loads = {s["set"]: s.get("load_kg") for s in r.result["sets"]}
        pts = [(float(loads[rep["set"]]), any(f in CEILING_FAULTS for f in rep["flags"]))
               for rep in r.result["reps"] if loads.get(rep["set"])]
        if pts:
            out.append(pts)
    return out


def _crossing(x: np.ndarray, y: np.ndarray, share: float) -> float | None:
    """The load at which a logistic fit of P(fault | load) reaches `share`; None unless faults grow
    with the load. A small ridge keeps the slope finite when the loads separate the faults."""
    from scipy.optimize import minimize

    mu, sd = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sd

    def nll(p):
        t = p[0] + p[1] * z
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 1e-2 * p[1] ** 2)

    a, b = minimize(nll, np.zeros(2), method="BFGS").x
    if b <= 0:
        return None
    return mu + sd * (np.log(share / (1 - share)) - a) / b


def load_ceiling(rows, athlete: str | None, exercise: str, rule, e1rm_kg: float | None = None) -> dict:
    """The athlete's load ceiling for a lift: the load above which `rule.fault_share` of the reps
    or more round the back or lead with the hips, from the stored sessions; its range over the
    sessions resampled (16th to 84th percentile), and how many sessions and reps it rests on.
    `ceiling_kg` None with `withheld` saying why, where the history cannot tell."""
    sessions = _fault_points(rows, athlete, exercise)
    x = np.array([p[0] for s in sessions for p in s])
    y = np.array([p[1] for s in sessions for p in s], float)
    out = {"athlete": athlete, "exercise": exercise, "ceiling_kg": None, "low_kg": None, "high_kg": None,
           "pct_e1rm": None, "n_sessions": len(sessions), "n_reps": len(x), "fault_share": rule.fault_share,
           "withheld": None}
    loads = np.unique(x)
    if len(sessions) < rule.min_sessions or len(loads) < rule.min_loads:
        out["withheld"] = (f"not enough data: {len(sessions)} session(s) and {len(loads)} load(s) with reps "
                           f"({rule.min_sessions:g} and {rule.min_loads:g} needed)")
        return out
    c = _crossing(x, y, rule.fault_share) if 0 < y.sum() < len(y) else None
    if c is None or not loads.min() <= c <= loads.max():
        out["withheld"] = ("form faults do not grow with the load in these sessions" if y.any()
                           else "no form faults at any load lifted: no ceiling seen yet")
        return out
    rng = np.random.default_rng(len(x))
    draws = []
    for _ in range(int(rule.bootstrap_draws)):
        pick = [sessions[k] for k in rng.integers(0, len(sessions), len(sessions))]
        xb = np.array([p[0] for s in pick for p in s])
        yb = np.array([p[1] for s in pick for p in s], float)
        cb = _crossing(xb, yb, rule.fault_share) if 0 < yb.sum() < len(yb) else None
        if cb is not None:
            draws.append(min(max(cb, loads.min()), loads.max()))
    out["ceiling_kg"] = float(c)
    if draws:
        out["low_kg"], out["high_kg"] = (float(v) for v in np.percentile(draws, [16, 84]))
    if e1rm_kg:
        out["pct_e1rm"] = 100.0 * float(c) / e1rm_kg
    return out


def ceiling_warning(ceiling: dict, load_kg: float, rule) -> str | None:
    """The warning for a set about to be lifted at `load_kg` above the ceiling, or None."""
    c = ceiling.get("ceiling_kg")
    if c is None or load_kg <= c:
        return None
    rng = (f"{ceiling['low_kg']:.0f}-{ceiling['high_kg']:.0f} kg" if ceiling.get("low_kg") is not None
           else "range unknown")
    if ceiling.get("pct_e1rm") is not None:
        rng += f", {ceiling['pct_e1rm']:.0f} % of the e1RM"
    return rule.explanation.format(load=load_kg, ceiling=c, range=rng, share_pct=100 * rule.fault_share,
                                   n_sessions=ceiling["n_sessions"]) + " " + rule.cue


def history(rows, journal: list[dict], mvt_by_athlete: dict[str | None, float | None] | None = None) -> dict:
    """Everything `barback history --json` reports."""
    summaries = [session_summary(r) for r in rows]
    profiles: list[dict] = []
    ceilings: list[dict] = []
    rule = load_thresholds().load_ceiling
    for (athlete, exercise) in sorted({(r.athlete, r.exercise) for r in rows}, key=str):
        loads, vels = [], []
        for r in rows:
            if r.athlete == athlete and r.exercise == exercise:
                for s in r.result["sets"]:
                    if s.get("load_kg") is not None:
                        loads.append(s["load_kg"])
                        vels.append(s["best_mean_velocity_mps"])
        lv = load_velocity_profile(loads, vels, exercise, (mvt_by_athlete or {}).get(athlete))
        if lv is not None:  # the sets it was fitted to, for the chart
            profiles.append({"athlete": athlete, **lv.to_dict(),
                             "points": [[float(a), float(b)] for a, b in zip(loads, vels) if b is not None]})
        ceilings.append(load_ceiling(rows, athlete, exercise, rule, lv.e1rm_kg if lv is not None else None))
    common: dict = {}
    for r in rows:
        for s in r.result["sets"]:
            if s.get("load_kg") is not None:
                common[(r.exercise, s["load_kg"])] = common.get((r.exercise, s["load_kg"]), 0) + 1
    at_load = []
    for (ex, load), n in sorted(common.items(), key=lambda kv: -kv[1])[:3]:
        if n >= 2:
            at_load.append({"exercise": ex, "load_kg": load, "sessions": velocity_at_load(rows, ex, load)})
    flags = dict(sum((Counter(s["flag_counts"]) for s in summaries), Counter()))
    return {"sessions": summaries, "load_velocity": profiles, "velocity_at_load": at_load,
            "flag_totals": flags, "pain": pain_relations(summaries, journal), "load_ceiling": ceilings}
