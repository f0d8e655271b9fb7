"""A generated fault suite: damaged and lying inputs run through the command users run.

Each case takes a small, valid session (a native recording of three WitMotion sensors, or the
same session as generic CSV) and damages or falsifies one thing: it cuts, flips or lies in the
bytes of the native stream; stamps one record or row far away; writes milliseconds under a
seconds header, huge values, junk rows; replaces a file by a named pipe, a folder, an empty file
or a link (to /dev/zero, out of the folder, to itself); lies in the metadata; or, on a recording
of sensors with their own clocks (Movesense), makes one notification's stamp wild or reboots the
bar sensor mid-session (its clock begins again near zero). Then it runs
`barback analyze` in this process and checks what a user is owed:

* exit 0 (a recovery), or exit 2 with exactly one error line; never a traceback, an "internal
  error", or a hang (each case is bounded by an alarm);
* memory bounded by the data, not by its timestamps: each case runs with its address space
  limited to what the process held plus `CASE_MEMORY_MB` (the small session needs tens of MB; a
  grid sized by one far stamp needs gigabytes, fails to allocate, and is caught as a defect);
* every intact record of a damaged stream read back, and the damage named in a warning;
* every good row of a CSV with junk rows in it kept;
* a sensor clock's glitch or restart recovered from: no sample lost beyond the glitched
  notification's (counted from the undamaged bytes), no data shifted by more than a reboot's
  pause, the restart named in a warning.

Used by `tests/faults/test_fault_suite.py` (442 cases) and by `make bench` (the totals over
2,000 others)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import resource
import shutil
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NATIVE_KINDS = ("truncate", "flip", "lying_length", "far_host_stamp")
CSV_KINDS = ("csv_truncate", "csv_junk", "csv_far_stamp", "csv_huge", "csv_ms", "meta_lie", "special_file")
# on a recording of sensors that stamp samples by their own clock (Movesense): one notification's
# stamp wild, or the bar sensor rebooting mid-session (its clock begins again near zero)
CLOCK_KINDS = ("clock_glitch", "clock_restart")
KINDS = NATIVE_KINDS + CSV_KINDS + CLOCK_KINDS
CLOCK_RESTART_MAX_SHIFT_S = 2.0  # a reboot may cost the time the sensor was off, not more
CASE_MEMORY_MB = 1536  # room for one case above what the process already holds
CASE_TIMEOUT_S = 60


@dataclass
class Outcome:
    kind: str
    seed: int
    exit_code: int
    refused: bool
    problems: list[str] = field(default_factory=list)  # what the user was not owed
    lost_records: int = 0
    lost_samples: int = 0  # good samples lost (a clock case's beyond the glitched packet's)


@dataclass
class Totals:
    cases: int = 0
    recovered: int = 0
    refused: int = 0
    lost_records: int = 0
    lost_samples: int = 0
    hangs: int = 0
    by_kind: Counter = field(default_factory=Counter)
    failures: list[Outcome] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        self.cases += 1
        self.by_kind[o.kind] += 1
        self.refused += o.refused
        self.recovered += not o.refused and not o.problems
        self.lost_records += o.lost_records
        self.lost_samples += o.lost_samples
        self.hangs += any("hang" in p for p in o.problems)
        if o.problems:
            self.failures.append(o)


def base_sessions(root: Path) -> tuple[Path, Path, Path]:
    """The small valid session, as a native recording (WitMotion, stamped on arrival), as a CSV
    session, and as a native recording of sensors with their own clocks (Movesense)."""
    from barback.simulation.simulate import scenario, simulate, write_recording, write_session

    sim = simulate(scenario("deadlift_52hz", seed=5, sets=1, reps_per_set=3))
    clocked = write_recording(sim, root / "movesense", device="movesense")
    t = sim.sensors["bar"]["time_s"]  # how long the bar sensor sent, from the simulator
    (clocked / "duration.json").write_text(json.dumps({"bar_s": float(t[-1] - t[0])}))
    return write_recording(sim, root / "native"), write_session(sim, root / "csv"), clocked


def _bar_notifications(data: bytes) -> list[tuple[int, int]]:
    """The bar sensor's (id 0) notification records: (record start, samples it holds), from the
    bytes of the undamaged stream."""
    from barback.sensor.recording import CRC, RECORD_HEAD, RecordType

    out = []
    for a, end in _record_spans(data):
        _, rtype, sensor, _, _, _ = RECORD_HEAD.unpack_from(data, a)
        if rtype == int(RecordType.NOTIFICATION) and sensor == 0 and data[a + RECORD_HEAD.size] == 2:
            out.append((a, (end - a - RECORD_HEAD.size - CRC.size - 6) // 24))
    return out


def _damage_clock(rng: np.random.Generator, kind: str, stream: Path) -> tuple[int, int]:
    """Falsify the bar sensor's own stamps in place (CRCs made right, so the records are intact).
    Returns the samples the bar sensor sent and how many of them the damage may cost: one
    notification's for a glitch (it cannot be placed in time), none for a restart."""
    import zlib

    from barback.sensor.recording import CRC, RECORD_HEAD

    data = bytearray(stream.read_bytes())
    notes = _bar_notifications(bytes(data))
    total = sum(n for _, n in notes)
    at = RECORD_HEAD.size + 2  # the IMU6 payload: [resp][ref][uint32 ms]

    def stamp(a: int) -> int:
        return int.from_bytes(data[a + at:a + at + 4], "little")

    def restamp(a: int, ts: int) -> None:
        data[a + at:a + at + 4] = (ts & 0xFFFFFFFF).to_bytes(4, "little")
        end = a + RECORD_HEAD.size + RECORD_HEAD.unpack_from(data, a)[-1]
        data[end:end + CRC.size] = CRC.pack(zlib.crc32(bytes(data[a + 1:end])))

    j = int(rng.integers(3, len(notes) - 3))
    if kind == "clock_glitch":
        a, n = notes[j]
        ts = stamp(a)
        restamp(a, int(rng.choice([ts ^ (1 << int(rng.integers(20, 32))), 0xFFFFFF00, ts + 10**7,
                                   ts + int(rng.integers(10_000, 2**31))])))
        may_lose = n
    else:  # clock_restart: from notification j on, the clock counts again from near zero
        t0 = stamp(notes[j][0]) - int(rng.integers(0, 500))
        for a, _ in notes[j:]:
            restamp(a, stamp(a) - t0)
        may_lose = 0
    stream.write_bytes(bytes(data))
    return total, may_lose


