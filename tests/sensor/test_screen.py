"""The big live screen (issue 14 item 3): readable from the platform, checked as text and in a real
terminal (tmux), by reading what is on the screen."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from barback.sensor.screen import BigScreen, big_lines, fit_scale, parse_zone


def test_digits_fill_the_terminal():
    assert fit_scale("0.52", 160, 48) == 5  # 4 characters x 8 cells x 5 = 160 columns
    rows = big_lines("0.52", 5)
    assert len(rows) == 25 and max(len(r) for r in rows) <= 160
    assert fit_scale("0.52", 80, 24) == 2 and fit_scale("0.52", 10, 4) == 1


def test_zone_parsing():
    assert parse_zone("0.5-0.75") == (0.5, 0.75)
    for bad in ("0.75-0.5", "fast", "0.5", "-1-2"):
        with pytest.raises(ValueError):
            parse_zone(bad)


def _rep(set_no, rep_no, mv, vl, flags=()):
    from barback.analysis.results import FlagResult, RepResult
    from barback.sensor.live import LiveRep

    r = RepResult(set=set_no, rep=rep_no, concentric_start_s=0.0, concentric_end_s=1.0, peak_velocity_time_s=0.5,
                  eccentric_start_s=None, eccentric_end_s=None, lockout_end_s=1.5, setup_start_s=None,
                  time_to_peak_velocity_s=0.5, mean_velocity_mps=mv, peak_velocity_mps=1.6 * mv, rom_m=0.5)
    r.flags = [FlagResult(f, 1.0, "", "") for f in flags]
    return LiveRep(set_no, rep_no, r, vl, 0.05, 1.0)


def _text(group) -> str:
    import io

    from rich.console import Console

    c = Console(width=120, height=40, record=True, file=io.StringIO())
    c.print(group)
    return c.export_text()


def test_the_screen_says_zone_loss_power_flag_rest_and_summary():
    now = [0.0]
    s = BigScreen(20.0, zone_mps=(0.5, 0.75), loads_kg={1: 100.0}, clock=lambda: now[0])
    s.rep(_rep(1, 1, 0.62, 0.0))
    assert s.colour(0.62) == "bold green" and s.colour(0.45) == "bold red" and s.colour(0.9) == "bold yellow"
    t = _text(s.render(120, 40))
    assert "SET 1  REP 1" in t and "LOSS 0 %" in t and "608 W" in t and "ZONE 0.50-0.75" in t and "FORM OK" in t
    s.rep(_rep(1, 2, 0.48, 22.6, ["lumbar_flexion"]))
    t = _text(s.render(120, 40))
    assert "BACK ROUNDING" in t and "STOP: VELOCITY LOSS" in t
    now[0] = 5.0
    assert "REST 0:05" in _text(s.render(120, 40))
    now[0] = 70.0
    t = _text(s.render(120, 40))
    assert "SET 1 DONE: 2 REPS" in t and "BEST 0.62 m/s" in t and "LOSS 23 %" in t and "back rounding x1" in t


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_big_screen_in_a_real_terminal(tmp_path):
    """Replay the demo with --screen big in a tmux pane of 120 x 40 and read the screen: the digits
    fill it, and the information line, the zone and the power are there."""
    from barback.cli import DEMO_RECORDING

    name = f"barback-test-{os.getpid()}"
    env_path = os.pathsep.join(p for p in sys.path if p)
    # the pane's own size, not a COLUMNS or LINES this process may have in its environment
    cmd = (f"env -u COLUMNS -u LINES PYTHONPATH={env_path} {sys.executable} -m barback.cli replay {DEMO_RECORDING} --speed 8 "
           f"--screen big --zone 0.35-0.45 --load 100 --json {tmp_path / 'r.json'}; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmd], check=True)
    try:
        seen = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(1.0)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True,
                                    text=True).stdout
            if "REP" in screen and " W " in screen + " ":
                seen = screen
                break
        assert seen, "no rep on the screen within 90 s"
        rows = seen.splitlines()
        block = [r for r in rows if "█" in r]
        # four characters scaled as far as 120 columns allow (3x): 15 of the 40 rows, 84 columns
        assert len(block) >= 15 and max(len(r.rstrip()) for r in block) >= 80
        info = next(r for r in rows if "REP" in r)
        assert "SET 1" in info and "m/s" in info and "ZONE 0.35-0.45" in info and " W" in info
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_a_load_typed_during_capture_is_the_next_sets(tmp_path):
    """Issue 14 item 1: during a live capture, typing "l 120" and Enter sets the next set's load;
    it is stored in recording.json at once. Typed into a real terminal (tmux)."""
    import json

    from barback.analysis.imu import parse_load_entry

    assert [parse_load_entry(x) for x in ("l 120", "l120", "load 97.5", "120 kg", "heavy", "l -5", "")] == \
        [120.0, 120.0, 97.5, 120.0, None, None, None]
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = f"barback-load-{os.getpid()}"
    out = tmp_path / "rec"
    env_path = os.pathsep.join(p for p in sys.path if p)
    cmd = (f"env -u COLUMNS -u LINES PYTHONPATH={env_path} {sys.executable} -m barback.cli capture --emulate --bar x "
           f"--out {out} --duration 12 --no-bell; sleep 30")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", cmd], check=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Ctrl-C to stop" not in subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout:
            time.sleep(0.5)
        subprocess.run(["tmux", "send-keys", "-t", name, "l 120", "Enter"], check=True)
        loads = {}
        while time.monotonic() < deadline and not loads:
            time.sleep(0.5)
            if (out / "recording.json").exists():
                loads = json.loads((out / "recording.json").read_text()).get("loads_kg") or {}
        assert loads == {"1": 120.0}
        screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout
        assert "set 1: 120 kg" in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
