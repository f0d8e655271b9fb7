"""The history report: trends over sessions as a self-contained HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from barback.analysis.flags import flag_label
from barback.history.trends import CAUTION
from barback.reporting.report import Figure, _mpl, figure_html, page


def _figs(h: dict) -> list[Figure]:
    plt = _mpl()
    figs = []
    if h["load_velocity"]:
        fig, ax = plt.subplots(figsize=(7, 4))
        for p in h["load_velocity"]:
            pts = np.asarray(p.get("points") or [], float).reshape(-1, 2)
            top = max(p["e1rm_kg"] or 0.0, float(pts[:, 0].max()) if len(pts) else 0.0) or 200.0
            x = np.linspace(0, top * 1.05, 50)
            name = f"{p['athlete'] or ''} {p['exercise'].replace('_', ' ')}".strip()
            line = ax.plot(x, p["intercept_mps"] + p["slope_mps_per_kg"] * x,
                           label=f"{name}: e1RM {p['e1rm_kg']:.0f} kg" if p["e1rm_kg"] else
                           f"{name}: e1RM withheld ({p.get('e1rm_withheld') or 'no fit'})")[0]
            if len(pts):  # the sets themselves, so the reader sees how well the line fits them
                ax.plot(pts[:, 0], pts[:, 1], "o", color=line.get_color(), ms=5, label=f"{name}: sets (R² {p['r2']:.2f})")
            ax.axhline(p["mvt_mps"], color="grey", ls=":", lw=1)
        ax.set_xlabel("load (kg)")
        ax.set_ylabel("best mean velocity of the set (m/s)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        figs.append(Figure("lv", "Load-velocity profile and estimated 1RM (dotted: velocity at 1RM)", fig))
    else:
        figs.append(Figure("lv", "Load-velocity profile", None,
                           "Needs at least three sets with loads (loads_kg in session.json) at two or more loads."))
    sess = h["sessions"]
    flex = [(s["date"], s["mean_peak_lumbar_flexion_deg"]) for s in sess if s["mean_peak_lumbar_flexion_deg"] is not None]
    if flex:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.plot([d for d, _ in flex], [v for _, v in flex], "o-")
        ax.set_ylabel("mean peak lumbar flexion (°)")
        ax.set_xlabel("session date")
        fig.autofmt_xdate()
        figs.append(Figure("flexion_trend", "Lumbar flexion per session", fig))
    else:
        figs.append(Figure("flexion_trend", "Lumbar flexion per session", None, "No sessions with two lumbar sensors."))
    if h["flag_totals"]:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        names = sorted(h["flag_totals"])
        ax.barh([flag_label(n) for n in names], [h["flag_totals"][n] for n in names], color="#d62728")
        ax.set_xlabel("reps flagged (all sessions)")
        figs.append(Figure("flags", "Flag frequency", fig))
    else:
        figs.append(Figure("flags", "Flag frequency", None, "No flags raised."))
    for item in h["velocity_at_load"][:1]:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        vs = [s["mean_velocity_mps"] for s in item["sessions"]]
        ax.plot([s["date"] for s in item["sessions"]], vs, "o-")
        # at least 0.2 m/s of axis: a wobble of a few mm/s must not look like a cliff
        mid = 0.5 * (max(vs) + min(vs))
        half = max(0.1, 0.6 * (max(vs) - min(vs)))
        ax.set_ylim(max(0.0, mid - half), mid + half)
        ax.set_ylabel("best mean velocity (m/s)")
        ax.set_xlabel("session date")
        fig.autofmt_xdate()
        figs.append(Figure("at_load", f"Velocity at {item['load_kg']:g} kg ({item['exercise'].replace('_', ' ')}) over time", fig))
    return figs


def render_history_html(h: dict) -> str:
    e = html.escape
    figs = _figs(h)
    out = ["<h1>barback training history</h1>", "<h2>Sessions</h2><table><tr><th>date</th><th class='l'>athlete</th>"
           "<th class='l'>exercise</th><th>reps</th><th>best MV (m/s)</th><th>lumbar flexion (°)</th><th>flags/rep</th>"
           "<th>warm-up</th></tr>"]
    for s in h["sessions"]:
        fl = "–" if s["mean_peak_lumbar_flexion_deg"] is None else f"{s['mean_peak_lumbar_flexion_deg']:.1f}"
        mv = "–" if s["best_mean_velocity_mps"] is None else f"{s['best_mean_velocity_mps']:.2f}"
        out.append(f"<tr><td>{e(s['date'])}</td><td class='l'>{e(s['athlete'] or '')}</td><td class='l'>{e(s['exercise'])}</td>"
                   f"<td>{s['n_reps']}</td><td>{mv}</td><td>{fl}</td><td>{s['flags_per_rep']:.2f}</td>"
                   f"<td class='{'flag' if s.get('warm_up') == 'missed' else ''}'>{s.get('warm_up') or '–'}</td></tr>")
    out.append("</table><h2>Trends</h2>")
    for f in figs:
        out.append(figure_html(f))
        f.close()
    if h.get("screens"):
        out.append("<h2>Hip-hinge screens</h2><table id='screens'><tr><th>date</th><th class='l'>athlete</th>"
                   "<th>verdict</th><th>hinges</th><th>from the hips</th><th>lumbar flexion, max (°)</th>"
                   "<th>safe range (°)</th><th class='l'>why, and the cue</th></tr>")
        for sc in h["screens"]:
            share = "–" if sc["hip_share"] is None else f"{100 * sc['hip_share']:.0f} %"
            flex = "–" if sc["max_lumbar_flexion_deg"] is None else f"{sc['max_lumbar_flexion_deg']:.0f}"
            limit = "–" if sc["flexion_limit_deg"] is None else f"{sc['flexion_limit_deg']:.0f}"
            why = " ".join([*sc["reasons"], *(f"Cue: {c}" for c in sc["cues"])]) or "–"
            out.append(f"<tr><td>{e(sc['date'])}</td><td class='l'>{e(sc['athlete'] or '')}</td>"
                       f"<td class='{'ok' if sc['passed'] else 'flag'}'>{'pass' if sc['passed'] else 'fail'}</td>"
                       f"<td>{sc['hinges']}</td><td>{share}</td><td>{flex}</td><td>{limit}</td>"
                       f"<td class='l'>{e(why)}</td></tr>")
        out.append("</table>")
    if h.get("load_ceiling"):
        out.append("<h2>Load ceiling</h2><p>The load above which a share of the reps round the back or lead "
                   "with the hips, from this history; its range over the sessions resampled.</p>"
                   "<table id='load-ceiling'><tr><th class='l'>athlete</th><th class='l'>exercise</th><th>ceiling (kg)</th>"
                   "<th>range (kg)</th><th>% of e1RM</th><th>share</th><th>sessions</th><th>reps</th></tr>")
        for c in h["load_ceiling"]:
            if c["ceiling_kg"] is None:
                cells = f"<td colspan='4' class='l'>{e(c['withheld'] or '–')}</td>"
            else:
                rng = "–" if c["low_kg"] is None else f"{c['low_kg']:.0f}-{c['high_kg']:.0f}"
                pct = "–" if c["pct_e1rm"] is None else f"{c['pct_e1rm']:.0f}"
                cells = (f"<td>{c['ceiling_kg']:.0f}</td><td>{rng}</td><td>{pct}</td>"
                         f"<td>{100 * c['fault_share']:.0f} %</td>")
            out.append(f"<tr><td class='l'>{e(c['athlete'] or '')}</td><td class='l'>{e(c['exercise'])}</td>{cells}"
                       f"<td>{c['n_sessions']}</td><td>{c['n_reps']}</td></tr>")
        out.append("</table>")
    pain = h["pain"]
    out.append("<h2>Pain journal and what the sensors saw</h2>")
    out.append(f"<p>{pain['sessions_with_pain_scores']} session(s) with pain scores.</p>")
    if pain.get("note"):
        out.append(f"<p class='note'>{e(pain['note'])}</p>")
    for p in pain["patterns"]:
        out.append(f"<div class='warn'>{e(p)}</div>")
    if pain.get("metrics"):  # every relation computed, not only those that stand out
        out.append("<table><tr><th class='l'>measure</th><th class='l'>pain</th><th>Spearman rho</th><th>p</th>"
                   "<th>n</th><th>mean when painful</th><th>mean otherwise</th></tr>")
        for metric, by_when in pain["metrics"].items():
            for when, r in by_when.items():
                def num(v, d=2):
                    return "–" if v is None else f"{v:.{d}f}"
                out.append(f"<tr><td class='l'>{e(metric.replace('_', ' '))}</td><td class='l'>{e(when.replace('_', ' '))}"
                           f"</td><td>{num(r['spearman_rho'])}</td><td>{num(r['p_value'], 3)}</td><td>{r['n']}</td>"
                           f"<td>{num(r['mean_when_painful'], 1)}</td><td>{num(r['mean_when_not'], 1)}</td></tr>")
        out.append("</table>")
    return page("barback history", out, CAUTION)


def write_history_report(h: dict, path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_history_html(h))
    return p
