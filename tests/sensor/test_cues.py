"""Audio cues (issue 14 item 2): a cue every rep, rendered to a WAV file and listened to here."""

import json
import wave

import numpy as np
import pytest

from barback.cli import DEMO_RECORDING, main
from barback.sensor.cues import FS_HZ, TONES, CueTrack, cues_for, speech_engine, tone


def _runs(x: np.ndarray, fs: int) -> list[tuple[int, int]]:
    """Sounding stretches of a track: 5 ms frames above a floor, apart by silence."""
    f = int(0.005 * fs)
    n = len(x) // f
    loud = np.abs(x[:n * f]).reshape(n, f).max(axis=1) > 0.05
    d = np.diff(np.r_[0, loud.astype(int), 0])
    return [(a * f, b * f) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def _pitch_hz(x: np.ndarray, fs: int) -> float:
    """The strongest frequency of the first 50 ms (a windowed, zero-padded spectrum)."""
    s = x[:int(0.05 * fs)]
    spec = np.abs(np.fft.rfft(s * np.hanning(len(s)), 8 * fs // 10))
    return float(np.argmax(spec) * fs / (8 * fs // 10))


def test_the_three_sounds_differ():
    pitches = {k: _pitch_hz(tone(k), FS_HZ) for k in TONES}
    assert pitches["rep"] == pytest.approx(880, rel=0.05)
    assert pitches["flag"] == pytest.approx(440, rel=0.05)
    assert pitches["stop"] == pytest.approx(660, rel=0.05)
    assert len(_runs(tone("flag"), FS_HZ)) == 2 and len(_runs(tone("rep"), FS_HZ)) == 1
    assert abs(len(tone("stop")) - 0.75 * FS_HZ) <= 3  # three notes, 0.75 s


def test_replay_renders_a_cue_every_rep(tmp_path):
    """The demo replayed through the live path with its cue track written: as long as the
    recording, not silent, one high beep per rep, two low beeps per form flag, one falling call
    per set whose velocity loss reached the threshold. The expected counts come from the offline
    analysis of the same recording, not from the cue code."""
    wav, out = tmp_path / "cues.wav", tmp_path / "r.json"
    assert main(["replay", str(DEMO_RECORDING), "--audio-out", str(wav), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    with wave.open(str(wav)) as w:
        fs, n = w.getframerate(), w.getnframes()
        x = np.frombuffer(w.readframes(n), "<i2").astype(float) / 32768.0
    last_s = max(r["concentric_end_s"] for r in d["reps"])
    assert last_s < n / fs < last_s + 120  # the session's length (what follows the last rep included)
    assert np.abs(x).max() > 0.3
    kinds = []
    for a, b in _runs(x, fs):
        p = _pitch_hz(x[a:b], fs)
        kinds.append("rep" if 840 < p < 920 else "stop" if 630 < p < 690 else "flag" if 420 < p < 460 else "?")
    from barback.analysis.config import load_thresholds

    vl = load_thresholds().velocity_loss.threshold_pct
    flags = sum(len([f for f in r["flags"] if f != "velocity_loss"]) for r in d["reps"])
    stops = len({r["set"] for r in d["reps"] if (r["velocity_loss_pct"] or 0) >= vl})
    assert kinds.count("?") == 0
    assert kinds.count("rep") == len(d["reps"])
    assert kinds.count("flag") == 2 * flags
    assert kinds.count("stop") == stops


def test_stop_is_said_once_a_set():
    from barback.analysis.config import load_thresholds
    from barback.analysis.flags import SetTracker
    from barback.analysis.results import RepResult
    from barback.sensor.live import LiveRep

    track = CueTrack("tones", 20.0)
    tr = SetTracker("deadlift", load_thresholds())
    for k, mv in enumerate([0.60, 0.58, 0.45, 0.40, 0.38]):  # loss 25 % from rep 3 on
        r = tr.add(RepResult(set=1, rep=k + 1, concentric_start_s=3.0 * k, concentric_end_s=3.0 * k + 1.0,
                             peak_velocity_time_s=3.0 * k + 0.5, eccentric_start_s=None, eccentric_end_s=None,
                             lockout_end_s=3.0 * k + 1.5, setup_start_s=None, time_to_peak_velocity_s=0.5,
                             mean_velocity_mps=mv, peak_velocity_mps=mv * 1.6, rom_m=0.5))
        track.add(LiveRep(1, k + 1, r, r.velocity_loss_pct, 0.05, 3.0 * k + 1.3))
    assert [c.kind for c in track.cues].count("stop") == 1
    assert [c.text for c in track.cues if c.kind == "rep"] == ["0.60", "0.58", "0.45", "0.40", "0.38"]
    assert cues_for(LiveRep(2, 1, r, 30.0, 0.05, 99.0), 20.0, stop_said=False)[-1].kind == "stop"


def test_speech_without_an_engine_is_one_line(monkeypatch, capsys):
    import sys

    import barback.sensor.cues as cues

    monkeypatch.setattr(cues.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # the speech extra not installed
    assert main(["replay", str(DEMO_RECORDING), "--audio", "speech"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["barback: error: no speech engine found (install espeak-ng, or use --audio tones)"]


@pytest.mark.skipif(speech_engine() is None, reason="no speech engine (the speech extra, espeak-ng or say)")
def test_speech_renders_the_velocity_spoken(tmp_path):
    """--audio speech: each rep's velocity is spoken right after the rep (within 4 s of its end),
    and the track is silent where no rep ended."""
    wav, out = tmp_path / "cues.wav", tmp_path / "r.json"
    assert main(["replay", str(DEMO_RECORDING), "--audio", "speech", "--audio-out", str(wav), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    with wave.open(str(wav)) as w:
        fs = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float) / 32768.0
    assert np.abs(x).max() > 0.1
    ends = [r["concentric_end_s"] for r in d["reps"]]
    for t in ends:
        assert np.abs(x[int(t * fs):int((t + 4.0) * fs)]).max() > 0.1, f"nothing said after the rep ending at {t:.1f} s"
    quiet = [t for t in range(0, int(len(x) / fs) - 5, 5) if all(t + 5 <= e or t >= e + 9 for e in ends)]
    assert quiet and all(np.abs(x[t * fs:(t + 5) * fs]).max() < 0.01 for t in quiet)
