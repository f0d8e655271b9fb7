"""A training session walked through as a lifter and coach run it (issue 14): a live capture with
emulated sensors in a real terminal (tmux), two sets whose loads are typed between them, the
audio cues rendered to a WAV file, then the report and the history."""

import json
import os
import shutil
import subprocess
import sys
import time
import wave

import numpy as np
import pytest

from barback.cli import main
from barback.simulation.simulate import scenario, simulate, write_recording

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _screen(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout


def _wait_for(name: str, text: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        s = _screen(name)
        if text in " ".join(s.split()):
            return s
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared; the screen:\n{_screen(name)}")


def test_a_session_walked_through(tmp_path):
    # what the emulated sensors play: two sets of three deadlifts, 35 s apart
    src = write_recording(simulate(scenario("deadlift_100hz", seed=11, sets=2, reps_per_set=3, rest_s=(35.0, 35.5))),
                          tmp_path / "source")
    rec, wav = tmp_path / "archive" / "monday", tmp_path / "cues.wav"
    name = f"barback-walk-{os.getpid()}"
    env_path = os.pathsep.join(p for p in sys.path if p)
    cmd = (f"env -u COLUMNS -u LINES PYTHONPATH={env_path} {sys.executable} -m barback.cli capture --emulate "
           f"--bar x --lumbar-upper x --lumbar-lower x --source {src} --out {rec} --duration 72 --no-bell "
           f"--athlete Ana --audio-out {wav}; sleep 60")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "150", "-y", "50", cmd], check=True)
    try:
        deadline = time.monotonic() + 150
        _wait_for(name, "Ctrl-C to stop", deadline)
        subprocess.run(["tmux", "send-keys", "-t", name, "l 80", "Enter"], check=True)  # before the first set
        _wait_for(name, "set 1: 80 kg", deadline)
        _wait_for(name, "set 1 rep 3", deadline)
        subprocess.run(["tmux", "send-keys", "-t", name, "l 100", "Enter"], check=True)  # resting: the next set's
        _wait_for(name, "set 2: 100 kg", deadline)
        _wait_for(name, "recorded", deadline)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
    meta = json.loads((rec / "recording.json").read_text())
    assert meta["athlete"] == "Ana" and meta["loads_kg"] == {"1": 80.0, "2": 100.0}

    # the cues a lifter heard: one high beep a rep, six reps
    with wave.open(str(wav)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float) / 32768.0
        fs = w.getframerate()
    frames = np.abs(x[:len(x) // 80 * 80]).reshape(-1, 80).max(axis=1) > 0.05  # 5 ms frames at 16 kHz
    onsets = np.flatnonzero(np.diff(frames.astype(int)) == 1)
    beeps = [k for k in onsets if abs(np.argmax(np.abs(np.fft.rfft(x[k * 80:k * 80 + 800] * np.hanning(800)))) * fs / 800 - 880) < 30]
    assert len(beeps) == 6

    # the report names the athlete and the loads; the history stores the session with them
    report = tmp_path / "r.html"
    assert main(["report", str(rec), "--out", str(report)]) == 0
    html = report.read_text()
    assert "<td>Ana</td>" in html and "set 1: 80 kg" in html and "set 2: 100 kg" in html
    db, out = tmp_path / "h.sqlite", tmp_path / "h.json"
    assert main(["batch", str(tmp_path / "archive"), "--db", str(db)]) == 0
    assert main(["history", "--db", str(db), "--athlete", "Ana", "--json", str(out)]) == 0
    h = json.loads(out.read_text())
    assert len(h["sessions"]) == 1 and h["sessions"][0]["athlete"] == "Ana" and h["sessions"][0]["n_reps"] == 6
    assert h["sessions"][0]["top_load_kg"] == 100.0
