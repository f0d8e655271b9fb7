"""Post-session report: a self-contained HTML page (figures embedded as PNG data URIs).

Figures: mean velocity per rep per set (coloured by flags, velocity-loss threshold drawn), lumbar
flexion over each rep (time-normalised, threshold band, standing neutral), trunk inclination
against bar height, and the bar path in the sagittal plane. Missing sensors give a note, never an
empty axis.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from barback.analysis.config import Thresholds, load_thresholds
from barback.analysis.flags import flag_label
from barback.analysis.results import SessionResult, mean_power_w, sided_deg
from barback.reporting.table import warm_up_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

FLAG_COLOURS = {
    "lumbar_flexion": "#d62728", "lumbar_flexion_drift": "#e377c2", "hips_rise_early": "#ff7f0e",
    "lockout_hyperextension": "#9467bd", "bar_drift": "#8c564b", "velocity_loss": "#bcbd22",
    "side_bend": "#17becf", "twist": "#1f77b4", "bar_tilt": "#7f7f7f",
}
OK_COLOUR = "#2ca02c"


@dataclass
class Figure:
    """One report figure: a matplotlib figure, or a note saying why there is none."""

    name: str
    title: str
    fig: MplFigure | None
    note: str = ""
    _png: bytes | None = None

    @property
    def png(self) -> bytes | None:
        if self.fig is None:
            return None
        if self._png is None:
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png", bbox_inches="tight")
            self._png = buf.getvalue()
        return self._png

    def close(self) -> None:
        if self.fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self.fig)


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11, "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 110})
    return plt


def fig_velocity(result: SessionResult, th: Thresholds) -> Figure:
    title = "Mean concentric velocity per rep"
    if not result.reps:
        return Figure("velocity", title, None, "No reps were found, so there is no velocity to show.")
    plt = _mpl()
    sets = [s.set for s in result.sets]
    fig, axes = plt.subplots(1, len(sets), figsize=(max(6.0, 3.2 * len(sets)), 3.8), sharey=True, squeeze=False)
    vl = th.velocity_loss.threshold_pct / 100
    for ax, s in zip(axes[0], result.sets):
        reps = [r for r in result.reps if r.set == s.set]
        x = [r.rep for r in reps]
        mv = [r.mean_velocity_mps for r in reps]
        colours = [FLAG_COLOURS[r.flags[0].name] if r.flags else OK_COLOUR for r in reps]
        ax.bar(x, mv, color=colours, edgecolor="black", linewidth=0.5)
        ax.axhline(s.best_mean_velocity_mps * (1 - vl), color="k", ls="--", lw=1,
                   label=f"{th.velocity_loss.threshold_pct:.0f} % velocity loss")
        ax.set_title(f"Set {s.set}" + (f" · {s.load_kg:g} kg" if s.load_kg else ""))
        ax.set_xlabel("rep")
        ax.set_xticks(x)
    axes[0][0].set_ylabel("mean velocity (m/s)")
    from matplotlib.patches import Patch

    shown = sorted({r.flags[0].name for r in result.reps if r.flags})
    handles = [axes[0][0].get_legend_handles_labels()[0][0], Patch(color=OK_COLOUR, label="no flag")]
    handles += [Patch(color=FLAG_COLOURS[f], label=f.replace("_", " ")) for f in shown]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=9,
               bbox_to_anchor=(0.5, -0.17 if len(handles) > 4 else -0.1))
    return Figure("velocity", title, fig)


def _rep_windows(result: SessionResult):
    for r in result.reps:
        yield r, r.concentric_start_s, r.concentric_end_s


def fig_flexion(result: SessionResult, th: Thresholds) -> Figure:
    title = "Lumbar flexion during each pull (time-normalised)"
    ser = result.series
    if not result.has_lumbar_flexion or ser is None or ser.lumbar_flexion_deg is None:
        why = ("Lumbar flexion needs two lumbar sensors (upper at T12/L1 and lower at S1/S2); "
               "this session has " + ("one." if result.has_trunk_inclination else "none."))
        return Figure("flexion", title, None, why)
    if not result.reps:
        return Figure("flexion", title, None, "No reps were found.")
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    lim = th.exercise[result.exercise].lumbar_flexion_peak_deg
    ax.axhspan(lim, max(lim + 20, 70), color="#d62728", alpha=0.12, label=f"above {lim:g}° (flag)")
    ax.axhline(0, color="k", lw=1, label="standing neutral")
    cmap = plt.get_cmap("viridis")
    n = len(result.reps)
    few = n <= 8
    for k, (r, t0, t1) in enumerate(_rep_windows(result)):
        tt = np.linspace(t0, t1, 101)
        y = np.interp(tt, ser.t_s, ser.lumbar_flexion_deg)
        rounding = any(f.name in ("lumbar_flexion", "lumbar_flexion_drift") for f in r.flags)
        # a flagged rep stands out in red and is named; the others are coloured by their order
        ax.plot(np.linspace(0, 100, 101), y, color="#d62728" if rounding else cmap(k / max(n - 1, 1)),
                lw=2.2 if rounding else 1.2, zorder=3 if rounding else 2,
                label=f"set {r.set} rep {r.rep}" + (" (rounding)" if rounding else "") if few or rounding else None)
    if not few:  # too many reps for a legend: the colour says which came when
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        bar = fig.colorbar(ScalarMappable(Normalize(1, n), cmap), ax=ax, pad=0.02)
        bar.set_label("rep, in the order lifted")
    ax.set_xlabel("concentric phase (% of duration)")
    ax.set_ylabel("lumbar flexion (°)")
    ax.legend(fontsize=8, ncol=2, loc="upper right")
    return Figure("flexion", title, fig)


def fig_hinge(result: SessionResult, th: Thresholds) -> Figure:
    title = "Trunk inclination against bar height (hips rising first shows as a hook at the bottom)"
    ser = result.series
    if not result.has_trunk_inclination or ser is None or ser.bar is None:
        return Figure("hinge", title, None, "Needs a bar sensor and at least one lumbar sensor.")
    if not result.reps:
        return Figure("hinge", title, None, "No reps were found.")
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    bar = ser.bar
    for r, t0, t1 in _rep_windows(result):
        tt = np.linspace(t0, t1, 101)
        z = np.interp(tt, bar.t_s, bar.pos_z_wf_m)
        inc = np.interp(tt, ser.t_s, ser.trunk_inclination_deg)
        flagged = "hips_rise_early" in r.flag_names
        ax.plot(z - z[0], inc, color=FLAG_COLOURS["hips_rise_early"] if flagged else "#1f77b4",
                lw=2.0 if flagged else 1.0, alpha=0.9)
    ax.set_xlabel("bar height above the start of the pull (m)")
    ax.set_ylabel("trunk inclination (°, forward +)")
    ax.plot([], [], color=FLAG_COLOURS["hips_rise_early"], lw=2, label="hips rose early")
    ax.plot([], [], color="#1f77b4", lw=1, label="sound pull")
    ax.legend(fontsize=9)
    return Figure("hinge", title, fig)


def fig_bar_path(result: SessionResult, th: Thresholds) -> Figure:
    title = "Bar path in the sagittal plane (relative to the straight line from start to lockout)"
    ser = result.series
    if ser is None or not ser.bar_paths or not result.reps:
        return Figure("bar_path", title, None, "No bar paths (no bar sensor or no reps).")
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(4.5, 5.0))
    lim = th.bar_drift.max_m * 100
    ax.axvspan(-lim, lim, color=OK_COLOUR, alpha=0.08, label=f"within {lim:.0f} cm")
    for r in result.reps:
        p = ser.bar_paths.get((r.set, r.rep))
        if p is None:
            continue
        flagged = "bar_drift" in r.flag_names
        ax.plot(p[:, 0] * 100, p[:, 1] * 100, color=FLAG_COLOURS["bar_drift"] if flagged else "#1f77b4",
                lw=2.0 if flagged else 1.0)
    ax.set_xlabel("horizontal deviation (cm)")
    ax.set_ylabel("bar height (cm)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=9, loc="lower right")
    return Figure("bar_path", title, fig)


def build_figures(result: SessionResult, th: Thresholds) -> list[Figure]:
    return [f(result, th) for f in (fig_velocity, fig_flexion, fig_hinge, fig_bar_path)]


def _fmt(v, nd=2):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return f"{v:.{nd}f}"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;margin:auto;padding:12px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:0.9em}th,td{border:1px solid #ddd;padding:4px 6px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.flag{color:#b00;font-weight:600}.note{color:#666;font-style:italic}
img{max-width:100%;height:auto}
.fig{overflow-x:auto}.fig img{min-width:600px}
@media print{body{max-width:none}h2{break-after:avoid}img{break-inside:avoid}tr{break-inside:avoid}}
.warn{background:#fff7e0;border-left:4px solid #e0a000;padding:6px 10px;margin:4px 0}
.summary td{text-align:left}
"""


