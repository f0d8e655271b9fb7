"""The threshold file loads into typed, frozen objects; overrides and files are validated."""

import dataclasses

import pytest

from barback.analysis.config import Thresholds, load_thresholds


def test_the_shipped_file_is_typed_and_frozen():
    th = load_thresholds()
    assert isinstance(th, Thresholds) and th.version
    assert isinstance(th.velocity_loss.threshold_pct, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        th.velocity_loss.threshold_pct = 5.0  # type: ignore[misc]
    assert "{" in th.lumbar_flexion.explanation and th.lumbar_flexion.source


def test_overrides_apply_and_leave_the_defaults_alone():
    th = load_thresholds(overrides={"bar_drift.max_m": 0.07, "hips_rise_early.early_fraction": 0.25})
    assert (th.bar_drift.max_m, th.hips_rise_early.early_fraction) == (0.07, 0.25)
    assert load_thresholds().bar_drift.max_m != 0.07


@pytest.mark.parametrize(("overrides", "error", "match"), [
    ({"bar_drift.max_cm": 5.0}, KeyError, "unknown threshold 'bar_drift.max_cm'"),
    ({"nope.x": 1.0}, KeyError, "unknown threshold 'nope.x'"),
    ({"bar_drift.explanation": 1.0}, KeyError, "unknown threshold"),  # texts are not overridable numbers
    ({"bar_drift.max_m": -0.05}, ValueError, "out of range"),
    ({"velocity_loss.threshold_pct": float("nan")}, ValueError, "out of range"),
    ({"hips_rise_early.early_fraction": 1.5}, ValueError, "between 0 and 1"),
    ({"exercise.curl.mvt_mps": 0.2}, KeyError, "unknown threshold 'exercise.curl.mvt_mps'"),
    ({"exercise.squat.rom_min_m": 1.2}, ValueError, "rom_min_m must be below rom_max_m"),
])
def test_bad_overrides_are_refused(overrides, error, match):
    with pytest.raises(error, match=match):
        load_thresholds(overrides=overrides)


def test_a_bad_file_is_refused_with_the_key(tmp_path):
    from importlib import resources

    text = resources.files("barback.analysis").joinpath("thresholds.toml").read_text()
    cases = {
        "text for a number": (text.replace("max_m = 0.05", 'max_m = "five cm"'), ValueError, "bar_drift.max_m must be a number"),
        "missing number": (text.replace("max_m = 0.05\n", ""), KeyError, "bar_drift.max_m is missing"),
        "unknown key": (text.replace("max_m = 0.05", "max_m = 0.05\nmax_mm = 50"), KeyError, "bar_drift.max_mm"),
        "missing section": (text.replace("[quality]", "[qualty]"), KeyError, "qualty"),
    }
    for name, (body, error, match) in cases.items():
        f = tmp_path / f"{name.replace(' ', '_')}.toml"
        f.write_text(body)
        with pytest.raises(error, match=match):
            load_thresholds(f)


def test_every_exercise_has_its_own_profile_with_a_source():
    from barback.analysis.imu import EXERCISES

    th = load_thresholds()
    assert set(th.exercise) == set(EXERCISES)
    for name, p in th.exercise.items():
        assert 0 < p.mvt_mps < 0.5 and 0 < p.rom_min_m < p.rom_max_m and p.source, name
    # the lifts of issue 15 are their own: the hexagonal bar's published MVT, a shorter sumo pull
    assert th.exercise["trap_bar_deadlift"].mvt_mps == 0.25
    assert th.exercise["sumo_deadlift"].rom_max_m < th.exercise["deadlift"].rom_max_m
    th2 = load_thresholds(overrides={"exercise.sumo_deadlift.mvt_mps": 0.2})
    assert th2.exercise["sumo_deadlift"].mvt_mps == 0.2 and th2.exercise["deadlift"].mvt_mps == 0.14
