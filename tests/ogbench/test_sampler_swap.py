"""experiments/ogbench/sampler_swap.py's hirl half: GCBC trains on the dumped batches in order (step i on batch i)
and its checkpoints land in the side-by-side table as their own side. The dump half needs the reference's venv."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ogbench")

from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.hierarchy.replan import ReplanConfig
from hirl.policies.offline_gc.gcbc import GCBC

DATASET = "pointmaze-medium-navigate-v0"


@pytest.mark.slow  # ~12 s idle: a collection, a training run and two evaluations
def test_gcbc_trains_on_the_dumped_batches_in_order(swap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "maze"
    collect(CollectConfig(env="ogbench/pointmaze-medium-v0", env_kwargs={"collection": "navigate", "max_episode_steps": 40},
                          episodes=2, workers=1, noise=0.5, replan=ReplanConfig(detector="chain_progress", timeout=100_000)),
            data, progress=False)
    monkeypatch.setattr(swap.sbs, "imported_dataset", lambda folder, dataset: data)
    config = swap.sbs.hirl_config  # evaluation episodes of 20 steps (the maze's are 1000)
    monkeypatch.setattr(swap.sbs, "hirl_config", lambda args, agent, steps, extra=(): config(
        args, agent, steps, (*extra, "env_kwargs={max_episode_steps: 20}")))
    runs, n, b = tmp_path / "runs", 4, 8
    obs = np.repeat(np.arange(n, dtype=np.float32)[:, None, None], b, 1).repeat(2, 2)  # batch i: every state = (i, i)
    path = swap.batches_path(runs, DATASET, 0, n)
    path.parent.mkdir(parents=True)
    np.savez(path, obs=obs, action=np.zeros((n, b, 2), np.float32), actor_goal=np.ones((n, b, 2), np.float32))
    seen: list[float] = []
    loss = GCBC.loss

    def spy(self, batch):  # type: ignore[no-untyped-def]
        seen.append(float(batch["obs"][0, 0]))
        return loss(self, batch)

    monkeypatch.setattr(GCBC, "loss", spy)
    swap.main(["train", "--dataset", DATASET, "--seed", "0", "--steps", "2", "4", "--episodes", "1", "--batch", str(b),
               "--runs", str(runs), "--data", str(tmp_path)])
    assert seen[-n:] == [0.0, 1.0, 2.0, 3.0]  # after train_run's own step: steps 1..4 on batches 0..3
    result = json.loads(swap.sbs.result_path(runs, swap.SIDE, "gcbc", DATASET, 0).read_text())
    assert [c["steps"] for c in result["checkpoints"]] == [2, 4]
    assert result["networks"] == {"actor": "ogbench", "normalize": "false"}
    assert set(swap.sbs.render(runs)[DATASET]["gcbc"]["4"]) == {swap.SIDE}


def test_train_without_dumped_batches_says_so(swap, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no dumped batches"):
        swap.main(["train", "--runs", str(tmp_path), "--steps", "10"])
