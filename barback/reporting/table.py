"""Plain-text tables for the terminal: a session's reps, and the history of sessions."""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from barback.analysis.results import SessionResult, sided_deg

_Justify = Literal["left", "right"]
_REP_COLUMNS: tuple[tuple[str, _Justify], ...] = (
    ("set", "right"), ("rep", "right"), ("MV m/s", "right"), ("PV m/s", "right"), ("ROM m", "right"),
    ("VL %", "right"), ("flex °", "right"), ("incl °", "right"), ("quality", "left"), ("flags", "left"))


def _num(v: float | None, nd: int = 2) -> str:
    return "–" if v is None or v != v else f"{v:.{nd}f}"


_HEAVY_BY = {"e1rm": "at or above the share of the athlete's e1RM", "velocity": "slower than the athlete's velocity there",
             "load": "the session's heaviest load", "velocity_in_session": "the session's slowest sets"}


def warm_up_text(result: SessionResult) -> str | None:
    """The warm-up check in one or two sentences (None when there is nothing to say)."""
    wu = result.warm_up
    if wu is None:
        return None
    if wu.heavy_set is None:
        return f"Warm-up not judged: {wu.note}." if wu.note else None
    if wu.warned:
        text = f"{wu.explanation} {wu.cue}"
    else:
        before = ", ".join(str(k) for k in wu.lighter_sets_before)
        text = (f"Warmed up: set {wu.heavy_set}, the first heavy set ({_HEAVY_BY.get(wu.heavy_by, wu.heavy_by)}), "
                f"came after lighter set(s) {before}.")
    if wu.warm_up_flexion_deg is not None and wu.heavy_flexion_deg is not None:
        text += (f" Peak lumbar flexion {wu.warm_up_flexion_deg:.0f}° in the warm-up sets, "
                 f"{wu.heavy_flexion_deg:.0f}° in the heavy set.")
    elif wu.heavy_flexion_deg is not None:
        text += f" Peak lumbar flexion {wu.heavy_flexion_deg:.0f}° in the heavy set."
    return text


def print_reps(result: SessionResult, file: TextIO | None = None) -> None:
    """The per-rep table, then why each poor rep is poor and what each flag means."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stdout, width=140)
    who = " · ".join(x for x in (result.athlete, result.date) if x)
    t = Table(title=(f"{who}: " if who else "") + f"{result.exercise.replace('_', ' ')}: {len(result.reps)} reps in "
                    f"{len(result.sets)} set(s), data quality {result.quality_grade}")
    sided = any(r.peak_side_bend_deg is not None for r in result.reps)
    tilted = any(r.bar_tilt_deg is not None for r in result.reps)
    cols = list(_REP_COLUMNS)
    right: _Justify = "right"
    extra = [("side/twist", right)] * sided + [("bar tilt °", right)] * tilted
    cols[-2:-2] = extra  # before quality and flags
    for col, just in cols:
        t.add_column(col, justify=just)
    for r in result.reps:
        mv = _num(r.mean_velocity_mps)
        if r.quality_grade == "fair" and r.mean_velocity_uncertainty_mps is not None and mv != "–":
            mv += f" ±{r.mean_velocity_uncertainty_mps:.2f}"
        side = [f"{sided_deg(r.peak_side_bend_deg)} / {sided_deg(r.peak_twist_deg)}"] * sided
        tilt = [_num(r.bar_tilt_deg, 1)] * tilted
        t.add_row(str(r.set), str(r.rep), mv, _num(r.peak_velocity_mps), _num(r.rom_m),
                  _num(r.velocity_loss_pct, 0), _num(r.peak_lumbar_flexion_deg, 1), _num(r.peak_trunk_inclination_deg, 1),
                  *side, *tilt, r.quality_grade, ", ".join(r.flag_names) or "ok")
    console.print(t)
    for r in result.reps:
        if r.quality_grade == "poor":
            console.print(f"  set {r.set} rep {r.rep}: {'; '.join(r.quality)}", highlight=False)
    for r in result.reps:
        for fl in r.flags:
            console.print(f"  set {r.set} rep {r.rep} [bold]{fl.name}[/bold]: {fl.explanation} Cue: {fl.cue}",
                          highlight=False)
    wu = warm_up_text(result)
    if wu:
        style = "bold yellow" if result.warm_up is not None and result.warm_up.warned else ""
        console.print(f"  [{style}]warm-up[/{style}]: {wu}" if style else f"  warm-up: {wu}", highlight=False)


def print_history(h: dict, file: TextIO | None = None) -> None:
    """Sessions, load-velocity profiles and pain patterns from `barback.history.trends.history`."""
    out = file or sys.stdout
    print(f"{'id':>4} {'date':<11} {'athlete':<14} {'exercise':<18} {'reps':>4} {'best MV':>8} {'flex °':>7} "
          f"{'flags/rep':>9}", file=out)
    for s in h["sessions"]:
        fl = _num(s["mean_peak_lumbar_flexion_deg"], 1)
        mv = _num(s["best_mean_velocity_mps"])
        print(f"{s['id']:>4} {s['date']:<11} {(s['athlete'] or '–'):<14} {s['exercise']:<18} {s['n_reps']:>4} "
              f"{mv:>8} {fl:>7} {s['flags_per_rep']:>9.2f}", file=out)
    for p in h["load_velocity"]:
        e1 = f"{p['e1rm_kg']:.0f} kg" if p["e1rm_kg"] is not None else (
            f"withheld: {p['e1rm_withheld']}" if p.get("e1rm_withheld") else "–")
        print(f"\n{p['athlete'] or ''} {p['exercise']}: load-velocity slope {p['slope_mps_per_kg'] * 100:.2f} m/s per "
              f"100 kg, R² {p['r2']:.2f}, estimated 1RM {e1} (at {p['mvt_mps']:.2f} m/s)", file=out)
    for sc in h.get("screens", []):
        share = "" if sc["hip_share"] is None else f", {100 * sc['hip_share']:.0f} % from the hips"
        print(f"{sc['athlete']} hip-hinge screen {sc['date']}: {'pass' if sc['passed'] else 'FAIL'}{share}", file=out)
    for c in h.get("load_ceiling", []):
        who = f"{c['athlete'] or ''} {c['exercise']}".strip()
        if c["ceiling_kg"] is None:
            print(f"{who}: load ceiling withheld: {c['withheld']}", file=out)
        else:
            rng = "" if c["low_kg"] is None else f" (range {c['low_kg']:.0f}-{c['high_kg']:.0f} kg)"
            pct = "" if c["pct_e1rm"] is None else f", {c['pct_e1rm']:.0f} % of the e1RM"
            print(f"{who}: load ceiling {c['ceiling_kg']:.0f} kg{rng}{pct}: above it {100 * c['fault_share']:.0f} % "
                  f"or more of the reps round or lead with the hips ({c['n_sessions']} sessions, {c['n_reps']} reps)",
                  file=out)
    for line in h["pain"]["patterns"]:
        print(f"pattern: {line}", file=out)
    if h["pain"]["sessions_with_pain_scores"]:
        print(h["pain"]["caution"], file=out)
