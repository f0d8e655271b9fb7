"""The generated fault suite (barback.simulation.faults): damaged and lying inputs through
`barback analyze`, each case judged on what a user is owed. `make bench` runs more than a
thousand; here a few hundred, other seeds."""

import pytest

from barback.simulation.faults import KINDS, base_sessions, concurrent_archive, run_case, run_concurrent_case


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return base_sessions(tmp_path_factory.mktemp("fault-base"))


@pytest.mark.parametrize("kind", KINDS)
def test_generated_faults(kind, bases, tmp_path):
    problems = []
    for seed in range(34):
        o = run_case(kind, seed, bases, tmp_path)
        problems += [f"seed {seed}: {p}" for p in o.problems]
    assert not problems, "\n".join(problems)


def test_the_suite_catches_a_lost_record(bases, tmp_path, monkeypatch):
    """The judge can fail: a reader that drops the last record it reads is caught as a loss."""
    import barback.sensor.recording as recording

    real = recording.iter_records

    def lossy(data, report=None):
        out = list(real(data, report))
        if report is not None:
            report.n_records -= 1
        return iter(out[:-1])

    monkeypatch.setattr(recording, "iter_records", lossy)
    o = run_case("truncate", 3, bases, tmp_path)
    assert any("lost" in p for p in o.problems)


def test_the_suite_catches_memory_sized_by_a_timestamp(bases, tmp_path, monkeypatch):
    """With the grid's bounds switched off, one far stamp sizes the grid: the case's memory cap
    makes that a failed allocation, and the judge reports it."""
    import barback.analysis.timebase as timebase

    monkeypatch.setattr(timebase, "MAX_GRID_FACTOR", 1e300)
    monkeypatch.setattr(timebase, "MAX_GRID_GAP_S", 1e300)
    monkeypatch.setattr(timebase, "STRAY_GAP_S", 1e300)
    outcomes = [run_case("csv_far_stamp", seed, bases, tmp_path) for seed in range(12)]
    assert any(o.problems for o in outcomes)


@pytest.mark.parametrize("kind", ["clock_glitch", "clock_restart"])
def test_the_suite_catches_a_sensor_clock_taken_at_its_word(kind, bases, tmp_path, monkeypatch):
    """The judge can fail: with the decoders' clock checks off (no glitch dropped, no restart
    re-based), a wild or restarted stamp costs samples and time, and the judge reports it."""
    import barback.sensor.decoders.base as base

    monkeypatch.setattr(base.SensorClock, "restarted", lambda self, sensor_s, host_s: False)
    monkeypatch.setattr(base.SensorClock, "jumps_ahead", lambda self, sensor_s, host_s: False)
    outcomes = [run_case(kind, seed, bases, tmp_path) for seed in range(4)]
    assert any(any("samples lost" in p for p in o.problems) for o in outcomes)


def test_a_stream_cut_to_a_few_samples_is_refused_in_one_line(bases, tmp_path):
    """Found by the suite (bench seed 10137): a stream cut after three bar samples ended in
    "internal error: ValueError: too few samples"."""
    o = run_case("truncate", 10137, bases, tmp_path)
    assert o.exit_code == 2 and not o.problems


def test_a_sensor_file_that_links_to_itself_is_refused_in_one_line(bases, tmp_path):
    """Found by the suite's special files: a role's CSV that is a symbolic link to itself ended in
    "internal error: RuntimeError: Symlink loop"."""
    import json
    import shutil

    from barback.cli import main

    d = tmp_path / "s"
    shutil.copytree(bases[1], d)
    name = json.loads((d / "session.json").read_text())["sensors"]["bar"]
    (d / name).unlink()
    (d / name).symlink_to(name)
    assert main(["analyze", str(d), "--quiet"]) == 2


def test_concurrent_batches_store_each_session_once(tmp_path):
    """Generated concurrent writers: two or three batches at once on one database, over
    overlapping folders, one sometimes killed midway and run again."""
    archive = concurrent_archive(tmp_path / "archive")
    problems = []
    for seed in range(3):
        problems += [f"seed {seed}: {p}" for p in run_concurrent_case(seed, archive, tmp_path).problems]
    assert not problems, "\n".join(problems)
