"""A full disk ends a command in one line naming the path, exit 2, with what was written before left valid (a
collection's journal, resumable): on a small tmpfs mounted for the test (skipped where mounting is not allowed).
HDF5 failing mid-write used to take `hirl collect` down with a segfault; `hirl train` printed a traceback."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_bad_inputs import run_cli


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]


def test_collect_on_a_full_disk_is_one_line_and_keeps_the_journal(small_disk: Path) -> None:
    out = small_disk / "data"
    rc, err = run_cli(["collect", "--env", "hirl/Tabletop-v0", "--episodes", "6", "--workers", "1", "--chain-length", "2",
                       "--image-every", "10", "--image-size", "64", "--out", str(out)], subprocess_=True)
    lines = _error_lines(err)
    assert rc == 2 and len(lines) == 1, err[-2000:]
    assert str(out) in lines[0] and ("no space left on device" in lines[0] or "MB free" in lines[0])
    assert (out / "journal").is_dir() and not (out / "data").exists()  # resumable, nothing that looks like a dataset


def test_train_on_a_full_disk_is_one_line(small_disk: Path, tmp_path: Path) -> None:
    data = tmp_path / "tt"
    assert run_cli(["collect", "--env", "hirl/Tabletop-v0", "--episodes", "2", "--workers", "1", "--chain-length", "1",
                    "--out", str(data)], subprocess_=False)[0] == 0
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"""env: hirl/Tabletop-v0
dataset: {data}
agents: [flat]
text_encoder: hash
paraphrase_augment: 0
train:
  baseline: {{max_steps: 4, batch_size: 8, eval_every: 2, checkpoint_every: 2, tensorboard: false, progress: false}}
""")
    (small_disk / "filler").write_bytes(b"\0" * (1024 * 1024 - 64 * 1024))  # leave ~64 KB
    rc, err = run_cli(["train", str(cfg), "--out", str(small_disk / "run")], subprocess_=True)
    lines = _error_lines(err)
    assert rc == 2 and len(lines) == 1 and "no space left on device" in lines[0], err[-2000:]
