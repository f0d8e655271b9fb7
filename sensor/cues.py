"""Audio cues for each rep, as the best velocity apps give them: a sound the lifter hears without
looking at a screen.

Two voices, chosen by `--audio`:

* `tones`: distinct sounds, synthesised here: one short high beep per rep, two low beeps for a
  form flag, and a falling three-note call when the set's velocity loss reaches the threshold
  ("stop").
* `speech`: the rep's mean velocity ("0.52"), the flag in two or three words, and "stop", spoken
  by the system's speech engine (espeak-ng or espeak on Linux, `say` on macOS).

The builders are pure (`cues_for`, `tone`, `CueTrack.render`); playing a sound is at the edge
(`CuePlayer`). `CueTrack` places every cue on the session clock and writes the whole track as a
WAV file, which is what the tests listen to.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from barback.sensor.live import LiveRep

FS_HZ = 16_000
MODES = ("off", "tones", "speech")

# (frequency Hz, seconds) per note, 0 Hz a rest: the three sounds must differ at a glance by ear
TONES: dict[str, tuple[tuple[float, float], ...]] = {
    "rep": ((880.0, 0.12),),
    "flag": ((440.0, 0.15), (0.0, 0.08), (440.0, 0.15)),
    "stop": ((660.0, 0.2), (494.0, 0.2), (330.0, 0.35)),
}
# a flag in a few words, for speech (the full cue is on the screen)
FLAG_WORDS = {
    "lumbar_flexion": "back rounding",
    "lumbar_flexion_drift": "rounding more",
    "hips_rise_early": "hips first",
    "lockout_hyperextension": "don't lean back",
    "bar_drift": "bar close",
    "velocity_loss": "slowing down",
    "side_bend": "square up",
    "twist": "chest square",
    "bar_tilt": "level the bar",
}
GAP_S = 0.1  # between the sounds of one rep


class AudioUnavailable(RuntimeError):
    """No speech engine or sound player: the message says what to install or use instead."""


@dataclass(frozen=True)
class Cue:
    kind: str  # "rep", "flag" or "stop"
    text: str  # what speech says
    at_s: float  # when, on the session clock


def cues_for(live: LiveRep, vl_threshold_pct: float, stop_said: bool) -> list[Cue]:
    """The cues of one reported rep: the rep, each flag but velocity loss, and "stop" when the
    set's velocity loss reaches the threshold (once a set: `stop_said`)."""
    r = live.result
    at = live.reported_s if live.reported_s == live.reported_s else r.concentric_end_s
    mv = r.mean_velocity_mps
    out = [Cue("rep", f"{mv:.2f}" if mv == mv else f"rep {live.rep}", at)]
    for f in r.flags:
        if f.name != "velocity_loss":
            out.append(Cue("flag", FLAG_WORDS.get(f.name, f.name.replace("_", " ")), at))
    vl = live.velocity_loss_pct
    if not stop_said and vl == vl and vl >= vl_threshold_pct:
        out.append(Cue("stop", "stop", at))
    return out


def tone(kind: str, fs_hz: int = FS_HZ) -> np.ndarray:
    """The sound of a cue kind, float samples in [-1, 1], 5 ms fades against clicks."""
    parts = []
    for f_hz, dur_s in TONES[kind]:
        t = np.arange(int(dur_s * fs_hz)) / fs_hz
        x = 0.6 * np.sin(2 * np.pi * f_hz * t) if f_hz > 0 else np.zeros(len(t))
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005) if len(t) else t
        parts.append(x * ramp)
    return np.concatenate(parts) if parts else np.zeros(0)


LIBRARY = ["library"]  # the eSpeak NG library of the `speech` extra (espeakng-loader), called in-process


def speech_engine() -> list[str] | None:
    """The speech engine: the eSpeak NG library of the `speech` extra when installed, else the
    command that speaks text to a WAV on stdout, or writes one (`{out}`); None without any."""
    try:
        import espeakng_loader  # noqa: F401

        return LIBRARY
    except ImportError:
        pass
    for name in ("espeak-ng", "espeak"):
        path = shutil.which(name)
        if path:
            return [path, "-s", "170", "--stdout"]
    path = shutil.which("say")  # macOS
    if path:
        return [path, "--data-format=LEI16@16000", "-o", "{out}"]
    return None


def speak(text: str, fs_hz: int = FS_HZ, engine: list[str] | None = None) -> np.ndarray:
    """`text` spoken by the system's engine, as float samples at `fs_hz`."""
    engine = engine or speech_engine()
    if engine is None:
        raise AudioUnavailable("no speech engine found (install espeak-ng, or use --audio tones)")
    if engine is LIBRARY:
        rate, x = _espeak_library().synth(text)
        if rate != fs_hz and len(x) > 1:
            x = np.interp(np.arange(int(len(x) * fs_hz / rate)) * rate / fs_hz, np.arange(len(x)), x)
        return x
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "say.wav"
        cmd = [a.replace("{out}", str(out)) for a in engine] + [text]
        run = subprocess.run(cmd, capture_output=True, timeout=10, check=False)
        if run.returncode != 0:
            raise AudioUnavailable(f"the speech engine failed: {run.stderr.decode(errors='replace').strip()[:120]}")
        data = out.read_bytes() if "{out}" in " ".join(engine) else run.stdout
        return _read_wav_bytes(data, fs_hz)


