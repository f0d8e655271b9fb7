"""Reports: the right figures and numbers, graceful without sensors, and real rendering."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from barback.analysis.imu import Role, Session
from barback.analysis.pipeline import analyze
from barback.cli import main
from barback.reporting.report import write_report, write_series_csv
from barback.sessions.csv_format import load_session
from barback.simulation.simulate import scenario, simulate, write_session


class _Parse(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.notes, self.rows, self.flags = {}, {}, 0, []
        self._note = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("src", "").startswith("data:image/png;base64,"):
            self.imgs[a["id"]] = a["src"]
        if tag == "p" and a.get("id", "").startswith("note-"):
            self._note = a["id"]
        if tag == "tr" and a.get("class") == "rep":
            self.rows += 1

    def handle_data(self, data):
        if self._note:
            self.notes[self._note] = data
            self._note = None


def _parse(path: Path) -> _Parse:
    p = _Parse()
    p.feed(path.read_text())
    return p


@pytest.fixture(scope="module")
def result(sim_deadlift_dir):
    return analyze(load_session(sim_deadlift_dir))


def test_report_holds_figures_and_numbers(result, tmp_path):
    out = write_report(result, tmp_path / "r.html", png_dir=tmp_path / "png", pdf=tmp_path / "r.pdf")
    html = out.read_text()
    p = _parse(out)
    assert set(p.imgs) == {"fig-velocity", "fig-flexion", "fig-hinge", "fig-bar_path"}
    assert p.rows == len(result.reps)
    for r in result.reps:
        assert f"{r.mean_velocity_mps:.2f}" in html
        for f in r.flags:
            assert f.cue in html or f.cue.replace("'", "&#x27;") in html
    assert "http://" not in html and "https://" not in html  # self-contained
    assert sorted(x.name for x in (tmp_path / "png").iterdir()) == ["bar_path.png", "flexion.png", "hinge.png", "velocity.png"]
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"


def test_one_lumbar_and_no_lumbar_degrade_with_notes(sim_deadlift, tmp_path):
    base = load_session(write_session(sim_deadlift, tmp_path / "s"))
    one = Session(base.exercise, {k: v for k, v in base.streams.items() if k != Role.LUMBAR_LOWER})
    none = Session(base.exercise, {Role.BAR: base.streams[Role.BAR]})
    p1 = _parse(write_report(analyze(one), tmp_path / "one.html"))
    assert "fig-flexion" not in p1.imgs and "one" in p1.notes["note-flexion"]
    assert "fig-hinge" in p1.imgs
    p0 = _parse(write_report(analyze(none), tmp_path / "none.html"))
    assert "fig-flexion" not in p0.imgs and "fig-hinge" not in p0.imgs
    assert "note-hinge" in p0.notes and "fig-velocity" in p0.imgs


def test_single_rep_and_no_rep_reports(tmp_path):
    sim = simulate(scenario("deadlift_100hz", seed=9, sets=1, reps_per_set=1))
    res = analyze(load_session(write_session(sim, tmp_path / "s")))
    assert len(res.reps) == 1
    p = _parse(write_report(res, tmp_path / "one.html"))
    assert p.rows == 1 and "fig-velocity" in p.imgs
    res.reps.clear()
    res.sets.clear()
    p = _parse(write_report(res, tmp_path / "zero.html"))
    assert p.imgs == {} and "note-velocity" in p.notes


def test_series_csv(result, tmp_path):
    p = write_series_csv(result, tmp_path / "s.csv")
    header = p.read_text().splitlines()[0]
    assert header == "time_s,bar_height_m,bar_velocity_mps,trunk_inclination_deg,lumbar_flexion_deg"
    data = np.loadtxt(p, delimiter=",", skiprows=1)
    assert data.shape[0] == len(result.series.bar.t_s)


def test_report_command_writes_everything(sim_deadlift_dir, tmp_path, capsys):
    rc = main(["report", str(sim_deadlift_dir), "--out", str(tmp_path / "r.html"), "--png", str(tmp_path / "png"),
               "--pdf", str(tmp_path / "r.pdf"), "--csv", str(tmp_path / "data.csv")])
    assert rc == 0
    for name in ("r.html", "r.pdf", "data_reps.csv", "data_series.csv", "png/velocity.png"):
        assert (tmp_path / name).stat().st_size > 0


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_report_renders_in_a_real_headless_browser(result, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on this machine (make test installs Debian's chromium where it can)")
    out = write_report(result, tmp_path / "r.html")
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,2600",
                    f"--screenshot={shot}", out.as_uri()], check=True, capture_output=True, timeout=120)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    assert img.shape[0] >= 2000
    # the figures are drawn: plenty of non-white pixels and more than a few colours in the figure area
    fig_area = img[900:2400]
    assert (fig_area.mean(axis=2) < 0.9).mean() > 0.03
    assert len(np.unique((fig_area * 255).astype(int).reshape(-1, 3), axis=0)) > 50


def test_report_shows_quality_grades_and_why_a_number_is_withheld(tmp_path):
    """A commodity set with long losses: the session's grade and each rep's grade appear, and a
    rep whose numbers are withheld says why instead of showing a number."""
    seed = 202  # the first session from here on where a loss of over a second strikes a rep's rise
    sim = simulate(scenario("commodity_deadlift", seed=seed))
    while not any(r["gap_in_concentric_s"] > 1.0 for r in sim.truth):
        seed += 1
        sim = simulate(scenario("commodity_deadlift", seed=seed))
    res = analyze(load_session(write_session(sim, tmp_path / "s")))
    poor = [r for r in res.reps if r.quality_grade == "poor"]
    assert poor and all(not np.isfinite(r.mean_velocity_mps) and r.quality for r in poor)
    html = write_report(res, tmp_path / "r.html").read_text()
    assert f"<td id='session-grade'>{res.quality_grade}" in html
    assert html.count("class='l quality'") == len(res.reps)
    for r in poor:
        assert r.quality[0].split(":")[0] in html


def test_the_report_speaks_plainly_and_keeps_data_notes_for_last(result, tmp_path):
    """Issue 14: summaries used code names (hips_rise_early), and the data-quality notes sat above
    the figures. Flags now read as words; the notes come after the reps, folded."""
    from barback.analysis.flags import FLAG_LABELS
    from barback.reporting.report import render_html

    html = render_html(result)
    summary = html[:html.index("<h2>Sets</h2>")] if "<h2>Sets</h2>" in html else html[:html.index("<h2>Figures</h2>")]
    for code in FLAG_LABELS:
        assert f">{code}<" not in html and f"{code}:" not in summary
    if result.flag_counts:
        assert any(FLAG_LABELS[k] in summary for k in result.flag_counts)
    if result.warnings:
        assert html.index("<h2>Data quality</h2>") > html.index("<h2>Every rep</h2>") > html.index("<h2>Figures</h2>")
        assert "<details>" in html


def test_the_flexion_plot_of_many_reps_says_which_line_is_which(tmp_path):
    """Issue 14: with more than eight reps the flexion plot drew its lines unlabelled. Now a
    colour bar gives their order and a rep flagged for rounding is red and named."""
    from barback.analysis.pipeline import analyze
    from barback.reporting.report import fig_flexion
    from barback.sessions.csv_format import load_session
    from barback.simulation.simulate import scenario, simulate, write_session

    res = analyze(load_session(write_session(simulate(scenario("deadlift_form_faults", seed=1)), tmp_path / "s")))
    assert len(res.reps) > 8
    from barback.analysis.config import load_thresholds

    f = fig_flexion(res, load_thresholds())
    axes = f.fig.axes
    assert len(axes) == 2 and axes[1].get_ylabel() == "rep, in the order lifted"
    rounding = [r for r in res.reps if any(x.name in ("lumbar_flexion", "lumbar_flexion_drift") for x in r.flags)]
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert rounding  # the scenario has rounding faults
    assert all(f"set {r.set} rep {r.rep} (rounding)" in labels for r in rounding)
    f.close()


def test_figures_keep_readable_labels_on_a_phone(result):
    """Issue 14: at phone width the figures shrank to the screen and their labels to about 5 px.
    Each figure now keeps at least 600 px (labels of 12 px: 11 pt at 110 dpi, scaled by 600/825)
    and scrolls sideways inside its own box."""
    import re

    from barback.reporting.report import CSS, render_html

    html = render_html(result)
    assert ".fig img{min-width:600px}" in CSS and ".fig{overflow-x:auto}" in CSS
    imgs = re.findall(r"<div class='fig'><img id='fig-[a-z_]+'", html)
    assert imgs and len(imgs) == html.count("<img ")


def test_the_pdf_fills_its_pages_and_keeps_every_explanation_and_cue(tmp_path):
    """Issue 14: the PDF put each figure on a third of a page, its rep table overflowed its cells
    and it dropped the flags' explanations and cues. Now: figures two to an A4 page across its
    width, the table's flags in words inside cells tall enough for them, and a page of what each
    flag means, rep by rep."""
    import matplotlib

    matplotlib.use("Agg")
    from barback.analysis.config import load_thresholds
    from barback.analysis.pipeline import analyze
    from barback.reporting import report
    from barback.sessions.csv_format import load_session
    from barback.simulation.simulate import scenario, simulate, write_session

    res = analyze(load_session(write_session(simulate(scenario("deadlift_form_faults", seed=1)), tmp_path / "s")))
    flagged = [(r, f) for r in res.reps for f in r.flags]
    assert flagged
    pages = []

    class Pages:  # stands in for PdfPages: keeps what each page shows
        def __init__(self, path):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def savefig(self, fig, **kw):
            texts = [t.get_text() for t in fig.texts]
            cells = []
            for ax in fig.axes:
                for tab in ax.tables:
                    for cell in tab.get_celld().values():
                        cells.append((cell.get_text().get_text(), cell.get_height()))
            pages.append({"size": tuple(fig.get_size_inches()), "texts": texts, "cells": cells,
                          "images": sum(len(ax.images) for ax in fig.axes)})

    import matplotlib.backends.backend_pdf as backend

    real = backend.PdfPages
    backend.PdfPages = Pages
    figs = report.build_figures(res, load_thresholds())
    try:
        report.write_pdf(res, figs, tmp_path / "r.pdf", load_thresholds())
    finally:
        backend.PdfPages = real
        for f in figs:
            f.close()
    assert all(p["size"] == pytest.approx((8.27, 11.69)) for p in pages)  # every page A4
    n_drawn = sum(f.fig is not None for f in figs)
    assert sum(p["images"] for p in pages) == n_drawn and max(p["images"] for p in pages) == 2
    text = " ".join(" ".join(p["texts"]) for p in pages)
    for _, f in flagged:
        assert f.cue in text and f.explanation[:40] in text
    for p in pages:
        for content, height in p["cells"]:
            assert height >= 0.025 * (content.count("\n") + 1) - 1e-9  # tall enough for its lines


def test_the_report_gives_each_loaded_set_its_mean_power(result):
    """Issue 14 item 7: the report had loads but no power. Mean concentric power is load x g x the
    set's mean velocity; a set without a load has none."""
    import dataclasses

    from barback.analysis.results import mean_power_w
    from barback.reporting.report import render_html

    assert mean_power_w(100.0, 0.5) == pytest.approx(490.3325)
    assert mean_power_w(None, 0.5) is None and mean_power_w(100.0, float("nan")) is None
    loaded = dataclasses.replace(result, sets=[dataclasses.replace(s, load_kg=120.0) for s in result.sets])
    html = render_html(loaded)
    assert "<th>mean power (W)</th>" in html
    s = loaded.sets[0]
    assert f"<td>{120.0 * 9.80665 * s.mean_of_mean_velocity_mps:.0f}</td>" in html


def test_every_flag_has_a_colour_and_a_label():
    """A flag without a colour crashed the report (the one-sided flags, when added)."""
    from barback.analysis.flags import FLAG_LABELS, FLAG_NAMES
    from barback.reporting.report import FLAG_COLOURS
    from barback.sensor.cues import FLAG_WORDS

    assert set(FLAG_NAMES) == set(FLAG_COLOURS) == set(FLAG_LABELS) == set(FLAG_WORDS)


def test_render_html_closes_the_figures_it_made(result):
    """A report rendered on its own built its figures and left them open (20 such calls and
    matplotlib warns, a long-running caller leaks)."""
    import matplotlib.pyplot as plt

    from barback.reporting.report import render_html

    before = len(plt.get_fignums())
    render_html(result)
    assert len(plt.get_fignums()) == before
