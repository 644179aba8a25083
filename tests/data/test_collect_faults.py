"""Collection under faults: kill -9 at chosen points (a patched function kills the collector at that moment) and at
random times, then `--resume` with the same flags must give exactly the asked episodes, in order, equal to an
uninterrupted collection, with no leftovers; a second writer of the same --out is refused naming the first; a
complete dataset resumes as a no-op that says so. The random-time version with more kills is marked slow."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hirl.cli import main
from hirl.data import load_dataset

N = 5
ARGS = ["--env", "hirl/Maze-v0", "--episodes", str(N), "--seed", "7", "--workers", "1", "--env-kwargs", '{"layout": "u"}']
# rendering (~40 ms a frame here) makes episodes slow enough to interrupt at random times
SLOW_ARGS = ["--env", "hirl/Maze-v0", "--episodes", "10", "--seed", "3", "--workers", "2", "--image-every", "8",
             "--image-size", "32", "--env-kwargs", '{"layout": "medium"}']

_KILL = "os.kill(os.getpid(), signal.SIGKILL)"
# name -> Python run in the collector before hirl.cli.main: patches that kill it at one point of the collection
KILL_POINTS = {
    "after the journal config": f"""
import hirl.data.journal as m
orig = m.Journal.write_config
def patched(self, *a, **k):
    orig(self, *a, **k); {_KILL}
m.Journal.write_config = patched""",
    "after 2 episodes": f"""
import hirl.data.journal as m
orig = m.Journal.write
def patched(self, record):
    path = orig(self, record)
    if int(record["index"]) == 1: {_KILL}
    return path
m.Journal.write = patched""",
    "while assembling the dataset": f"""
import hirl.data.assemble as m
orig = m._buffer
count = [0]
def patched(record):
    count[0] += 1
    if count[0] == 3: {_KILL}
    return orig(record)
m._buffer = patched""",
    "after the swap, before the journal is removed": f"""
import hirl.data.assemble as m
orig = m.swap_in
def patched(*a, **k):
    orig(*a, **k); {_KILL}
m.swap_in = patched""",
    "while the journal is removed": f"""
import shutil, hirl.data.journal as m
from pathlib import Path
orig = shutil.rmtree
def patched(path, *a, **k):
    if (Path(path) / "collect.json").exists():
        (Path(path) / "collect.json").unlink(); {_KILL}
    return orig(path, *a, **k)
