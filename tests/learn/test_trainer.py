import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hirl.config import ConfigError, from_dict
from hirl.errors import InputError
from hirl.learn import ArraySampler, Trainer, TrainerConfig, array_batches
from hirl.weights import load_weights, save_weights
from tests.learn.toy import ToyModel, make_data, run

TOY = Path(__file__).with_name("toy.py")


def csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def assert_same_weights(a: Path, b: Path):
    wa, wb = load_file(str(a)), load_file(str(b))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def test_fit_writes_weights_logs_and_checkpoint(tmp_path):
    res = run(tmp_path / "r", max_steps=40, tensorboard=True)
    assert res.steps_done == 40 and not res.stopped_early and res.resumed_from is None
    assert res.best_val_loss is not None and res.best_step in (20, 40)
    for p in (res.last_path, res.best_path, res.checkpoint_path, res.metrics_csv):
        assert p.exists(), p
    assert any(res.tensorboard_dir.glob("events.out.tfevents.*"))
    rows = csv_rows(res.metrics_csv)
    assert [int(r["step"]) for r in rows if r["split"] == "train"] == list(range(5, 41, 5))
    assert [int(r["step"]) for r in rows if r["split"] == "val"] == [20, 40]
    assert {"loss", "mae", "grad_norm", "lr", "best_loss"} <= set(rows[0])
    assert len(list((tmp_path / "r").glob("ckpt-*.pt"))) == 1  # old checkpoints are removed
    test = {k: torch.from_numpy(v) for k, v in make_data(64, 3).items()}
    torch.manual_seed(123)
    untrained = ToyModel().eval()
    model = load_weights(ToyModel(), res.last_path).eval()
    assert model.loss(test)[0].item() < 0.7 * untrained.loss(test)[0].item()  # it learned


def test_resume_in_process_matches_uninterrupted(tmp_path):
    ref = run(tmp_path / "ref", max_steps=60)
    part = run(tmp_path / "res", max_steps=40)  # a multiple of eval_every: the end-of-run eval is a regular one
    assert part.steps_done == 40
    full = run(tmp_path / "res", max_steps=60)
    assert full.resumed_from == 40 and full.steps_done == 60
    assert_same_weights(ref.last_path, full.last_path)
    assert_same_weights(ref.best_path, full.best_path)
    assert full.best_val_loss == ref.best_val_loss
    steps = [(r["step"], r["split"]) for r in csv_rows(full.metrics_csv)]
    assert steps == [(r["step"], r["split"]) for r in csv_rows(ref.metrics_csv)]
    again = run(tmp_path / "res", max_steps=60)  # finished run: nothing more to do
    assert again.resumed_from == 60 and again.steps_done == 60


def test_kill_9_then_resume_gives_same_weights_and_no_duplicate_csv_steps(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(TOY.parents[2])}
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "killed"
    ref = subprocess.Popen([sys.executable, str(TOY), str(ref_dir)], env=env)
    proc = subprocess.Popen([sys.executable, str(TOY), str(run_dir), "--sleep", "0.03"], env=env)
    record = run_dir / "checkpoint.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        if record.exists() and json.loads(record.read_text())["step"] >= 30:
            break
        time.sleep(0.05)
    time.sleep(0.13)  # land somewhere between checkpoints
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(record.read_text())["step"]
    assert 30 <= killed_at < 120
    subprocess.run([sys.executable, str(TOY), str(run_dir)], env=env, check=True, timeout=120)
    assert ref.wait(timeout=120) == 0
    assert json.loads(record.read_text())["step"] == 120
    assert_same_weights(ref_dir / "last.safetensors", run_dir / "last.safetensors")
    assert_same_weights(ref_dir / "best.safetensors", run_dir / "best.safetensors")
    keys = [(r["step"], r["split"]) for r in csv_rows(run_dir / "metrics.csv")]
    assert len(keys) == len(set(keys))
    assert keys == [(r["step"], r["split"]) for r in csv_rows(ref_dir / "metrics.csv")]


def _one_line(exc_info, name):
    msg = str(exc_info.value)
    assert "\n" not in msg and name in msg, msg