def page(title: str, body: list[str], note: str) -> str:
    """The one page shell of barback's HTML reports (session and history): head, style, the
    body's parts, and a closing note."""
    e = html.escape
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>")
    return "\n".join([head, *body, f"<p class='note'>{e(note)}</p></body></html>"])


def figure_html(fg: Figure) -> str:
    """A figure as an embedded PNG, or the note that says why it is not drawn."""
    e = html.escape
    if fg.png:
        b64 = base64.b64encode(fg.png).decode()
        # on a phone the figure keeps 600 px (labels of 8 px or more) and scrolls sideways
        return (f"<h3>{e(fg.title)}</h3>\n<div class='fig'><img id='fig-{fg.name}' alt='{e(fg.title)}' "
                f"src='data:image/png;base64,{b64}'></div>")
    return f"<h3>{e(fg.title)}</h3>\n<p class='note' id='note-{fg.name}'>{e(fg.note)}</p>"


def render_html(result: SessionResult, th: Thresholds | None = None, figs: list[Figure] | None = None) -> str:
    """The report's HTML. Figures built here (no `figs` given) are closed when it is done; the
    caller's stay open for its other uses."""
    th = th or load_thresholds()
    if figs is not None:
        return _render_html(result, th, figs)
    figs = build_figures(result, th)
    try:
        return _render_html(result, th, figs)
    finally:
        for f in figs:
            f.close()


