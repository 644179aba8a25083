"""`hirl collect`, `hirl train` and `hirl eval` on an OGBench env this package names nowhere else (cube-single),
through the entry-point plugin (no --import) -- a short end-to-end run."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ogbench")

ENV = "ogbench/cube-single-v0"


def _hirl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hirl.cli", *args], capture_output=True, text=True, timeout=600,
                          env={"MUJOCO_GL": "egl", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                               "PATH": "/usr/bin:/bin"})


@pytest.mark.slow
def test_collect_train_eval_on_an_unnamed_ogbench_env(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = _hirl("collect", "--env", ENV, "--episodes", "2", "--workers", "1", "--noise", "0.1",
              "--env-kwargs", json.dumps({"collection": "play", "max_episode_steps": 80}), "--out", str(data))
    assert r.returncode == 0, r.stderr[-2000:]
    config = tmp_path / "run.yaml"
    config.write_text(f"""env: {ENV}
dataset: {data}
agents: [gcbc_cpu, hiql_k10_cpu, gc_hier_language_cpu]
obs_keys: [observation]
text_encoder: hash
paraphrase_augment: 0.0
val_fraction: 0.0
train:
  baseline: {{max_steps: 20, batch_size: 32, checkpoint_every: 20, eval_every: 1000}}
replan: {{on_completion: false, interval: 1}}
eval: {{episodes: 5, chain_length: 1, videos: 0}}
""")
    run = tmp_path / "run"
    r = _hirl("train", str(config), "--out", str(run))
    assert r.returncode == 0, r.stderr[-2000:]
    r = _hirl("eval", str(run), "--episodes", "5")
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((run / "eval" / "report.json").read_text())
    for agent in ("gcbc_cpu", "hiql_k10_cpu", "gc_hier_language_cpu"):
        per_task = report["policies"][agent]["per_subtask"]
        assert sorted(per_task) == ["task1_horizontal", "task2_vertical1", "task3_vertical2", "task4_diagonal1",
                                    "task5_diagonal2"]
        assert all(v["attempted"] == 1 for v in per_task.values())
