"""Well-formed input that lies (issue 13): each case goes through the command a user runs and must
end in one clear line and exit 2, or a recovery with a named warning; never a traceback, an
"internal error", a hang or a silent wrong number."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from barback.cli import DEMO_RECORDING


def _run(*args, timeout=120):
    p = subprocess.run([sys.executable, "-m", "barback.cli", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)  # a hang fails the test here
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr, p.stderr
    return p


def _refused(p, *words):
    errors = [x for x in p.stderr.splitlines() if "error:" in x]
    assert p.returncode == 2 and len(errors) == 1, p.stderr
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


def _session(src, dst, **meta_changes):
    shutil.copytree(src, dst)
    meta = json.loads((dst / "session.json").read_text())
    meta.update(meta_changes)
    (dst / "session.json").write_text(json.dumps(meta))
    return dst


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd", "/dev/zero"])
def test_a_session_reads_only_its_own_folder(sim_deadlift_dir, tmp_path, path):
    d = _session(sim_deadlift_dir, tmp_path / "s", sensors={"bar": path})
    err = _refused(_run("analyze", d), "outside the session folder")
    assert "root:" not in err  # nothing of the file is echoed


def test_a_symlink_out_of_the_folder_is_refused(sim_deadlift_dir, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    shutil.copy(sim_deadlift_dir / "bar.csv", outside)
    d = _session(sim_deadlift_dir, tmp_path / "s")
    (d / "bar.csv").unlink()
    (d / "bar.csv").symlink_to(outside)
    _refused(_run("analyze", d), "outside the session folder")


def test_a_named_pipe_does_not_hang(sim_deadlift_dir, tmp_path):
    d = _session(sim_deadlift_dir, tmp_path / "s")
    (d / "bar.csv").unlink()
    os.mkfifo(d / "bar.csv")
    _refused(_run("analyze", d, timeout=60), "not a regular file")


@pytest.mark.parametrize("loads", [{"x": "heavy"}, [1, 2], {"1": -5}, {"0": 100}])
def test_bad_loads_are_refused(sim_deadlift_dir, tmp_path, loads):
    d = _session(sim_deadlift_dir, tmp_path / "s", loads_kg=loads)
    _refused(_run("analyze", d), "loads_kg")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("rate_hz", 0, "rate_hz"), ("rate_hz", "fast", "rate_hz"), ("loads_kg", {"x": "heavy"}, "loads_kg"),
    ("loads_kg", [1, 2], "loads_kg"),
])
def test_bad_recording_metadata_is_refused(tmp_path, field, value, words):
    d = tmp_path / "rec"
    shutil.copytree(DEMO_RECORDING, d)
    meta = json.loads((d / "recording.json").read_text())
    if field == "rate_hz":
        meta["sensors"][0]["rate_hz"] = value
    else:
        meta[field] = value
    (d / "recording.json").write_text(json.dumps(meta))
    _refused(_run("analyze", d), words)


def test_timestamps_that_never_advance_are_refused(sim_deadlift_dir, tmp_path):
    d = _session(sim_deadlift_dir, tmp_path / "s")
    df = pd.read_csv(d / "bar.csv")
    df["time_s"] = 1.0
    df.to_csv(d / "bar.csv", index=False)
    _refused(_run("analyze", d), "time does not advance", "bar")


def test_a_wild_value_is_skipped_with_a_warning(sim_deadlift_dir, tmp_path):
    d = _session(sim_deadlift_dir, tmp_path / "s")
    df = pd.read_csv(d / "bar.csv")
    df.loc[len(df) // 3, "acc_x_g"] = 1e200
    df.to_csv(d / "bar.csv", index=False)
    p = _run("analyze", d, "--json", tmp_path / "o.json", "--quiet")
    assert p.returncode == 0 and "values no IMU measures" in p.stderr
    good = _run("analyze", sim_deadlift_dir, "--json", tmp_path / "g.json", "--quiet")
    assert good.returncode == 0
    reps = len(json.loads((tmp_path / "o.json").read_text())["reps"])
    assert reps == len(json.loads((tmp_path / "g.json").read_text())["reps"]) > 0


@pytest.mark.parametrize("args", [["simulate", "x", "--rate", "0"], ["simulate", "x", "--reps", "-2"],
                                  ["replay", DEMO_RECORDING, "--speed", "abc"], ["replay", DEMO_RECORDING, "--speed", "0"]])
def test_impossible_options_are_usage_errors(args):
    p = _run(*args)
    assert p.returncode == 2 and "error: argument" in p.stderr


def _reps(p_json):
    return json.loads(p_json.read_text())["reps"]


def test_milliseconds_under_a_seconds_header_are_converted(sim_deadlift_dir, tmp_path):
    """Issue 13 item 9: ms under time_s gave flexion 205 deg and a 5372 cm drift, silently."""
    d = _session(sim_deadlift_dir, tmp_path / "s")
    for name in ("bar.csv", "lumbar_upper.csv", "lumbar_lower.csv"):
        df = pd.read_csv(d / name)
        df["time_s"] *= 1000.0
        df.to_csv(d / name, index=False)
    p = _run("analyze", d, "--json", tmp_path / "o.json", "--quiet")
    assert p.returncode == 0 and "look like milliseconds under a time_s header" in p.stderr
    _run("analyze", sim_deadlift_dir, "--json", tmp_path / "g.json", "--quiet")
    got, good = _reps(tmp_path / "o.json"), _reps(tmp_path / "g.json")
    assert len(got) == len(good) > 0
    assert [r["peak_lumbar_flexion_deg"] for r in got] == pytest.approx([r["peak_lumbar_flexion_deg"] for r in good], abs=0.5)


def test_a_stray_quote_costs_one_row_not_seconds(sim_deadlift_dir, tmp_path):
    """One stray " swallowed 21.9 s of rows, reported only as a gap."""
    d = _session(sim_deadlift_dir, tmp_path / "s")
    lines = (d / "bar.csv").read_text().splitlines()
    k = len(lines) // 2
    lines[k] = lines[k].replace(",", ',"', 1)
    (d / "bar.csv").write_text("\n".join(lines) + "\n")
    p = _run("analyze", d, "--json", tmp_path / "o.json", "--quiet")
    assert p.returncode == 0 and "skipped 1 unreadable or incomplete row(s)" in p.stderr
    good = _run("analyze", sim_deadlift_dir, "--json", tmp_path / "g.json", "--quiet")

    def bar_gaps(stderr):
        return [x for x in stderr.splitlines() if x.startswith("barback: warning: bar:") and "gap" in x]

    assert bar_gaps(p.stderr) == bar_gaps(good.stderr)  # no new gap: only the one row is lost