def _render_html(result: SessionResult, th: Thresholds, figs: list[Figure]) -> str:
    e = html.escape
    out = [f"<h1>barback session report: {e(result.exercise.replace('_', ' '))}</h1>"]
    counts = result.flag_counts
    out.append("<h2>Summary</h2><table class='summary'>")
    if result.athlete:
        out.append(f"<tr><th class='l'>athlete</th><td>{e(result.athlete)}</td></tr>")
    if result.date:
        out.append(f"<tr><th class='l'>date</th><td>{e(result.date)}</td></tr>")
    loads = [f"set {s.set}: {s.load_kg:g} kg" for s in result.sets if s.load_kg]
    if loads:
        out.append(f"<tr><th class='l'>loads</th><td>{e(', '.join(loads))}</td></tr>")
    out.append(f"<tr><th class='l'>source</th><td>{e(result.source)}</td></tr>")
    out.append(f"<tr><th class='l'>sets / reps</th><td>{len(result.sets)} / {len(result.reps)}</td></tr>")
    out.append("<tr><th class='l'>sensors</th><td>" + ", ".join(
        f"{e(s.role)} ({s.fs_hz:.0f} Hz)" for s in result.sensors) + "</td></tr>")
    out.append("<tr><th class='l'>flags</th><td>" + (", ".join(f"{e(flag_label(k))}: {v}" for k, v in sorted(counts.items()))
                                                    or "none") + "</td></tr>")
    grades = [r.quality_grade for r in result.reps]
    out.append(f"<tr><th class='l'>data quality</th><td id='session-grade'>{e(result.quality_grade)}"
               + (f" ({grades.count('good')} good, {grades.count('fair')} fair, {grades.count('poor')} poor "
                  "reps; a poor rep is counted but its numbers are withheld)" if grades else "") + "</td></tr>")
    out.append(f"<tr><th class='l'>thresholds</th><td>version {e(result.thresholds_version)}</td></tr></table>")
    if result.sets:
        wu = result.warm_up
        flex = wu.flexion_by_set if wu is not None else {}
        out.append("<h2>Sets</h2><table><tr><th>set</th><th>reps</th><th>load (kg)</th><th>best MV (m/s)</th>"
                   "<th>mean MV (m/s)</th><th>mean power (W)</th><th>velocity loss, last rep (%)</th>"
                   + ("<th>peak lumbar flexion (°)</th>" if flex else "") + "<th class='l'>warm-up</th></tr>")
        for s in result.sets:
            role = ("first heavy set" if wu is not None and s.set == wu.heavy_set
                    else "warm-up" if wu is not None and s.set in wu.lighter_sets_before else "")
            out.append(f"<tr><td>{s.set}</td><td>{s.n_reps}</td><td>{_fmt(s.load_kg, 1)}</td>"
                       f"<td>{_fmt(s.best_mean_velocity_mps)}</td><td>{_fmt(s.mean_of_mean_velocity_mps)}</td>"
                       f"<td>{_fmt(mean_power_w(s.load_kg, s.mean_of_mean_velocity_mps), 0)}</td>"
                       f"<td>{_fmt(s.last_rep_velocity_loss_pct, 0)}</td>"
                       + (f"<td>{_fmt(flex.get(s.set), 0)}</td>" if flex else "") + f"<td class='l'>{role}</td></tr>")
        out.append("</table>")
        text = warm_up_text(result)
        if text:
            cls = "flag" if wu is not None and wu.warned else "ok"
            out.append(f"<p id='warm-up' class='{cls}'><b>Warm-up.</b> {e(text)}</p>")
    out.append("<h2>Figures</h2>")
    out += [figure_html(fg) for fg in figs]
    sided = any(r.peak_side_bend_deg is not None for r in result.reps)
    tilted = any(r.bar_tilt_deg is not None for r in result.reps)
    out.append("<h2>Every rep</h2><table><tr><th>set</th><th>rep</th><th>MV (m/s)</th><th>PV (m/s)</th>"
               "<th>ROM (m)</th><th>VL (%)</th><th>lumbar flexion (°)</th><th>trunk incl. (°)</th>"
               + "<th>side bend</th><th>trunk twist</th>" * sided + "<th>bar tilt (°)</th>" * tilted +
               "<th>bar drift (cm)</th><th class='l'>quality</th><th class='l'>flags</th></tr>")
    for r in result.reps:
        flags = "<br>".join(f"<span class='flag'>{e(flag_label(f.name))}</span>: {e(f.explanation)} <i>Cue: {e(f.cue)}</i>"
                            for f in r.flags) or "–"
        drift = None if r.bar_drift_m is None else r.bar_drift_m * 100
        unc = r.mean_velocity_uncertainty_mps
        mv = _fmt(r.mean_velocity_mps) + (f" ± {unc:.2f}" if unc is not None and np.isfinite(r.mean_velocity_mps)
                                          and r.quality_grade != "good" else "")
        quality = e(r.quality_grade) + "".join(f"<br><small>{e(q)}</small>" for q in r.quality)
        out.append(f"<tr class='rep'><td>{r.set}</td><td>{r.rep}</td><td>{mv}</td>"
                   f"<td>{_fmt(r.peak_velocity_mps)}</td><td>{_fmt(r.rom_m)}</td><td>{_fmt(r.velocity_loss_pct, 0)}</td>"
                   f"<td>{_fmt(r.peak_lumbar_flexion_deg, 1)}</td><td>{_fmt(r.peak_trunk_inclination_deg, 1)}</td>"
                   + (f"<td>{sided_deg(r.peak_side_bend_deg)}</td><td>{sided_deg(r.peak_twist_deg)}</td>" if sided else "")
                   + (f"<td>{_fmt(r.bar_tilt_deg, 1)}</td>" if tilted else "") +
                   f"<td>{_fmt(drift, 1)}</td><td class='l quality'>{quality}</td><td class='l'>{flags}</td></tr>")
    out.append("</table>")
    if result.warnings:  # for whoever wants to know how the data came in: after the results, folded
        out.append(f"<h2>Data quality</h2><details><summary>{len(result.warnings)} note(s) on the data "
                   f"(gaps, repeated rows, re-timed stamps)</summary>")
        out += [f"<div class='warn'>{e(w)}</div>" for w in result.warnings]
        out.append("</details>")
    return page(f"barback report – {result.exercise}", out, "Made by barback. Flags are coaching aids, not a diagnosis.")