m.shutil = type("S", (), {{"rmtree": staticmethod(patched)}})""",
}
FAST_POINTS = ["while assembling the dataset", "after the swap, before the journal is removed", "while the journal is removed"]


def hirl_killed_at(point: str, argv: list[str], pythonpath: str | None = None) -> subprocess.CompletedProcess:
    """Run `hirl argv` in a child that KILL_POINTS[point] kills with SIGKILL."""
    code = f"import os, signal, sys\n{KILL_POINTS[point]}\nfrom hirl.cli import main\nsys.exit(main({argv!r}))\n"
    env = dict(os.environ, MUJOCO_GL="egl", HF_HUB_OFFLINE="1", **({"PYTHONPATH": pythonpath} if pythonpath else {}))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=pythonpath or None)


def actions(path: Path) -> list[np.ndarray]:
    return [e.actions for e in load_dataset(path).episodes]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    out = tmp_path_factory.mktemp("ref") / "ref"
    assert main(["collect", *ARGS, "--out", str(out)]) == 0
    return actions(out)


def assert_exactly_the_asked_episodes(out: Path, reference: list[np.ndarray]) -> None:
    ds = load_dataset(out)
    assert [e.index for e in ds.episodes] == list(range(len(reference)))
    for a, b in zip(reference, (e.actions for e in ds.episodes), strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(p.name for p in out.iterdir()) == ["data"], sorted(p.name for p in out.iterdir())


@pytest.mark.parametrize("point", [pytest.param(p, marks=[] if p in FAST_POINTS else [pytest.mark.slow]) for p in KILL_POINTS])
def test_kill_at_a_point_then_resume_gives_exactly_the_asked_episodes(point, reference, tmp_path, capsys):
    out = tmp_path / "killed"
    killed = hirl_killed_at(point, ["collect", *ARGS, "--out", str(out)])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert main(["collect", *ARGS, "--out", str(out), "--resume"]) == 0, capsys.readouterr().err
    assert_exactly_the_asked_episodes(out, reference)
    capsys.readouterr()
    assert main(["collect", *ARGS, "--out", str(out), "--resume"]) == 0  # a complete dataset: a no-op that says so
    assert "dataset already complete" in capsys.readouterr().err
    assert_exactly_the_asked_episodes(out, reference)


def test_second_writer_is_refused_naming_the_first_and_the_dataset_is_the_first_ones(tmp_path, capsys):
    out = tmp_path / "shared"
    first_args = [a if a != "10" else "3" for a in SLOW_ARGS]  # 3 episodes: enough to still be running
    first = subprocess.Popen([sys.executable, "-m", "hirl.cli", "collect", *first_args, "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while not (out / "journal" / "collect.json").exists():
        assert first.poll() is None and time.time() < deadline, first.stderr.read().decode() if first.stderr else ""
        time.sleep(0.05)
    other = list(first_args)
    other[other.index("--seed") + 1] = "4"  # another seed
    for flags in ([], ["--resume"]):
        assert main(["collect", *other, "--out", str(out), *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"pid {first.pid}" in err and "in use by another collection" in err, err
    assert first.wait(timeout=120) == 0
    ds = load_dataset(out)
    assert ds.meta["collection"]["seed"] == 3 and [e.seed for e in ds.episodes] == [3, 4, 5]
    assert main(["collect", *other, "--out", str(out)]) == 2  # finished: another run of other settings is refused too
    assert main(["collect", *other, "--out", str(out), "--resume"]) == 2
    assert "differs in seed" in capsys.readouterr().err


def test_rejected_arguments_leave_no_trace_and_the_corrected_run_works(tmp_path, capsys, reference):
    out = tmp_path / "fixed"
    out.mkdir()
    (out / ".assemble-stale").mkdir()  # a killed assembly's leftover: cleaned by the next collection
    assert main(["collect", *ARGS, "--chain-length", "0", "--out", str(out)]) == 2
    assert "--chain-length: must be in 1..5, got 0" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [".assemble-stale"]  # nothing written by the rejected command
    assert main(["collect", *ARGS, "--out", str(out)]) == 0
    assert_exactly_the_asked_episodes(out, reference)


@pytest.mark.slow
def test_kill_9_at_random_times_then_resume(tmp_path):
    """8 kills at random moments (seeded) of a 2-worker collection with images, resuming after each."""
    out, rng = tmp_path / "random", random.Random(0)
    ref = tmp_path / "ref"
    same_episodes = ["--env", "hirl/Maze-v0", "--episodes", "10", "--seed", "3", "--workers", "1", "--env-kwargs",
                     '{"layout": "medium"}']  # images do not change the actions
    assert main(["collect", *same_episodes, "--out", str(ref)]) == 0
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "hirl.cli", "collect", *SLOW_ARGS, "--out", str(out), "--resume"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.5, 6.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.6)  # the orphaned workers notice their parent is gone
    assert main(["collect", *SLOW_ARGS, "--out", str(out), "--resume"]) == 0
    assert_exactly_the_asked_episodes(out, actions(ref))


# -- the integrity table of docs/reliability.md: python tests/data/test_collect_faults.py [--pythonpath DIR]
def _hirl(argv: list[str], pythonpath: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl", HF_HUB_OFFLINE="1", **({"PYTHONPATH": pythonpath} if pythonpath else {}))
    return subprocess.run([sys.executable, "-m", "hirl.cli", *argv], capture_output=True, text=True, timeout=300, env=env,
                          cwd=pythonpath or None)


def _check(out: Path, seed: int | None, n: int | None) -> str:
    """'ok' when out is a dataset of exactly episodes 0..n-1 of seed (None: of the seed and count its metadata says),
    its metadata agreeing; else what is wrong."""
    try:
        ds = load_dataset(out)
    except Exception as exc:
        return f"does not load ({str(exc)[:80]})"
    seeds, stored = [e.seed for e in ds.episodes], ds.meta["collection"]
    seed, n = stored["seed"] if seed is None else seed, stored["episodes"] if n is None else n
    if seeds != list(range(seed, seed + n)) or stored["seed"] != seed or stored["episodes"] != n:
        return (f"mixed: episode seeds {seeds}, metadata says seed {stored['seed']} x {stored['episodes']} "
                f"(asked: seed {seed} x {n})")
    leftovers = sorted(p.name for p in out.iterdir() if p.name != "data")
    return f"ok, leftovers {leftovers}" if leftovers else "ok"


def integrity_table(pythonpath: str | None) -> str:
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        a, b = [*SLOW_ARGS[:2], "--episodes", "4", *SLOW_ARGS[4:]], [*SLOW_ARGS[:2], "--episodes", "6", *SLOW_ARGS[4:]]
        b[b.index("--seed") + 1] = "4"
        env = dict(os.environ, MUJOCO_GL="egl", **({"PYTHONPATH": pythonpath} if pythonpath else {}))
        for attempt in range(3):  # a race: its outcome varies
            out = root / f"mixed{attempt}"
            procs = [subprocess.Popen([sys.executable, "-m", "hirl.cli", "collect", *args, "--out", str(out)], env=env,
                                      cwd=pythonpath or None, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for args in (a, b)]
            codes = [p.wait(timeout=300) for p in procs]
            rows.append((f"two collects (seed 3 x4, seed 4 x6) into one --out at once, try {attempt + 1}",
                         f"exit {codes}; {_check(out, None, None)}"))
        for point in KILL_POINTS:
            out = root / point.replace(" ", "_").replace(",", "")
            killed = hirl_killed_at(point, ["collect", *ARGS, "--out", str(out)], pythonpath)
            resumed = _hirl(["collect", *ARGS, "--out", str(out), "--resume"], pythonpath)
            result = _check(out, 7, N) if resumed.returncode == 0 else (resumed.stderr.strip().splitlines() or ["?"])[-1][:140]
            rows.append((f"kill -9 {point}, then --resume",
                         f"kill rc {killed.returncode}; resume exit {resumed.returncode}: {result}"))
        again = _hirl(["collect", *ARGS, "--out", str(out), "--resume"], pythonpath)
        rows.append(("--resume on a complete dataset", f"exit {again.returncode}: "
                     + (again.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1][-140:]))
        out = root / "poisoned"
        tabletop = ["--env", "hirl/Tabletop-v0", "--episodes", "2", "--workers", "1", "--seed", "7"]
        first = _hirl(["collect", *tabletop, "--chain-length", "0", "--out", str(out)], pythonpath)
        fixed = _hirl(["collect", *tabletop, "--chain-length", "1", "--out", str(out)], pythonpath)
        rows.append(("Tabletop --chain-length 0, then the corrected command", f"exit {first.returncode}, then "
                     f"{fixed.returncode}: " + (_check(out, 7, 2) if fixed.returncode == 0
                                               else fixed.stderr.strip().splitlines()[-1][:140])))
    return "\n".join(["| scenario | outcome |", "|---|---|", *(f"| {s} | {o} |" for s, o in rows)])


if __name__ == "__main__":
    print(integrity_table(sys.argv[sys.argv.index("--pythonpath") + 1] if "--pythonpath" in sys.argv else None))