def test_one_file_for_every_role_is_refused(sim_deadlift_dir, tmp_path):
    """Every role pointing at one file gave flexion 0.0."""
    d = _session(sim_deadlift_dir, tmp_path / "s", sensors={"bar": "bar.csv", "lumbar_upper": "bar.csv",
                                                            "lumbar_lower": "./bar.csv"})
    _refused(_run("analyze", d), "name the same file")


def test_degrees_per_second_under_a_radians_header_are_converted(sim_deadlift_dir, tmp_path):
    """Issue 13 item 9: deg/s under a _rads header gave 0 reps, silently (a bar turns slowly, so
    the numbers alone look like plausible rad/s). Gravity's turning in the sensor frame tells."""
    d = _session(sim_deadlift_dir, tmp_path / "s")
    for name in ("bar.csv", "lumbar_upper.csv", "lumbar_lower.csv"):
        df = pd.read_csv(d / name)
        df = df.rename(columns={c: c.replace("_dps", "_rads") for c in df.columns})  # values stay deg/s
        df.to_csv(d / name, index=False)
    p = _run("analyze", d, "--json", tmp_path / "o.json", "--quiet")
    assert p.returncode == 0 and p.stderr.count("looks like deg/s under a _rads header") == 3, p.stderr
    _run("analyze", sim_deadlift_dir, "--json", tmp_path / "g.json", "--quiet")
    got, good = _reps(tmp_path / "o.json"), _reps(tmp_path / "g.json")
    assert len(got) == len(good) > 0
    assert [r["mean_velocity_mps"] for r in got] == pytest.approx([r["mean_velocity_mps"] for r in good], abs=0.01)


def test_rates_in_the_right_unit_are_left_alone(sim_deadlift_dir, tmp_path):
    p = _run("analyze", sim_deadlift_dir, "--json", tmp_path / "g.json", "--quiet")
    assert p.returncode == 0 and "angular rate looks like" not in p.stderr


def test_a_lifting_session_is_not_taken_as_a_calibration(sim_deadlift_dir, tmp_path):
    """Issue 13 item 9: calibrate --from accepted a deadlift recording and overwrote the athlete's
    maximum flexion (57 -> 28.6 deg) without a word. It is refused and the old value is kept."""
    from barback.history.store import Store
    from barback.simulation.simulate import simulate_calibration, write_session

    db = tmp_path / "h.sqlite"
    routine = write_session(simulate_calibration(max_flexion_deg=57.0), tmp_path / "routine")
    assert _run("calibrate", "--athlete", "Ana", "--db", db, "--from", routine).returncode == 0
    before = Store(db).athlete("Ana")["max_flexion_deg"]
    _refused(_run("calibrate", "--athlete", "Ana", "--db", db, "--from", sim_deadlift_dir), "not the calibration routine")
    assert Store(db).athlete("Ana")["max_flexion_deg"] == before == pytest.approx(57.0, abs=3.0)


@pytest.mark.parametrize("planted", ["bar.csv", "session.json"])
def test_export_does_not_write_through_a_planted_symlink(tmp_path, planted):
    """Issue 13 item 6: `export --out DIR` followed a symlink DIR/bar.csv and overwrote its
    target. Now refused in one line, the target untouched, even with --force (which only allows
    writing over regular files)."""
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / planted).symlink_to(target)
    err = _refused(_run("export", DEMO_RECORDING, "--out", out, "--force"), "symbolic link", planted)
    assert target.read_text() == "keep me\n", err
