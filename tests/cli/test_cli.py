"""The command line: exit codes, one-line errors, outputs, --help with examples."""

import json
import subprocess
import sys

import pytest

from barback.cli import DEMO_RECORDING, build_parser, main


def _commands() -> list[str]:
    """Every command the parser has, read from the parser itself (a new one is tested too)."""
    import argparse

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


COMMANDS = _commands()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help_with_an_example(cmd, capsys):
    with pytest.raises(SystemExit) as ei:
        main([cmd, "--help"])
    assert ei.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"barback {cmd}" in out


def test_analyze_json_and_csv(sim_deadlift_dir, tmp_path, capsys):
    out, csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert main(["analyze", str(sim_deadlift_dir), "--json", str(out), "--csv", str(csv), "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert set(d) >= {"reps", "sets", "warnings", "schema_version", "thresholds_version"}
    rep = d["reps"][0]
    for k in ("set", "rep", "concentric_start_s", "concentric_end_s", "mean_velocity_mps", "peak_velocity_mps",
              "rom_m", "peak_lumbar_flexion_deg", "peak_trunk_inclination_deg", "velocity_loss_pct", "flags"):
        assert k in rep
    assert csv.read_text().splitlines()[0].startswith("set,rep,concentric_start_s")
    assert len(csv.read_text().splitlines()) == len(d["reps"]) + 1


def test_threshold_override_changes_flags(sim_deadlift_dir, tmp_path):
    out = tmp_path / "r.json"
    main(["analyze", str(sim_deadlift_dir), "--json", str(out), "--quiet", "--threshold", "velocity_loss.threshold_pct=1"])
    d = json.loads(out.read_text())
    n_vl = sum("velocity_loss" in r["flags"] for r in d["reps"])
    assert n_vl >= len(d["reps"]) - len(d["sets"]) - 1


def test_input_errors_are_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "s"
    bad.mkdir()
    (bad / "session.json").write_text('{"exercise": "deadlift", "sensors": {"bar": "bar.csv"}}')
    (bad / "bar.csv").write_bytes(b"\x00\x00\x00")
    p = subprocess.run([sys.executable, "-m", "barback.cli", "analyze", str(bad)], capture_output=True, text=True)
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "bar.csv" in p.stderr and "binary" in p.stderr
    assert "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "barback.cli", "analyze", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "not found" in p.stderr


@pytest.mark.parametrize(("override", "message"), [("nope.x=1", "unknown threshold"),
                                                   ("bar_drift.max_m=-1", "out of range"),
                                                   ("bar_drift.max_m=nan", "out of range")])
def test_a_bad_threshold_is_a_usage_error(sim_deadlift_dir, capsys, override, message):
    assert main(["analyze", str(sim_deadlift_dir), "--threshold", override]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "internal error" not in err


def test_demo_writes_report_and_json(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "demo_report.html").stat().st_size > 50_000
    d = json.loads((tmp_path / "demo.json").read_text())
    assert len(d["reps"]) == 15
    assert "15 reps" in capsys.readouterr().out


def test_export_then_analyze_matches_native(tmp_path):
    assert main(["export", str(DEMO_RECORDING), "--out", str(tmp_path / "csv")]) == 0
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    main(["analyze", str(DEMO_RECORDING), "--json", str(a), "--quiet"])
    main(["analyze", str(tmp_path / "csv"), "--json", str(b), "--quiet"])
    ra, rb = json.loads(a.read_text())["reps"], json.loads(b.read_text())["reps"]
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb):
        assert x["mean_velocity_mps"] == pytest.approx(y["mean_velocity_mps"], abs=2e-3)
        assert x["flags"] == y["flags"]


def test_simulate_command(tmp_path):
    assert main(["simulate", str(tmp_path / "s"), "--sets", "1", "--reps", "3", "--seed", "2"]) == 0
    assert (tmp_path / "s" / "session.json").exists() and (tmp_path / "s" / "truth.json").exists()
    assert len(json.loads((tmp_path / "s" / "truth.json").read_text())["reps"]) == 3


def test_parser_lists_commands():
    help_text = build_parser().format_help()
    for c in COMMANDS:
        assert c in help_text


def test_the_parser_has_every_command_group():
    assert {"analyze", "demo", "simulate", "export", "report", "replay", "scan", "capture", "emulate",
            "conformance", "batch", "history", "journal", "athlete", "calibrate"} <= set(COMMANDS)


@pytest.mark.parametrize("device", ["witmotion", "polar_pmd", "movesense", "barback_diy"])
def test_emulate_builds_each_device_kind(device, capsys):
    """Each device kind is built from the demo recording; the transport (a closed local port) is
    then refused in one line (was: `internal error: KeyError: 'barback_diy'`)."""
    rc = main(["emulate", "--device", device, "--transport", "tcp-client:127.0.0.1:9", "--duration", "0.1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "cannot open Bluetooth transport" in err and err.count("\n") == 1 and "internal error" not in err


@pytest.mark.parametrize(("blocked", "args", "extra"), [
    ("bumble", ["emulate", "--device", "witmotion", "--transport", "vhci"], "emulate"),
    ("dask", ["batch", "{dir}", "--scheduler", "tcp://127.0.0.1:9", "--db", "{dir}/h.sqlite"], "cluster"),
])
def test_a_missing_extra_is_one_line_naming_it(blocked, args, extra, tmp_path, sim_deadlift_dir):
    import shutil

    shutil.copytree(sim_deadlift_dir, tmp_path / "s")
    args = [a.format(dir=tmp_path) for a in args]
    code = (f"import sys; sys.modules[{blocked!r}] = None; sys.modules[{blocked + '.distributed'!r}] = None; "
            "from barback.cli import main; sys.exit(main(sys.argv[1:]))")
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert f"pip install 'barback[{extra}]'" in p.stderr and "Traceback" not in p.stderr


def _with_bar_rows(src, dst, edit):
    import shutil

    import pandas as pd

    shutil.copytree(src, dst)
    df = pd.read_csv(dst / "bar.csv")
    edit(df).to_csv(dst / "bar.csv", index=False)
    return dst


def _analyze_in_child(session_dir):
    """`barback analyze` in its own process, reporting its own peak memory (MB) on the last line."""
    code = ("import resource, sys; from barback.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "analyze", str(session_dir), "--json", str(session_dir / "o.json"),
                        "--quiet"], capture_output=True, text=True, timeout=300)
    *lines, peak = p.stderr.strip().splitlines()
    return p.returncode, lines, int(peak)


def test_one_row_stamped_far_away_is_dropped_with_a_warning(sim_deadlift_dir, tmp_path):
    """Issue 13 item 2: one CSV row at t = 1e6 s took 15.6 GB. Now it is dropped and named, and
    memory follows the data."""
    import pandas as pd

    def add_far_row(df):
        far = df.iloc[[len(df) // 2]].copy()
        far["time_s"] = 1e6
        return pd.concat([df, far])

    d = _with_bar_rows(sim_deadlift_dir, tmp_path / "s", add_far_row)
    rc, lines, peak_mb = _analyze_in_child(d)
    assert rc == 0, lines
    assert any("stamped far from all the others" in x and "1000000" in x for x in lines)
    assert peak_mb < 1000


def test_stamps_that_jump_by_days_are_one_line_exit_2(sim_deadlift_dir, tmp_path):
    def jump(df):
        df.loc[df.index[len(df) // 2:], "time_s"] += 1e6  # the second half 11.6 days on
        return df

    d = _with_bar_rows(sim_deadlift_dir, tmp_path / "s", jump)
    rc, lines, peak_mb = _analyze_in_child(d)
    assert rc == 2 and len(lines) >= 1
    err = [x for x in lines if "error" in x]
    assert len(err) == 1 and "not one session" in err[0] and "bar" in err[0]
    assert peak_mb < 1000


def test_athlete_loads_and_date_from_the_command_line(sim_deadlift_dir, tmp_path):
    """Issue 14 item 1: `--load 100` is every set's load, `--load 2=110` one set's; the athlete and
    the date are stored in the result (and so in the history). Bad values are usage errors."""
    from barback.analysis.imu import parse_load_arg

    assert parse_load_arg("100") == {"all": 100.0}
    assert parse_load_arg("1=100, 2=120kg") == {"1": 100.0, "2": 120.0}
    assert parse_load_arg("100,3=120") == {"all": 100.0, "3": 120.0}
    for bad in ("heavy", "1=-5", "0=100", "1=", "x=100"):
        with pytest.raises(ValueError):
            parse_load_arg(bad)
    out = tmp_path / "r.json"
    assert main(["analyze", str(sim_deadlift_dir), "--athlete", "Ana K", "--load", "100", "--load", "2=110",
                 "--date", "2026-11-30", "--json", str(out), "--quiet"]) == 0
    d = json.loads(out.read_text())
    assert (d["athlete"], d["date"]) == ("Ana K", "2026-11-30")
    loads = {s["set"]: s["load_kg"] for s in d["sets"]}
    assert len(loads) >= 2 and loads[2] == 110.0 and all(kg == 100.0 for n, kg in loads.items() if n != 2)
    for args in (["--load", "heavy"], ["--date", "2026-13-01"]):
        with pytest.raises(SystemExit) as ei:
            main(["analyze", str(sim_deadlift_dir), *args, "--quiet"])
        assert ei.value.code == 2


def test_capture_stores_the_athlete_and_loads_in_the_recording(tmp_path):
    from barback.sensor.recording import RecordingMeta

    out = tmp_path / "rec"
    assert main(["capture", "--emulate", "--bar", "x", "--out", str(out), "--duration", "2", "--no-bell",
                 "--athlete", "Ana K", "--load", "1=100,2=120"]) == 0
    meta = RecordingMeta.from_json((out / "recording.json").read_text())
    assert meta.athlete == "Ana K" and meta.loads_kg == {"1": 100.0, "2": 120.0}


def test_the_table_and_the_report_name_the_athlete_date_and_loads(sim_deadlift_dir, tmp_path, capsys):
    rep = tmp_path / "r.html"
    assert main(["analyze", str(sim_deadlift_dir), "--athlete", "Ana K", "--load", "100", "--date", "2026-11-30",
                 "--report", str(rep), "--quiet"]) == 0
    assert "Ana K · 2026-11-30: deadlift" in " ".join(capsys.readouterr().out.split())
    html = rep.read_text()
    assert "<td>Ana K</td>" in html and "<td>2026-11-30</td>" in html and "set 1: 100 kg" in html


def test_outputs_are_not_written_over_without_force(tmp_path, sim_deadlift_dir, capsys):
    """Issue 14 item 5: export, simulate and report replaced what was there without a word."""
    sim = tmp_path / "s"
    assert main(["simulate", str(sim), "--sets", "1", "--reps", "2"]) == 0
    before = (sim / "session.json").read_text()
    assert main(["simulate", str(sim), "--sets", "1", "--reps", "3", "--seed", "4"]) == 2
    assert "holds files already" in capsys.readouterr().err and (sim / "session.json").read_text() == before
    assert main(["simulate", str(sim), "--sets", "1", "--reps", "3", "--seed", "4", "--force"]) == 0
    out = tmp_path / "csv"
    assert main(["export", str(DEMO_RECORDING), "--out", str(out)]) == 0
    assert main(["export", str(DEMO_RECORDING), "--out", str(out)]) == 2
    rep = tmp_path / "r.html"
    rep.write_text("the coach's notes")
    assert main(["report", str(sim_deadlift_dir), "--out", str(rep)]) == 2
    assert rep.read_text() == "the coach's notes" and "add --force" in capsys.readouterr().err
    assert main(["report", str(sim_deadlift_dir), "--out", str(rep), "--force"]) == 0
    assert rep.read_text().startswith("<!DOCTYPE html>")
