"""The wheel, installed outside the repository, works on its own (issue 12).

Built without network (the test extra brings setuptools) and installed into a fresh venv with
`--no-deps`; the fresh venv sees this environment's third-party packages through a path entry,
never its editable barback (a .pth file's directories are added as they are: the .pth files of
the directory they name are not run)."""

from __future__ import annotations

import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("barback-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "third_party.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    work = tmp / "elsewhere"
    work.mkdir()
    return env_dir, work


def _run(installed, *args):
    env_dir, work = installed
    return subprocess.run([str(env_dir / "bin" / a) if i == 0 else a for i, a in enumerate(args)],
                          cwd=work, capture_output=True, text=True, timeout=300)


def test_wheel_demo_and_analyze_outside_the_repository(installed):
    p = _run(installed, "python", "-c", "import barback, sys; print(barback.__file__)")
    assert p.returncode == 0 and str(ROOT) not in p.stdout  # the installed copy, not the clone
    p = _run(installed, "barback", "demo", "--out", "out")
    assert p.returncode == 0, p.stderr
    assert (installed[1] / "out" / "demo_report.html").stat().st_size > 10_000
    p = _run(installed, "barback", "simulate", "sim", "--sets", "1", "--reps", "3")
    assert p.returncode == 0, p.stderr
    p = _run(installed, "barback", "analyze", "sim", "--json", "sim.json")
    assert p.returncode == 0, p.stderr
    assert '"mean_velocity_mps"' in (installed[1] / "sim.json").read_text()


def test_wheel_installs_nothing_with_a_generic_name(installed):
    for name in ("analysis", "sensor", "firmware_spec", "recordings"):
        p = _run(installed, "python", "-c", f"import {name}")
        assert p.returncode != 0 and "ModuleNotFoundError" in p.stderr, name