def write_report(result: SessionResult, path: str | Path, th: Thresholds | None = None,
                 png_dir: str | Path | None = None, pdf: str | Path | None = None) -> Path:
    """Write the HTML report, and optionally one PNG per figure and a PDF of the whole report."""
    th = th or load_thresholds()
    figs = build_figures(result, th)
    try:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(render_html(result, th, figs))
        if png_dir is not None:
            d = Path(png_dir)
            d.mkdir(parents=True, exist_ok=True)
            for f in figs:
                if f.png:
                    (d / f"{f.name}.png").write_bytes(f.png)
        if pdf is not None:
            write_pdf(result, figs, pdf, th)
    finally:
        for f in figs:
            f.close()
    return p


def _summary_lines(result: SessionResult) -> list[str]:
    counts = result.flag_counts
    lines = [f"Exercise: {result.exercise.replace('_', ' ')}",
             f"Sets / reps: {len(result.sets)} / {len(result.reps)}",
             "Sensors: " + ", ".join(f"{s.role} ({s.fs_hz:.0f} Hz)" for s in result.sensors),
             "Flags: " + (", ".join(f"{flag_label(k)} {v}" for k, v in sorted(counts.items())) or "none")]
    for s in result.sets:
        load = f", {s.load_kg:g} kg" if s.load_kg else ""
        lines.append(f"Set {s.set}{load}: {s.n_reps} reps, best {s.best_mean_velocity_mps:.2f} m/s, "
                     f"mean {s.mean_of_mean_velocity_mps:.2f} m/s, velocity loss {s.last_rep_velocity_loss_pct:.0f} %")
    return lines


