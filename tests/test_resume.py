"""`hirl train RUN`: an interrupted training resumes from its checkpoints to the weights of an uninterrupted run, with
TensorBoard steps that only increase; a finished run says what to type next; a folder that is no run says so."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hirl.cli import main
from hirl.learn.trainer import Trainer
from tests.fixtures.tensorboard import out_of_order, tb_scalars

YAML = """env: hirl/Tabletop-v0
dataset: {data}
collect: {{episodes: 5, workers: 1, chain_length: 1}}
agents: [flat]
text_encoder: hash
paraphrase_augment: 0
val_fraction: 0.25
train:
  baseline: {{max_steps: 12, batch_size: 8, log_every: 1, eval_every: 3, checkpoint_every: 4, progress: false}}
eval: {{episodes: 1, chain_length: 1, videos: 0}}
"""
STOP_AT = 7  # the interrupted run stops at this step: checkpoint at 4, steps 5 and 6 logged past it


def weights(run: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(run / "models" / "flat" / "weights.safetensors"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(config, reference run trained without a stop, run interrupted at STOP_AT); one shared dataset."""
    root = tmp_path_factory.mktemp("resume")
    cfg = root / "tiny.yaml"
    cfg.write_text(YAML.format(data=root / "data"))
    reference, interrupted = root / "reference", root / "interrupted"
    assert main(["train", str(cfg), "--out", str(reference)]) == 0
    step = Trainer._train_step

    def stop(self: Trainer, n: int) -> dict[str, float]:
        if n == STOP_AT:
            raise KeyboardInterrupt  # what Ctrl-C does mid-training
        return step(self, n)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Trainer, "_train_step", stop)
        assert main(["train", str(cfg), "--out", str(interrupted)]) == 130
    return cfg, reference, interrupted


def test_train_run_resumes_to_the_uninterrupted_weights_with_increasing_tensorboard_steps(runs, capsys):
    _, reference, run = runs
    tb = run / "train" / "flat" / "tb"
    before = tb_scalars(tb)
    assert max(s for s, _ in before["train/loss"]) == STOP_AT - 1  # logged past the checkpoint at 4 before the stop
    capsys.readouterr()
    assert main(["train", str(run)]) == 0
    assert capsys.readouterr().out.startswith(f"resuming {run} from its checkpoints")
    a, b = weights(run), weights(reference)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    resumed, uninterrupted = tb_scalars(tb), tb_scalars(reference / "train" / "flat" / "tb")
    assert len(list(tb.glob("events.out.tfevents.*"))) == 2  # one file per process, the first cut at the checkpoint
    assert out_of_order(before) == {} and out_of_order(resumed) == {}
    assert [s for s, _ in resumed["train/loss"]] == list(range(1, 13))
    assert resumed["train/loss"] == uninterrupted["train/loss"]  # the loss curve continues as if never stopped
    assert resumed["val/loss"] == uninterrupted["val/loss"]


def test_a_finished_run_says_what_to_type(runs, capsys):
    _, reference, _ = runs
    capsys.readouterr()
    assert main(["train", str(reference)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{reference}: training is complete; evaluate it with: hirl eval {reference}; "
        f"to train further: hirl train {reference} train.baseline.max_steps=24")


def test_resume_refuses_another_out_and_folders_that_are_no_run(runs, tmp_path, capsys):
    cfg, reference, _ = runs
    assert main(["train", str(reference), "--out", str(tmp_path / "elsewhere")]) == 2
    data = cfg.parent / "data"
    assert main(["train", str(data)]) == 2
    assert main(["train", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"hirl train: error: --out {tmp_path / 'elsewhere'}: hirl train {reference} resumes that run in place; drop "
        "--out (or train a new run from a config: hirl train CONFIG.yaml --out NEW)",
        f"hirl train: error: {data}: a dataset folder, neither a run directory (no config.yaml) nor a config file; "
        "train a run with: hirl train CONFIG.yaml --out RUN, resume one with: hirl train RUN",
        f"hirl train: error: {tmp_path}: a folder, neither a run directory (no config.yaml) nor a config file; "
        "train a run with: hirl train CONFIG.yaml --out RUN, resume one with: hirl train RUN"]
    assert not (tmp_path / "elsewhere").exists()