def test_corrupt_checkpoint_is_input_error_naming_the_file(tmp_path):
    run(tmp_path / "r", max_steps=20)
    pt = next((tmp_path / "r").glob("ckpt-*.pt"))
    pt.write_bytes(pt.read_bytes()[: pt.stat().st_size // 2])
    with pytest.raises(InputError) as err:
        run(tmp_path / "r", max_steps=40)
    _one_line(err, pt.name)
    pt.unlink()
    with pytest.raises(InputError) as err:
        run(tmp_path / "r", max_steps=40)
    _one_line(err, pt.name)
    (tmp_path / "r" / "checkpoint.json").write_text('{"format": 1, "step": 2')
    with pytest.raises(InputError) as err:
        run(tmp_path / "r", max_steps=40)
    _one_line(err, "checkpoint.json")


def test_checkpoint_for_another_model_is_input_error(tmp_path):
    run(tmp_path / "r", max_steps=10)
    other = torch.nn.Linear(3, 3)
    other.loss = lambda b: (other(b).sum(), {})
    cfg = TrainerConfig(max_steps=20, progress=False, tensorboard=False)
    with pytest.raises(InputError) as err:
        Trainer(other, cfg, tmp_path / "r", lambda step, rng: torch.zeros(1, 3)).fit()
    _one_line(err, "ckpt-00000010.pt")


def test_weight_files_load_errors(tmp_path):
    path = save_weights(ToyModel(), tmp_path / "w.safetensors")
    with pytest.raises(InputError) as err:
        load_weights(torch.nn.Linear(2, 2), path)
    _one_line(err, "w.safetensors")
    path.write_bytes(b"garbage")
    with pytest.raises(InputError) as err:
        load_weights(ToyModel(), path)
    _one_line(err, "w.safetensors")


class Plateau(torch.nn.Module):
    """Training loss falls; validation loss improves twice and then stays flat."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0]))
        self.evals = 0

    def loss(self, batch):
        if batch == "val":
            self.evals += 1
            return torch.tensor(max(3.0 - self.evals, 1.0)), {}
        return (self.w ** 2).sum(), {}


def test_early_stopping_when_val_loss_stops_improving(tmp_path):
    cfg = TrainerConfig(max_steps=1000, eval_every=5, checkpoint_every=50, early_stopping_patience=3,
                        progress=False, tensorboard=False, log_every=5)
    model = Plateau()
    res = Trainer(model, cfg, tmp_path, lambda step, rng: "train", lambda: ["val"]).fit()
    # evals at 5 (2.0), 10 (1.0, best), 15, 20, 25 (no improvement) -> stop at 25
    assert res.stopped_early and res.steps_done == 25 and res.best_step == 10 and res.best_val_loss == 1.0
    assert json.loads((tmp_path / "checkpoint.json").read_text())["stopped_early"] is True
    res2 = Trainer(Plateau(), cfg, tmp_path, lambda step, rng: "train", lambda: ["val"]).fit()
    assert res2.stopped_early and res2.steps_done == 25  # a stopped run stays stopped


def test_array_sources_iterables_and_config(tmp_path):
    data = make_data(100, 0)
    sampler = ArraySampler(data, batch_size=8)
    batch = sampler(1, np.random.default_rng(0))
    assert batch["x"].shape == (8, 6) and batch["x"].dtype == torch.float32
    val = list(array_batches(data, 30)())
    assert [len(b["x"]) for b in val] == [30, 30, 30, 10]
    # a re-iterable list of batches is cycled
    cfg = TrainerConfig(max_steps=9, progress=False, tensorboard=False, checkpoint_every=100)
    res = Trainer(ToyModel(), cfg, tmp_path / "it", val, array_batches(data, 50)).fit()
    assert res.steps_done == 9 and res.best_step == 9
    cfg = from_dict(TrainerConfig, {"max_steps": 5, "grad_clip": None, "early_stopping_patience": 2})
    assert cfg.grad_clip is None and cfg.early_stopping_patience == 2
    with pytest.raises(ConfigError, match="max_step"):
        from_dict(TrainerConfig, {"max_step": 5})
    with pytest.raises(ValueError):
        TrainerConfig(eval_every=0)
    cos = TrainerConfig(max_steps=100, lr=1.0, lr_warmup_steps=10, lr_schedule="cosine")
    assert cos.lr_at(5) == 0.5 and cos.lr_at(10) == 1.0 and cos.lr_at(100) == pytest.approx(0.0)


def test_non_finite_loss_raises_and_keeps_checkpoint(tmp_path):
    class Boom(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def loss(self, step):
            return self.w.sum() * (float("nan") if step == 7 else 1.0), {}

    cfg = TrainerConfig(max_steps=20, checkpoint_every=5, progress=False, tensorboard=False)
    with pytest.raises(FloatingPointError, match="step 7"):
        Trainer(Boom(), cfg, tmp_path, lambda step, rng: step).fit()
    assert json.loads((tmp_path / "checkpoint.json").read_text())["step"] == 5


def test_second_trainer_on_same_run_dir_is_refused(tmp_path):
    from hirl.learn.checkpoint import RunLock

    with RunLock(tmp_path / "r"):
        with pytest.raises(InputError, match="in use"):
            run(tmp_path / "r", max_steps=5)
    (tmp_path / "r" / ".ckpt-00000005.pt.abc.tmp").write_bytes(b"partial")
    assert run(tmp_path / "r", max_steps=5).steps_done == 5
    assert not list((tmp_path / "r").glob("*.tmp"))


@pytest.mark.slow  # torch.compile takes 20-45 s on 2 cores
def test_compiled_loss_trains_like_eager_and_logs_tensor_metrics(tmp_path):
    """compile: true runs torch.compile(model.loss): the same weights as eager (to float tolerance); a loss returning
    0-d tensor metrics (no .item() inside, so no graph break) logs them as numbers."""
    from hirl.policies.offline_gc.gciql import GCIQL, GCIQLConfig
    from hirl.learn.offline_gc.sampling import GoalSampler
    from hirl.policies.offline_gc.goal_sampling import sampling_of
    from tests.ogbench.test_hiql import _tables

    t = _tables()
    runs = {}
    for compiled in (False, True):
        torch.manual_seed(0)
        model = GCIQL(GCIQLConfig(3, 2, 3, hidden=(16, 16))).fit(t.obs, t.achieved)
        cfg = TrainerConfig(max_steps=6, batch_size=32, lr=1e-3, grad_clip=None, tensorboard=False, progress=False,
                            checkpoint_every=6, log_every=3, compile=compiled)
        res = Trainer(model, cfg, tmp_path / str(compiled), GoalSampler(t, 32, sampling_of(model.config))).fit()
        runs[compiled] = (model, csv_rows(res.metrics_csv))
    (eager, eager_rows), (comp, comp_rows) = runs[False], runs[True]
    for a, b in zip(eager.parameters(), comp.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert [r["step"] for r in comp_rows] == ["3", "6"]
    assert float(comp_rows[-1]["critic_loss"]) == pytest.approx(float(eager_rows[-1]["critic_loss"]), rel=1e-3)