def write_pdf(result: SessionResult, figs: list[Figure], path: str | Path, th: Thresholds) -> Path:
    """The report as a PDF: a summary page, one page per figure, then the rep table."""
    plt = _mpl()
    import textwrap

    from matplotlib.backends.backend_pdf import PdfPages

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with PdfPages(p) as pdf:
        page = plt.figure(figsize=(8.27, 11.69))
        page.text(0.07, 0.95, f"barback session report: {result.exercise.replace('_', ' ')}", fontsize=16, weight="bold")
        y = 0.91
        for line in _summary_lines(result):
            page.text(0.07, y, line, fontsize=10)
            y -= 0.025
        if result.warnings:
            y -= 0.01
            page.text(0.07, y, "Data quality", fontsize=12, weight="bold")
            y -= 0.025
            for w in result.warnings[:20]:
                for part in textwrap.wrap(w, 110):
                    page.text(0.07, y, part, fontsize=8)
                    y -= 0.018
        for f in figs:
            if f.fig is None:
                y -= 0.01
                for part in textwrap.wrap(f"{f.title}: {f.note}", 110):
                    page.text(0.07, y, part, fontsize=8, style="italic")
                    y -= 0.018
        pdf.savefig(page)
        plt.close(page)
        # the figures two to an A4 page, each across the page's width (drawn at 200 dpi)
        drawn = [f for f in figs if f.fig is not None]
        for k in range(0, len(drawn), 2):
            page = plt.figure(figsize=(8.27, 11.69))
            for j, f in enumerate(drawn[k:k + 2]):
                assert f.fig is not None
                buf = io.BytesIO()
                f.fig.savefig(buf, format="png", dpi=200, bbox_inches="tight")
                buf.seek(0)
                img = plt.imread(buf)
                top = 0.95 - 0.47 * j
                page.text(0.06, top, f.title, fontsize=11, weight="bold")
                h = min(0.42, 0.88 * img.shape[0] / img.shape[1] * 8.27 / 11.69)
                ax = page.add_axes([0.06, top - 0.015 - h, 0.88, h])
                ax.imshow(img)
                ax.axis("off")
            pdf.savefig(page)
            plt.close(page)
        _pdf_rep_table(pdf, plt, result)
        _pdf_flag_notes(pdf, plt, textwrap, result)
    return p


