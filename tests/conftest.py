from __future__ import annotations

from pathlib import Path

import pytest

from barback.simulation.simulate import scenario, simulate, write_session

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sim_deadlift():
    """A 2-set deadlift session with two lumbar sensors (simulated, with ground truth)."""
    return simulate(scenario("deadlift_100hz", seed=5, sets=2))


@pytest.fixture(scope="session")
def sim_deadlift_dir(sim_deadlift, tmp_path_factory):
    return write_session(sim_deadlift, tmp_path_factory.mktemp("sim") / "deadlift")