class _EspeakLibrary:
    """eSpeak NG's C API through ctypes: synchronous synthesis into a callback that keeps the
    samples (16-bit mono at the rate espeak_Initialize returns)."""

    AUDIO_OUTPUT_SYNCHRONOUS = 0x02
    POS_CHARACTER = 1
    CHARS_UTF8 = 1

    def __init__(self) -> None:
        import ctypes

        import espeakng_loader

        self._lib = lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.rate = lib.espeak_Initialize(self.AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                          espeakng_loader.get_data_path().encode(), 0)
        if self.rate <= 0:
            raise AudioUnavailable("the eSpeak NG library did not start")
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName(b"en")
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._chunks: list[np.ndarray] = []

        def keep(wav, n, events):
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(float) / 32768.0)
            return 0

        self._callback = callback_type(keep)  # held: the library calls it after this returns
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    def synth(self, text: str) -> tuple[int, np.ndarray]:
        self._chunks = []
        data = text.encode() + b"\0"
        self._lib.espeak_Synth(data, len(data), 0, self.POS_CHARACTER, 0, self.CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        return self.rate, np.concatenate(self._chunks) if self._chunks else np.zeros(0)


_LIBRARY: _EspeakLibrary | None = None


def _espeak_library() -> _EspeakLibrary:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _EspeakLibrary()
    return _LIBRARY


def _read_wav_bytes(data: bytes, fs_hz: int) -> np.ndarray:
    with wave.open(io.BytesIO(data), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise AudioUnavailable(f"the speech engine gave {8 * width}-bit audio; 16-bit expected")
    x = np.frombuffer(raw, "<i2").astype(float).reshape(-1, channels).mean(axis=1) / 32768.0
    if rate != fs_hz and len(x) > 1:
        x = np.interp(np.arange(int(len(x) * fs_hz / rate)) * rate / fs_hz, np.arange(len(x)), x)
    return x


def sound_of(cue: Cue, mode: str, fs_hz: int = FS_HZ) -> np.ndarray:
    return speak(cue.text, fs_hz) if mode == "speech" else tone(cue.kind, fs_hz)


def write_wav(target, samples: np.ndarray, fs_hz: int = FS_HZ) -> None:
    """16-bit mono WAV to a path or a binary file."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(target if hasattr(target, "write") else str(target), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(fs_hz)
        w.writeframes(pcm.tobytes())


@dataclass
class CueTrack:
    """Every cue of a session on its clock, rendered as one track (what a lifter heard)."""

    mode: str
    vl_threshold_pct: float
    cues: list[Cue] = field(default_factory=list)
    _stopped_sets: set[int] = field(default_factory=set)

    def add(self, live: LiveRep) -> list[Cue]:
        new = cues_for(live, self.vl_threshold_pct, live.set in self._stopped_sets)
        if any(c.kind == "stop" for c in new):
            self._stopped_sets.add(live.set)
        self.cues += new
        return new

    __call__ = add  # a track is an on_rep callback, as a player is

    def render(self, duration_s: float, fs_hz: int = FS_HZ) -> np.ndarray:
        """The track from 0 to `duration_s` (longer if the last cue runs on); the sounds of one
        rep follow each other, a later rep's never overlaps an earlier one's."""
        out = np.zeros(int(duration_s * fs_hz) + 1)
        free_at = 0
        for c in self.cues:
            x = sound_of(c, self.mode, fs_hz)
            start = max(int(c.at_s * fs_hz), free_at)
            end = start + len(x)
            if end > len(out):
                out = np.concatenate([out, np.zeros(end - len(out))])
            out[start:end] += x
            free_at = end + int(GAP_S * fs_hz)
        return out


class CuePlayer:
    """Plays each rep's cues as it is reported, through the system's sound player (aplay,
    paplay or pw-play on Linux, afplay on macOS), without waiting for it to finish."""

    PLAYERS: tuple[tuple[str, list[str]], ...] = (("pw-play", []), ("paplay", []), ("aplay", ["-q"]), ("afplay", []))

    def __init__(self, mode: str, vl_threshold_pct: float) -> None:
        self.track = CueTrack(mode, vl_threshold_pct)
        self.mode = mode
        if mode == "speech" and speech_engine() is None:
            raise AudioUnavailable("no speech engine found (install espeak-ng, or use --audio tones)")
        self.player = next(([p, *a] for p, a in self.PLAYERS if shutil.which(p)), None)
        self._dir: Path | None = None  # the cues' sound files, removed when the process ends
        self._n = 0

    def __call__(self, live: LiveRep) -> None:
        cues = self.track.add(live)
        if not cues or self.player is None:
            return
        gap = np.zeros(int(GAP_S * FS_HZ))
        x = np.concatenate([np.concatenate([sound_of(c, self.mode), gap]) for c in cues])
        if self._dir is None:
            import atexit

            self._dir = Path(tempfile.mkdtemp(prefix="barback-cues-"))
            atexit.register(shutil.rmtree, self._dir, True)
        self._n += 1
        path = self._dir / f"cue{self._n}.wav"
        write_wav(path, x)
        subprocess.Popen([*self.player, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