def _pdf_rep_table(pdf, plt, result: SessionResult) -> None:
    """The rep table, 30 rows an A4 page; the flags in words, one to a line, inside their cell."""
    rows = [[str(r.set), str(r.rep), _fmt(r.mean_velocity_mps), _fmt(r.peak_velocity_mps), _fmt(r.rom_m),
             _fmt(r.velocity_loss_pct, 0), _fmt(r.peak_lumbar_flexion_deg, 1), _fmt(r.peak_trunk_inclination_deg, 1),
             f"{sided_deg(r.peak_side_bend_deg)} / {sided_deg(r.peak_twist_deg)}", _fmt(r.bar_tilt_deg, 1),
             r.quality_grade, "\n".join(flag_label(n) for n in r.flag_names) or "–"] for r in result.reps]
    cols = ["set", "rep", "MV m/s", "PV m/s", "ROM m", "VL %", "flex °", "incl °", "side/twist", "tilt °", "data", "flags"]
    widths = [0.04, 0.04, 0.07, 0.07, 0.07, 0.06, 0.07, 0.07, 0.1, 0.06, 0.06, 0.22]
    for start in range(0, max(len(rows), 1), 30):
        page = plt.figure(figsize=(8.27, 11.69))
        ax = page.add_axes([0.04, 0.04, 0.92, 0.92])
        ax.axis("off")
        chunk = rows[start:start + 30] or [["–"] * len(cols)]
        tab = ax.table(cellText=chunk, colLabels=cols, colWidths=widths, loc="upper center", cellLoc="center")
        tab.auto_set_font_size(False)
        tab.set_fontsize(7)
        base = 0.025
        for (i, j), cell in tab.get_celld().items():
            lines = 1 if i == 0 else max(1, chunk[i - 1][-1].count("\n") + 1)
            cell.set_height(base * lines)
            if j == len(cols) - 1:
                cell.set_text_props(ha="left")
                cell.PAD = 0.03
        pdf.savefig(page)
        plt.close(page)


def _pdf_flag_notes(pdf, plt, textwrap, result: SessionResult) -> None:
    """Every flag's explanation and cue, rep by rep: what the table's words mean."""
    notes = [(f"Set {r.set} rep {r.rep}: {flag_label(f.name)}", f"{f.explanation} Cue: {f.cue}")
             for r in result.reps for f in r.flags]
    if not notes:
        return
    page, y = None, 0.0
    for head, text in notes:
        body = textwrap.wrap(text, 105)
        if page is None or y - 0.02 * (len(body) + 2) < 0.05:
            if page is not None:
                pdf.savefig(page)
                plt.close(page)
            page = plt.figure(figsize=(8.27, 11.69))
            page.text(0.07, 0.95, "What the flags mean, rep by rep", fontsize=13, weight="bold")
            y = 0.92
        page.text(0.07, y, head, fontsize=9, weight="bold")
        y -= 0.02
        for part in body:
            page.text(0.09, y, part, fontsize=8)
            y -= 0.017
        y -= 0.01
    pdf.savefig(page)
    plt.close(page)


def write_series_csv(result: SessionResult, path: str | Path) -> Path:
    """Time series on the bar's clock: height, vertical velocity, trunk inclination, flexion."""
    ser = result.series
    p = Path(path)
    cols, names = [], []
    if ser is not None and ser.bar is not None:
        t = ser.bar.t_s
        cols += [t, ser.bar.pos_z_wf_m, ser.bar.vel_z_wf_mps]
        names += ["time_s", "bar_height_m", "bar_velocity_mps"]
        if ser.trunk_inclination_deg is not None:
            cols.append(np.interp(t, ser.t_s, ser.trunk_inclination_deg, left=np.nan, right=np.nan))
            names.append("trunk_inclination_deg")
        if ser.lumbar_flexion_deg is not None:
            cols.append(np.interp(t, ser.t_s, ser.lumbar_flexion_deg, left=np.nan, right=np.nan))
            names.append("lumbar_flexion_deg")
    elif ser is not None and ser.t_s is not None:
        cols += [ser.t_s, ser.trunk_inclination_deg]
        names += ["time_s", "trunk_inclination_deg"]
        if ser.lumbar_flexion_deg is not None:
            cols.append(ser.lumbar_flexion_deg)
            names.append("lumbar_flexion_deg")
    if not cols:
        p.write_text("time_s\n")
        return p
    np.savetxt(p, np.column_stack(cols), delimiter=",", header=",".join(names), comments="", fmt="%.6g")
    return p