def _record_spans(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the records of an undamaged stream (they follow each other from the header)."""
    from barback.sensor.recording import CRC, FILE_HEADER, RECORD_HEAD

    spans, pos = [], FILE_HEADER.size
    while pos + RECORD_HEAD.size <= len(data):
        length = RECORD_HEAD.unpack_from(data, pos)[-1]
        end = pos + RECORD_HEAD.size + length + CRC.size
        spans.append((pos, end))
        pos = end
    return spans


def _damage_native(rng: np.random.Generator, kind: str, stream: Path) -> int:
    """Damage the stream in place; returns how many records stay intact."""
    import zlib

    from barback.sensor.recording import CRC, RECORD_HEAD

    data = bytearray(stream.read_bytes())
    spans = _record_spans(bytes(data))
    if kind == "truncate":
        cut = int(rng.integers(0, len(data)))
        del data[cut:]
        intact = sum(end <= cut for _, end in spans)
    elif kind == "flip":
        at = rng.integers(0, len(data), size=int(rng.integers(1, 30)))
        if rng.random() < 0.2:
            at[0] = rng.integers(0, 8)  # the file header too
        for i in at:
            data[i] ^= int(rng.integers(1, 256))
        starts = np.array([a for a, _ in spans])
        hit = {int(np.searchsorted(starts, i, side="right")) - 1 for i in at}
        intact = len(spans) - len(hit - {-1})
    elif kind == "lying_length":
        near_end = rng.random() < 0.5  # a length that runs past the end of the file
        j = int(rng.integers(max(0, len(spans) - 60), len(spans))) if near_end else int(rng.integers(0, len(spans)))
        a = spans[j][0] + RECORD_HEAD.size - 2
        true = int.from_bytes(data[a:a + 2], "little")
        past_end = len(data) - spans[j][0] - RECORD_HEAD.size - CRC.size + 1
        lie = (int(rng.integers(past_end, 4097)) if near_end and past_end <= 4096 else
               int(rng.choice([0, true - 1, true + 1, int(rng.integers(0, 65536))])))
        data[a:a + 2] = (lie if lie != true else true + 7).to_bytes(2, "little")
        intact = len(spans) - 1
    else:  # far_host_stamp: one well-formed record (its CRC made right) stamped far away
        j = int(rng.integers(0, len(spans)))
        a, end = spans[j]
        t = int(rng.choice([2**62, -(2**62), 10**15, 10**12 * int(rng.integers(1, 1000))]))
        data[a + 4:a + 12] = t.to_bytes(8, "little", signed=True)
        data[end - CRC.size:end] = CRC.pack(zlib.crc32(bytes(data[a + 1:end - CRC.size])))
        intact = len(spans)
    stream.write_bytes(bytes(data))
    return intact


def _damage_csv(rng: np.random.Generator, kind: str, folder: Path) -> None:
    meta_path = folder / "session.json"
    meta = json.loads(meta_path.read_text())
    role = str(rng.choice(sorted(meta["sensors"])))
    path = folder / meta["sensors"][role]
    lines = path.read_text().splitlines(keepends=True)
    if kind == "csv_truncate":
        raw = path.read_bytes()
        path.write_bytes(raw[:int(rng.integers(0, len(raw)))])
    elif kind == "csv_junk":
        for _ in range(int(rng.integers(1, 20))):
            junk = rng.choice(["\n", ",,,,,,\n", "nan,x,y\n", '"\n', "\x00\x01\x02\n", "1,2\n", "time_s,acc\n",
                               "".join(chr(int(c)) for c in rng.integers(32, 127, 30)) + "\n"])
            lines.insert(int(rng.integers(1, len(lines) + 1)), str(junk))
        path.write_text("".join(lines))
    elif kind == "csv_far_stamp":
        i = int(rng.integers(1, len(lines)))
        cells = lines[i].rstrip("\n").split(",")
        cells[0] = str(rng.choice(["1e6", "1e15", "-1e9", "4294967296", "1e308", "inf", "-inf", "nan"]))
        lines[i] = ",".join(cells) + "\n"
        path.write_text("".join(lines))
    elif kind == "csv_huge":
        for _ in range(int(rng.integers(1, 10))):
            i = int(rng.integers(1, len(lines)))
            cells = lines[i].rstrip("\n").split(",")
            cells[int(rng.integers(1, len(cells)))] = str(rng.choice(["1e200", "-1e300", "inf", "nan", "9" * 400]))
            lines[i] = ",".join(cells) + "\n"
        path.write_text("".join(lines))
    elif kind == "csv_ms":
        head, rows = lines[0], np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        rows[:, 0] *= 1000.0
        np.savetxt(path, rows, delimiter=",", header=head.strip(), comments="", fmt="%.10g")
    elif kind == "special_file":  # the role's file is not a regular file of the folder
        import os

        path.unlink()
        what = str(rng.choice(["fifo", "folder", "link_zero", "link_out", "empty", "link_loop"]))
        if what == "fifo":
            os.mkfifo(path)
        elif what == "folder":
            path.mkdir()
        elif what == "link_zero":
            path.symlink_to("/dev/zero")
        elif what == "link_out":
            path.symlink_to(folder.parent / "outside.csv")
            (folder.parent / "outside.csv").write_text("".join(lines))
        elif what == "link_loop":
            path.symlink_to(path.name)
        else:
            path.write_text("")
    else:  # meta_lie
        key = str(rng.choice(["exercise", "sensors", "loads_kg", "athlete", "date", "rate_hz", "whole"]))
        lies: dict[str, list] = {
            "exercise": ["deadlfit", "", None, 3, ["deadlift"]],
            "sensors": [{"bar": "../../../../etc/passwd"}, {"bar": "/dev/zero"}, {}, {"bar": "missing.csv"},
                        {"bar": meta["sensors"][role], "lumbar_upper": meta["sensors"][role]}, "bar.csv", None],
            "loads_kg": [{"1": "heavy"}, [1, 2], {"1": -5}, {"0": 100}, {"1": 1e300}],
            "athlete": [{"x": 1}, 7, "a" * 10_000],
            "date": ["yesterday", 12, "2026-13-45"],
            "rate_hz": [0, -1, "fast", 1e300],
        }
        if key == "whole":
            meta_path.write_text(str(rng.choice(["", "{", "[]", "null", '"x"', "{\"exercise\": }"])))
            return
        meta[key] = lies[key][int(rng.integers(0, len(lies[key])))]
        meta_path.write_text(json.dumps(meta))


class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


def run_case(kind: str, seed: int, bases: tuple[Path, Path, Path], work: Path) -> Outcome:
    """Damage a copy of the base session, run `barback analyze` on it, judge what came back."""
    from barback.cli import main
    from barback.sensor.recording import read_recording

    rng = np.random.default_rng([seed, KINDS.index(kind)])
    native, clock = kind in NATIVE_KINDS, kind in CLOCK_KINDS
    folder = work / f"{kind}-{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(bases[2] if clock else bases[0] if native else bases[1], folder)
    intact = _damage_native(rng, kind, folder / "stream.bbr") if native else 0
    sent = may_lose = 0
    if clock:
        sent, may_lose = _damage_clock(rng, kind, folder / "stream.bbr")
    elif not native:
        _damage_csv(rng, kind, folder)
    out = folder / "result.json"
    err = io.StringIO()
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CASE_TIMEOUT_S)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    held = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    cap = held + CASE_MEMORY_MB * 2**20
    if limits[1] != resource.RLIM_INFINITY:
        cap = min(cap, limits[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    problems: list[str] = []
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["analyze", str(folder), "--json", str(out), "--quiet"])
    except _Hang:
        rc, problems = -1, [f"hang: no answer within {CASE_TIMEOUT_S} s"]
    except BaseException as exc:  # noqa: BLE001 - anything escaping main is a defect
        rc, problems = -1, [f"escaped main: {type(exc).__name__}: {exc}"]
    finally:
        resource.setrlimit(resource.RLIMIT_AS, limits)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    lines = [x for x in err.getvalue().splitlines() if x.strip()]
    errors = [x for x in lines if "error:" in x]
    if any("Traceback" in x or "internal error" in x for x in lines):
        problems.append("traceback or internal error: " + " | ".join(lines[-3:]))
    if rc == 2 and len(errors) != 1:
        problems.append(f"refused with {len(errors)} error lines")
    if rc not in (0, 2, -1):
        problems.append(f"exit {rc}")
    if rc == 0 and not out.exists():
        problems.append("exit 0 without a result")
    if any("MemoryError" in x or "memory" in x.lower() for x in errors):
        problems.append(f"out of memory within {CASE_MEMORY_MB} MB: " + " | ".join(errors))
    lost = 0
    if native and rc in (0, 2):
        try:
            _, records, rep = read_recording(folder)
        except (OSError, ValueError):
            records, rep = [], None
        lost = max(0, intact - len(records))
        if lost:
            problems.append(f"{lost} intact record(s) lost" + (" (refused)" if rc == 2 else ""))
    if native and rc == 0 and rep is not None:
        damaged = (rep.corrupt_records or rep.truncated_tail or rep.skipped_bytes or rep.header_damaged)
        if damaged and not any("skipped" in x or "cut short" in x or "damaged" in x for x in lines):
            problems.append("damage not named in a warning")
    lost_samples = 0
    if clock:
        clock_problems, lost_samples = _judge_clock(kind, rc, out, lines, sent, may_lose, bases[2])
        problems += clock_problems
    if kind == "csv_junk" and rc == 0:
        from barback.sessions.csv_format import load_session

        with contextlib.redirect_stderr(io.StringIO()):
            good, got = load_session(bases[1]), load_session(folder)
        for role, s in good.streams.items():
            if len(got.streams[role].t_s) != len(s.t_s):
                problems.append(f"{role}: {len(s.t_s) - len(got.streams[role].t_s)} good row(s) lost to junk")
    shutil.rmtree(folder, ignore_errors=True)
    return Outcome(kind, seed, rc, rc == 2, problems, lost, lost_samples)


def _judge_clock(kind: str, rc: int, out: Path, lines: list[str], sent: int, may_lose: int,
                 base: Path) -> tuple[list[str], int]:
    """A falsified sensor clock is recovered from (exit 0), losing no more samples than the damage
    may cost and shifting none by more than a reboot's pause; a restart is named in a warning.
    Returns the problems and the good samples lost (beyond what the damage may cost)."""
    if rc != 0:
        return [f"a {kind.replace('_', ' ')} refused (exit {rc}): the data are all there"], 0
    bar = next((s for s in json.loads(out.read_text())["sensors"] if s["role"] == "bar"), None)
    if bar is None:
        return ["no bar sensor in the result"], 0
    problems = []
    lost = sent - int(bar["n_samples"])
    if lost > may_lose or lost < 0:
        problems.append(f"bar: {lost} of {sent} samples lost to a {kind.replace('_', ' ')} (at most {may_lose})")
    base_s = float(json.loads((base / "duration.json").read_text())["bar_s"])
    if abs(float(bar["duration_s"]) - base_s) > CLOCK_RESTART_MAX_SHIFT_S:
        problems.append(f"bar: {bar['duration_s']:.1f} s of data where the sensor sent {base_s:.1f} s "
                        "(samples overlaid or pushed away)")
    if kind == "clock_restart" and not any("clock began again" in x for x in lines):
        problems.append("a sensor's clock restart not named in a warning")
    named = [int(m.group(1)) for x in lines if (m := re.search(r"bar: dropped \d+ packet\(s\) \((\d+) sample", x))]
    if lost > 0 and sum(named) != lost:
        problems.append(f"bar: {lost} sample(s) lost, {sum(named)} counted in a warning")
    return problems, max(0, lost - may_lose)


def run_suite(n_cases: int, work: Path, first_seed: int = 0) -> Totals:
    """`n_cases` cases, the kinds in turn, each with its own seed."""
    work.mkdir(parents=True, exist_ok=True)
    bases = base_sessions(work / "base")
    totals = Totals()
    for i in range(n_cases):
        totals.add(run_case(KINDS[i % len(KINDS)], first_seed + i // len(KINDS), bases, work))
    return totals


# --- concurrent writers: several `barback batch` on one database at once -------------------------

def concurrent_archive(root: Path, n_sessions: int = 6) -> Path:
    """Small sessions, two athletes, for the concurrent-writer cases."""
    from barback.simulation.simulate import scenario, simulate, write_session

    for i in range(n_sessions):
        cfg = scenario("deadlift_52hz", seed=700 + i, sets=1, reps_per_set=2, fault_rate=0.0)
        who = "ana" if i % 2 else "ben"
        write_session(simulate(cfg), root / who / f"s{i}", {"athlete": who, "date": f"2026-10-{1 + i:02d}"})
    return root


def run_concurrent_case(seed: int, archive: Path, work: Path) -> Outcome:
    """Two or three `barback batch` processes on one database at once, over the whole archive or
    overlapping parts of it, started a moment apart, one of them perhaps killed (kill -9) midway
    and run again. Owed: every process not killed exits 0 with no traceback; every session of the
    archive is stored exactly once; none is counted as failed."""
    import os
    import sqlite3
    import subprocess
    import sys
    import time

    rng = np.random.default_rng([seed, 99])
    db = work / f"concurrent-{seed}.sqlite"
    db.unlink(missing_ok=True)
    parts = [archive, archive / "ana", archive / "ben"]
    n = int(rng.integers(2, 4))
    targets = [parts[0]] + [parts[int(rng.integers(0, 3))] for _ in range(n - 1)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    procs = []
    for target in targets:
        time.sleep(float(rng.uniform(0.0, 0.8)))
        cmd = [sys.executable, "-m", "barback.cli", "batch", str(target), "--db", str(db),
               "--workers", str(int(rng.integers(1, 3)))]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    killed = None
    if rng.random() < 0.4:
        time.sleep(float(rng.uniform(0.5, 3.0)))
        killed = int(rng.integers(0, len(procs)))
        procs[killed].kill()
    problems: list[str] = []
    for i, p in enumerate(procs):
        try:
            out, err = p.communicate(timeout=CASE_TIMEOUT_S * 3)
        except subprocess.TimeoutExpired:
            p.kill()
            problems.append(f"batch {i}: hang")
            continue
        if i == killed:
            continue
        if p.returncode != 0 or "Traceback" in err or "internal error" in err:
            problems.append(f"batch {i}: exit {p.returncode}: {err.strip().splitlines()[-1:] or ''}")
        elif "failed 0" not in out:
            problems.append(f"batch {i}: {out.strip().splitlines()[-1:]}")
    if killed is not None:  # the killed one, run again, must complete what it began
        again = subprocess.run([sys.executable, "-m", "barback.cli", "batch", str(targets[killed]), "--db", str(db)],
                               capture_output=True, text=True, env=env, timeout=CASE_TIMEOUT_S * 3)
        if again.returncode != 0:
            problems.append(f"the killed batch, run again: exit {again.returncode}")
    expected = sum(1 for _ in archive.rglob("session.json"))
    with sqlite3.connect(db) as con:
        hashes = [r[0] for r in con.execute("SELECT content_hash FROM sessions")]
    if len(hashes) != len(set(hashes)):
        problems.append(f"{len(hashes) - len(set(hashes))} session(s) stored twice")
    if len(set(hashes)) != expected:
        problems.append(f"{len(set(hashes))} of {expected} sessions stored")
    db.unlink(missing_ok=True)
    return Outcome("concurrent_batch", seed, 0, False, problems, 0)
