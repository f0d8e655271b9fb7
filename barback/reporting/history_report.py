"""The history report: trends over sessions as a self-contained HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from barback.history.trends import CAUTION
from barback.reporting.report import Figure, _mpl, figure_html, page


def _figs(h: dict) -> list[Figure]:
    plt = _mpl()
    figs = []
    if h["load_velocity"]:
        fig, ax = plt.subplots(figsize=(7, 4))
        for p in h["load_velocity"]:
            x = np.linspace(0, (p["e1rm_kg"] or 200) * 1.05, 50)
            ax.plot(x, p["intercept_mps"] + p["slope_mps_per_kg"] * x,
                    label=f"{p['athlete'] or ''} {p['exercise'].replace('_', ' ')}: e1RM "
                          f"{p['e1rm_kg']:.0f} kg" if p["e1rm_kg"] else p["exercise"])
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
        ax.barh([n.replace("_", " ") for n in names], [h["flag_totals"][n] for n in names], color="#d62728")
        ax.set_xlabel("reps flagged (all sessions)")
        figs.append(Figure("flags", "Flag frequency", fig))
    else:
        figs.append(Figure("flags", "Flag frequency", None, "No flags raised."))
    for item in h["velocity_at_load"][:1]:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.plot([s["date"] for s in item["sessions"]], [s["mean_velocity_mps"] for s in item["sessions"]], "o-")
        ax.set_ylabel("best mean velocity (m/s)")
        ax.set_xlabel("session date")
        fig.autofmt_xdate()
        figs.append(Figure("at_load", f"Velocity at {item['load_kg']:g} kg ({item['exercise'].replace('_', ' ')}) over time", fig))
    return figs


def render_history_html(h: dict) -> str:
    e = html.escape
    figs = _figs(h)
    out = ["<h1>barback training history</h1>", "<h2>Sessions</h2><table><tr><th>date</th><th class='l'>athlete</th>"
           "<th class='l'>exercise</th><th>reps</th><th>best MV (m/s)</th><th>lumbar flexion (°)</th><th>flags/rep</th></tr>"]
    for s in h["sessions"]:
        fl = "–" if s["mean_peak_lumbar_flexion_deg"] is None else f"{s['mean_peak_lumbar_flexion_deg']:.1f}"
        mv = "–" if s["best_mean_velocity_mps"] is None else f"{s['best_mean_velocity_mps']:.2f}"
        out.append(f"<tr><td>{e(s['date'])}</td><td class='l'>{e(s['athlete'] or '')}</td><td class='l'>{e(s['exercise'])}</td>"
                   f"<td>{s['n_reps']}</td><td>{mv}</td><td>{fl}</td><td>{s['flags_per_rep']:.2f}</td></tr>")
    out.append("</table><h2>Trends</h2>")
    for f in figs:
        out.append(figure_html(f))
        f.close()
    pain = h["pain"]
    out.append("<h2>Pain journal and what the sensors saw</h2>")
    out.append(f"<p>{pain['sessions_with_pain_scores']} session(s) with pain scores.</p>")
    if pain.get("note"):
        out.append(f"<p class='note'>{e(pain['note'])}</p>")
    for p in pain["patterns"]:
        out.append(f"<div class='warn'>{e(p)}</div>")
    return page("barback history", out, CAUTION)


def write_history_report(h: dict, path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_history_html(h))
    return p
