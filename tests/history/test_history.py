"""History: batch into SQLite (parallel, Dask), trends and e1RM, pain journal, calibration,
per-athlete thresholds, and a database that survives kills, locks and corruption."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from barback.analysis.calibration import calibrate
from barback.cli import main
from barback.history.batch import content_hash, run_batch
from barback.history.store import Store, StoreError
from barback.history.trends import history, load_velocity_profile, pain_relations
from barback.sessions.csv_format import load_session
from barback.simulation.simulate import scenario, simulate, simulate_calibration, write_session

LOADS = [100, 130, 160, 100, 130, 160]


def _v(load):
    return 1.2 - 0.006 * load  # true profile: e1RM at 0.14 m/s = 176.7 kg


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    for week, load in enumerate(LOADS):
        cfg = scenario("deadlift_52hz", seed=300 + week, sets=1, reps_per_set=3, mean_velocity_first_mps=(_v(load),) * 2,
                       velocity_loss_final=(0.0, 0.01), fault_rate=0.0)
        write_session(simulate(cfg), root / "ana" / f"week{week}",
                      {"athlete": "Ana", "date": f"2026-{9 + week // 4:02d}-{1 + 7 * (week % 4):02d}", "loads_kg": {"1": load}})
    return root


def test_batch_stores_skips_and_reports_failures(archive, tmp_path):
    bad = tmp_path / "tree"
    import shutil

    shutil.copytree(archive, bad)
    (bad / "broken").mkdir()
    (bad / "broken" / "session.json").write_text('{"exercise": "deadlift", "sensors": {"bar": "bar.csv"}}')
    (bad / "broken" / "bar.csv").write_bytes(b"\x00\x01binary")
    store = Store(tmp_path / "h.sqlite")
    rep = run_batch(bad, store, workers=2)
    assert len(rep.stored) == len(LOADS) and len(rep.failed) == 1 and "binary" in rep.failed[0][1]
    rep2 = run_batch(bad, store, workers=2)
    assert rep2.stored == [] and len(rep2.skipped) == len(LOADS)
    rows = store.sessions("Ana")
    assert [r.date for r in rows] == sorted(r.date for r in rows) and all(r.n_reps == 3 for r in rows)
    assert store.integrity_ok()


def test_content_hash_ignores_location_but_not_data(archive, tmp_path):
    import shutil

    a = archive / "ana" / "week0"
    b = tmp_path / "moved"
    shutil.copytree(a, b)
    assert content_hash(a) == content_hash(b)
    (b / "bar.csv").write_text((b / "bar.csv").read_text().replace("0.", "1.", 1))
    assert content_hash(a) != content_hash(b)


def test_history_trends_and_e1rm(archive, tmp_path):
    store = Store(tmp_path / "h.sqlite")
    run_batch(archive, store, workers=1)
    out = tmp_path / "h.json"
    assert main(["history", "--db", str(store.path), "--athlete", "Ana", "--json", str(out),
                 "--report", str(tmp_path / "h.html")]) == 0
    h = json.loads(out.read_text())
    assert len(h["sessions"]) == len(LOADS)
    lv = h["load_velocity"][0]
    assert lv["exercise"] == "deadlift" and lv["mvt_mps"] == 0.14
    assert lv["e1rm_kg"] == pytest.approx(176.7, abs=8.0)
    assert lv["r2"] > 0.95
    at = {x["load_kg"]: x for x in h["velocity_at_load"]}
    assert len(at[100]["sessions"]) == 2 and at[100]["sessions"][0]["mean_velocity_mps"] == pytest.approx(_v(100), abs=0.04)
    html = (tmp_path / "h.html").read_text()
    assert "fig-lv" in html and "fig-flexion_trend" in html
    # the chart's data points: every set with a load, beside the fitted line
    assert sorted(p[0] for p in lv["points"]) == sorted(LOADS)


def test_history_charts_show_points_keep_a_calm_scale_and_every_pain_relation():
    """Issue 14: the history chart drew only the fitted line; a 6 mm/s wobble of velocity at one
    load was auto-scaled into a cliff; the pain relations were computed and never shown."""
    from barback.reporting.history_report import _figs, render_history_html

    h = {"sessions": [], "flag_totals": {"hips_rise_early": 2},
         "load_velocity": [{"athlete": "Ana", "exercise": "deadlift", "n_sets": 3, "slope_mps_per_kg": -0.006,
                            "intercept_mps": 1.2, "r2": 0.98, "mvt_mps": 0.14, "e1rm_kg": 176.7,
                            "e1rm_withheld": None, "points": [[100, 0.6], [130, 0.42], [160, 0.25]]}],
         "velocity_at_load": [{"exercise": "deadlift", "load_kg": 100.0, "sessions": [
             {"date": "2026-09-01", "session": 1, "mean_velocity_mps": 0.600},
             {"date": "2026-09-08", "session": 2, "mean_velocity_mps": 0.606}]}],
         "pain": {"sessions_with_pain_scores": 5, "patterns": [], "metrics": {
             "flags_per_rep": {"after": {"spearman_rho": 0.41, "p_value": 0.3, "n": 5, "mean_when_painful": 0.5,
                                         "mean_when_not": 0.2}}}}}
    figs = {f.name: f for f in _figs(h)}
    lines = figs["lv"].fig.axes[0].get_lines()
    assert any(len(ln.get_xdata()) == 3 and ln.get_marker() == "o" for ln in lines)
    lo, hi = figs["at_load"].fig.axes[0].get_ylim()
    assert hi - lo >= 0.2 - 1e-9
    assert "hips rising first" in [t.get_text() for t in figs["flags"].fig.axes[0].get_yticklabels()]
    for f in figs.values():
        f.close()
    html = render_history_html(h)
    assert "Spearman rho" in html and "0.41" in html and "flags per rep" in html


def test_athlete_mvt_changes_e1rm(archive, tmp_path):
    store = Store(tmp_path / "h.sqlite")
    run_batch(archive, store, workers=1)
    assert main(["athlete", "Ana", "--db", str(store.path), "--mvt", "0.20"]) == 0
    rows = store.sessions("Ana")
    h = history(rows, [], {"Ana": 0.20})
    assert h["load_velocity"][0]["e1rm_kg"] == pytest.approx((1.2 - 0.20) / 0.006, abs=8.0)


def test_dask_cluster_gives_the_same_results(archive, tmp_path):
    from dask.distributed import LocalCluster

    local = Store(tmp_path / "a.sqlite")
    run_batch(archive, local, workers=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dist = Store(tmp_path / "b.sqlite")
        rep = run_batch(archive, dist, scheduler=cluster.scheduler_address)
    assert len(rep.stored) == len(LOADS)
    key = lambda s: s.date  # noqa: E731
    for x, y in zip(sorted(local.sessions(), key=key), sorted(dist.sessions(), key=key)):
        assert [r["mean_velocity_mps"] for r in x.result["reps"]] == [r["mean_velocity_mps"] for r in y.result["reps"]]


def test_journal_and_bad_input(archive, tmp_path, capsys):
    db = str(tmp_path / "h.sqlite")
    store = Store(db)
    run_batch(archive, store, workers=1)
    sid = store.sessions("Ana")[0].id
    assert main(["journal", "add", "--db", db, "--athlete", "Ana", "--session", str(sid), "--before", "1",
                 "--after", "3", "--next-day", "2", "--note", "tight"]) == 0
    assert main(["journal", "add", "--db", db, "--athlete", "Ana", "--before", "11", "--after", "3"]) == 2
    assert "0 to 10" in capsys.readouterr().err
    assert main(["journal", "add", "--db", db, "--athlete", "Nobody", "--before", "1", "--after", "1"]) == 2
    assert "unknown athlete 'Nobody'" in capsys.readouterr().err
    assert main(["journal", "add", "--db", db, "--athlete", "Ana", "--session", "999", "--before", "1", "--after", "1"]) == 2
    assert "unknown session 999" in capsys.readouterr().err
    assert len(Store(db).journal("Ana")) == 1


def test_pain_patterns_are_named_with_caution():
    summaries = [{"id": i, "mean_peak_lumbar_flexion_deg": 15 + 3 * i, "flags_per_rep": 0.1 * (i % 2),
                  "max_velocity_loss_pct": 10.0 + i, "top_load_kg": 100.0} for i in range(8)]
    journal = [{"session_id": i, "after": min(10, i), "next_day": i // 2} for i in range(8)]
    out = pain_relations(summaries, journal)
    assert out["sessions_with_pain_scores"] == 8
    assert any("lumbar flexion" in p for p in out["patterns"])
    assert "not a diagnosis" in out["caution"]
    assert out["metrics"]["mean_peak_lumbar_flexion_deg"]["after"]["spearman_rho"] > 0.9
    assert pain_relations(summaries[:2], journal[:2])["patterns"] == []


def test_load_velocity_needs_enough_data():
    assert load_velocity_profile([100, 100, 100], [0.5, 0.5, 0.5], "deadlift") is None
    lv = load_velocity_profile([60, 100, 140], [0.8, 0.56, 0.32], "squat")
    assert lv.mvt_mps == 0.23 and lv.e1rm_kg == pytest.approx((0.23 - 1.16) / -0.006)


def test_calibration_and_percent_of_max_flag(tmp_path):
    sim = simulate_calibration(52.0, seed=4)
    d = write_session(sim, tmp_path / "cal")
    cal = calibrate(load_session(d))
    assert cal.max_flexion_deg == pytest.approx(sim.truth[0]["max_flexion_deg"], abs=2.5)
    db = str(tmp_path / "h.sqlite")
    assert main(["calibrate", "--athlete", "Ana", "--db", db, "--from", str(d)]) == 0
    assert Store(db).athlete("Ana")["max_flexion_deg"] == pytest.approx(cal.max_flexion_deg)
    # a deadlift session analysed for the calibrated athlete reports flexion as % of max
    from barback.analysis.pipeline import analyze

    s = simulate(scenario("deadlift_100hz", seed=21, sets=1, fault_rate=0.0))
    # a maximum that the session's deepest rep (simulated truth) reaches 83 % of
    max_deg = max(r["peak_lumbar_flexion_deg"] for r in s.truth) / 0.83
    res = analyze(load_session(write_session(s, tmp_path / "dl")), max_flexion_deg=max_deg)
    for r in res.reps:
        assert r.peak_lumbar_flexion_pct_max == pytest.approx(100 * r.peak_lumbar_flexion_deg / max_deg)
        assert ("lumbar_flexion" in r.flag_names) == (r.peak_lumbar_flexion_pct_max >= 70.0)
    flagged = [f for r in res.reps for f in r.flags if f.name == "lumbar_flexion"]
    assert flagged and "own maximal flexion" in flagged[0].explanation


def test_calibration_without_both_sensors_is_refused(tmp_path):
    from barback.analysis.errors import InputError
    from barback.analysis.imu import Role, Session

    sim = simulate_calibration(50.0, seed=5)
    s = load_session(write_session(sim, tmp_path / "cal"))
    with pytest.raises(InputError, match="needs both lumbar sensors"):
        calibrate(Session(s.exercise, {Role.LUMBAR_UPPER: s.streams[Role.LUMBAR_UPPER]}))


def test_per_athlete_threshold_overrides_apply_in_batch(archive, tmp_path):
    db = str(tmp_path / "h.sqlite")
    assert main(["athlete", "Ana", "--db", db, "--threshold", "exercise.deadlift.lumbar_flexion_peak_deg=5"]) == 0
    run_batch(archive, Store(db), workers=1)
    reps = [r for row in Store(db).sessions("Ana") for r in row.result["reps"]]
    assert reps and all("lumbar_flexion" in r["flags"] for r in reps)


def test_locked_and_corrupt_databases_give_clear_errors(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    Store(db).athlete_id("Ana", create=True)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked"):
            Store(db, timeout_s=0.2).add_journal("Ana", 1, 2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    assert main(["history", "--db", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a barback database" in err and err.count("\n") == 1


def test_killed_batch_loses_nothing(archive, tmp_path):
    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, "-m", "barback.cli", "batch", str(archive), "--db", str(db), "--workers", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline and p.poll() is None:
        try:
            n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        except sqlite3.Error:
            n = 0
        if n >= 2:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    store = Store(db)
    assert store.integrity_ok()
    for row in store.sessions():  # every stored session is whole
        got = store.db.execute("SELECT COUNT(*) FROM reps WHERE session_id = ?", (row.id,)).fetchone()[0]
        assert got == row.n_reps
    before = len(store.sessions())
    rep = run_batch(archive, store, workers=1)
    assert len(rep.skipped) == before and len(store.sessions()) == len(LOADS)


@pytest.mark.ble
def test_guided_calibration_over_emulated_sensors(tmp_path):
    db = str(tmp_path / "h.sqlite")
    assert main(["calibrate", "--athlete", "Bo", "--db", db, "--emulate", "--out", str(tmp_path / "routine")]) == 0
    a = Store(db).athlete("Bo")
    assert 45.0 < a["max_flexion_deg"] < 65.0  # the emulated routine bends to 55° of lumbar flexion
    assert (tmp_path / "routine" / "stream.bbr").exists()


def test_two_batches_at_once_store_each_session_once(archive, tmp_path):
    """Issue 13 item 7: the second of two batches on one database ended with "UNIQUE constraint
    failed". Both now finish; every session is stored once; nothing is counted as failed."""
    db = tmp_path / "h.sqlite"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    cmd = [sys.executable, "-m", "barback.cli", "batch", str(archive), "--db", str(db), "--workers", "1"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "failed 0" in out and "Traceback" not in err
    store = Store(db)
    hashes = [r[0] for r in store.db.execute("SELECT content_hash FROM sessions")]
    assert len(hashes) == len(set(hashes)) == len(LOADS)


def test_a_rep_whose_velocity_was_withheld_does_not_break_the_summary():
    """A rep counted with its velocity null (a gap in its pull) is left out of the best velocity,
    not compared with numbers (it ended in a TypeError)."""
    from types import SimpleNamespace

    from barback.history.trends import session_summary

    reps = [{"mean_velocity_mps": 0.52, "flags": []}, {"mean_velocity_mps": None, "flags": []}]
    sets = [{"max_velocity_loss_pct": None, "load_kg": 100.0}]
    row = SimpleNamespace(id=1, date="2026-12-01", athlete="Ana", exercise="deadlift",
                          result={"reps": reps, "sets": sets})
    s = session_summary(row)
    assert s["best_mean_velocity_mps"] == 0.52 and s["max_velocity_loss_pct"] is None and s["n_reps"] == 2


def test_batch_names_the_symlinked_folders_it_does_not_follow(archive, tmp_path, capsys):
    """Issue 13 item 6: a symlinked session folder was skipped in silence ("stored 0 ... failed 0")."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked").symlink_to(sorted(archive.glob("ana/week*"))[0], target_is_directory=True)
    assert main(["batch", str(tree), "--db", str(tmp_path / "h.sqlite")]) == 0
    err = capsys.readouterr().err
    assert "linked: a symbolic link; not followed" in err


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_pool_workers_end_with_a_killed_batch(archive, tmp_path):
    """Issue 13 item 7: after kill -9 of a batch its pool workers lived on for 30 s or more."""
    db = tmp_path / "h.sqlite"
    p = subprocess.Popen([sys.executable, "-m", "barback.cli", "batch", str(archive), "--db", str(db), "--workers", "2"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    for _ in range(400):  # until the pool's workers exist (bounded: 20 s)
        try:
            children = [int(x) for x in Path(f"/proc/{p.pid}/task/{p.pid}/children").read_text().split()]
        except OSError:
            children = []
        if len(children) >= 2 or p.poll() is not None:
            break
        time.sleep(0.05)
    assert children, "the batch ended before its workers could be seen"
    p.send_signal(signal.SIGKILL)
    p.wait()
    for _ in range(200):  # each worker gone, or a zombie waiting for init: bounded, 10 s
        alive = [c for c in children if _running(c)]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive


def test_reading_commands_never_create(tmp_path, capsys):
    """Issue 14: `history --db typo.sqlite` created an empty database, and `athlete NAME` only to
    look created the athlete. Both now name the mistake in one line (exit 2); nothing is created."""
    typo = tmp_path / "typo.sqlite"
    assert main(["history", "--db", str(typo)]) == 2
    assert "no history database here" in capsys.readouterr().err and not typo.exists()
    db = tmp_path / "h.sqlite"
    assert main(["athlete", "Ana", "--db", str(db), "--mvt", "0.2"]) == 0  # settings: created
    assert main(["athlete", "Bo", "--db", str(db)]) == 2
    assert "no athlete 'Bo' (known: Ana)" in capsys.readouterr().err
    assert Store(db).athletes() == ["Ana"]
    assert main(["athlete", "Ana", "--db", str(db)]) == 0


def test_athlete_line_is_rounded_and_errors_keep_their_quotes(tmp_path, capsys):
    db = str(tmp_path / "h.sqlite")
    store = Store(db)
    store.athlete_id("Ana", create=True)
    store.set_calibration("Ana", {"max_flexion_deg": 57.00698117230398})
    assert main(["athlete", "Ana", "--db", db, "--mvt", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "max lumbar flexion 57.0°" in out and "MVT 0.20 m/s" in out
    assert main(["athlete", "Ana", "--db", db, "--threshold", "lumbar_flexion.peak_dg=50"]) == 2
    assert "unknown threshold 'lumbar_flexion.peak_dg'" in capsys.readouterr().err


def test_e1rm_is_withheld_when_the_sets_do_not_follow_one_line():
    """Issue 14: unrelated loads gave R² 0.02 and still "estimated 1RM 701 kg"."""
    from barback.history.trends import load_velocity_profile

    bad = load_velocity_profile([60, 100, 140, 80], [0.70, 0.40, 0.55, 0.65], "deadlift")  # R² 0.31
    assert bad is not None and bad.e1rm_kg is None and "one line" in bad.e1rm_withheld
    far = load_velocity_profile([40, 45, 50], [1.00, 0.99, 0.98], "deadlift")
    assert far is not None and far.e1rm_kg is None and "heaviest load" in far.e1rm_withheld
    good = load_velocity_profile([60, 100, 140], [0.84, 0.60, 0.36], "deadlift")
    assert good is not None and good.e1rm_withheld is None
    assert good.e1rm_kg == pytest.approx((good.mvt_mps - 1.2) / -0.006, rel=1e-6)


def test_e1rm_needs_three_loads_spread_over_a_fifth_of_the_heaviest():
    """Issue 14 item 4: e1RM only with at least three distinct loads spread enough, else "not
    enough data" with why."""
    from barback.history.trends import load_velocity_profile

    two = load_velocity_profile([100, 140, 100, 140], [0.60, 0.36, 0.61, 0.37], "deadlift")
    assert two is not None and two.e1rm_kg is None and "2 distinct loads" in two.e1rm_withheld
    close = load_velocity_profile([100, 105, 110], [0.60, 0.57, 0.54], "deadlift")
    assert close is not None and close.e1rm_kg is None and "within 9 %" in close.e1rm_withheld
    assert load_velocity_profile([60, 100, 140], [0.84, 0.60, 0.36], "deadlift").e1rm_withheld is None


def test_each_exercise_has_its_own_velocity_at_1rm():
    """The e1RM's minimum velocity threshold is the exercise's own (threshold file): a hexagonal bar
    at 0.25 m/s (Janicijevic 2024), a conventional pull at 0.14 (Helms)."""
    from barback.history.trends import load_velocity_profile

    loads, v = [60.0, 80.0, 100.0, 120.0], [0.85, 0.70, 0.55, 0.40]  # v = 1.3 - 0.0075 * load
    trap = load_velocity_profile(loads, v, "trap_bar_deadlift")
    conv = load_velocity_profile(loads, v, "deadlift")
    assert trap.mvt_mps == 0.25 and trap.e1rm_kg == pytest.approx((1.3 - 0.25) / 0.0075)
    assert conv.mvt_mps == 0.14 and conv.e1rm_kg == pytest.approx((1.3 - 0.14) / 0.0075)
