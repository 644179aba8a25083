"""device: auto | cpu | cuda[:N] (hirl.devices): auto is the CPU here and trains bit for bit as cpu; CUDA asked for
on a machine without it is one InputError line (the trainer, the SB3 builder and `hirl train` before collecting)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hirl.config import ConfigError, load_config
from hirl.devices import resolve_device
from hirl.errors import InputError
from hirl.learn.run_config import RunConfig
from hirl.learn.trainer import ArraySampler, Trainer, TrainerConfig, to_device
from hirl.rl.config import RLRunConfig

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour of a machine without CUDA")


class Tiny(torch.nn.Module):
    """y = W x regression: loss(batch {"x": (B, 3), "y": (B, 1)})."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.nn.functional.mse_loss(self.lin(batch["x"]), batch["y"])


def _train(device: str, run_dir: Path) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    arrays = {"x": x, "y": x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)}
    torch.manual_seed(0)
    model = Tiny()
    cfg = TrainerConfig(max_steps=20, batch_size=16, eval_every=20, checkpoint_every=20, progress=False,
                        tensorboard=False, device=device)
    Trainer(model, cfg, run_dir, ArraySampler(arrays, 16)).fit()
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


@no_cuda
def test_auto_is_the_cpu_here_and_trains_bit_for_bit_as_cpu(tmp_path: Path) -> None:
    assert resolve_device("auto") == torch.device("cpu") and TrainerConfig().device == "auto"
    a, b = _train("auto", tmp_path / "auto"), _train("cpu", tmp_path / "cpu")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@no_cuda
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_absent_cuda_is_one_input_error_line(spec: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="torch sees no CUDA GPU") as err:
        resolve_device(spec, "train.low.device")
    assert "\n" not in str(err.value) and str(err.value).startswith("train.low.device: ")
    with pytest.raises(InputError, match="no CUDA GPU"):
        Trainer(Tiny(), TrainerConfig(device=spec, progress=False), tmp_path, ArraySampler({"x": np.zeros((2, 3))}, 2))


@no_cuda
def test_hirl_train_refuses_cuda_before_collecting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hirl.cli import main

    config = tmp_path / "run.yaml"
    config.write_text(f"dataset: {tmp_path / 'data'}\ntext_encoder: hash\ntrain: {{low: {{device: cuda}}}}\n")
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "train.low.device: 'cuda' asked for" in err
    assert not (tmp_path / "data").exists()  # nothing collected


def test_device_texts_are_checked_where_configs_are_read() -> None:
    cfg = load_config(RunConfig, None, ["train.low.device=cuda:0", "train.high.device=cpu"])  # valid on any machine
    assert (cfg.train.low.device, cfg.train.high.device, cfg.train.baseline.device) == ("cuda:0", "cpu", "auto")
    with pytest.raises(ConfigError, match=r"key 'train.low.device': must be auto, cpu, cuda or cuda:N, got 'gpu'"):
        load_config(RunConfig, None, ["train.low.device=gpu"])
    with pytest.raises(ConfigError, match=r"key 'algo.device': must be auto, cpu"):
        load_config(RLRunConfig, None, ["algo.device=tpu"])
    assert load_config(RLRunConfig).algo.device == "auto"


def test_to_device_keeps_cpu_batches_as_they_are() -> None:
    batch = {"x": torch.ones(2, 3), "pair": (torch.zeros(1), torch.ones(1))}
    moved = to_device(batch, "cpu")
    assert moved["x"] is batch["x"] or torch.equal(moved["x"], batch["x"])
    assert torch.equal(moved["pair"][1], batch["pair"][1])
