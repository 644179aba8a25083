"""Short end-to-end runs of every RL stage on the U maze (a few hundred env steps each), resume, and the CLI path
hirl train (kind: rl) -> hirl eval -> report.json."""
import json

import numpy as np
import pytest

from hirl.cli import main
from hirl.config import load_config
from hirl.errors import InputError
from hirl.rl.config import RLRunConfig
from hirl.rl.envs import GoalCurriculum
from hirl.rl.stages import train_rl

FAST = ["env_kwargs={layout: u, max_episode_steps: 60}", "steps=300", "checkpoint_every=150", "eval.every=150",
        "eval.episodes=2", "eval.final_episodes=2", "progress=false", "algo.learning_starts=50", "algo.batch_size=32",
        "algo.buffer_size=2000", "algo.net_arch=[16, 16]", "low.episode_steps=20", "high.horizon=10"]


def cfg(stage, *extra):
    return load_config(RLRunConfig, None, [f"stage={stage}", *FAST, *extra])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Stages low -> plan -> high -> adapt in one run directory (the schedule), shared by the tests below."""
    d = tmp_path_factory.mktemp("rl") / "run"
    train_rl(cfg("low", "plan.eval_during_low=true", "plan.nodes=20"), d)
    train_rl(cfg("plan", "plan.nodes=20"), d)
    train_rl(cfg("high", "algo.learning_starts=5", "high.subgoal_test=0.5"), d)
    train_rl(cfg("adapt"), d)
    return d


def test_each_stage_writes_its_model_curve_and_tensorboard(run_dir):
    for stage, model in [("low", "rl_low"), ("high", "rl_high"), ("adapt", "adapted/rl_low")]:
        assert (run_dir / "models" / model / "model.zip").is_file()
        summary = json.loads((run_dir / "train" / stage / "summary.json").read_text())
        assert summary["env_steps"] >= 300
        assert [p["env_steps"] for p in summary["curve"]] == [150, 300]  # one point per eval.every=150 steps
        assert all(p["success_rate"] in (0.0, 0.5, 1.0) for p in summary["curve"])  # fractions of the eval.episodes=2 episodes
        assert summary["final_success_rate"] == summary["curve"][-1]["success_rate"]
        assert any((run_dir / "train" / stage / "tb").rglob("events.out.tfevents*"))
    high = json.loads((run_dir / "train" / "high" / "summary.json").read_text())
    assert high["relabel_counts"]["transitions"] > 0  # the HAC hook saw the high-level transitions
    assert high["relabel_counts"]["penalised"] > 0  # ... and made failed subgoal tests
    low = json.loads((run_dir / "train" / "low" / "summary.json").read_text())
    assert all(p["plan_success_rate"] in (0.0, 0.5, 1.0) for p in low["curve"])  # the planner at every curve point, 2 episodes
    plan = json.loads((run_dir / "train" / "plan" / "summary.json").read_text())
    assert plan["env_steps"] == 0 and plan["nodes"] == 20 and (run_dir / "models" / "rl_plan" / "graph.npz").is_file()
    # stage plan rebuilds the graph from stage low's final model and buffer with the same seed: the same planner as
    # the one evaluated at the last point of stage low's curve
    assert plan["final_success_rate"] == low["curve"][-1]["plan_success_rate"]


def test_finished_stage_resumes_and_continues(run_dir):
    before = json.loads((run_dir / "train" / "low" / "checkpoint" / "state.json").read_text())
    assert before["env_steps"] == 300
    summary = train_rl(cfg("low", "steps=400"), run_dir)  # resumes from the checkpoint, trains 100 more steps
    assert summary["env_steps"] == 400
    assert [p["env_steps"] for p in summary["curve"]][:2] == [150, 300]


def test_flat_stage_and_cli_train_eval(tmp_path, capsys):
    config = tmp_path / "flat.yaml"
    config.write_text("kind: rl\nstage: flat\nalgo: {algo: td3}\n")
    out = tmp_path / "flat"
    assert main(["train", str(config), "--out", str(out), *FAST, "algo.learning_starts=100"]) == 0
    assert main(["eval", str(out), "--episodes", "2"]) == 0
    report = json.loads((out / "eval" / "report.json").read_text())
    assert set(report["policies"]) == {"rl_flat"}
    assert report["policies"]["rl_flat"]["success_rate"] in (0.0, 0.5, 1.0)  # a fraction of the 2 episodes
    assert report["policies"]["rl_flat"]["episodes"] == 2


def test_an_interrupted_stage_resumes_with_increasing_tensorboard_steps(tmp_path, capsys, monkeypatch):
    """Ctrl-C at 200 env steps (checkpoint at 100, an evaluation logged at 150), then `hirl train RUN`: the events past
    the checkpoint are cut, so the evaluation at 150 is in TensorBoard once; a finished stage says what to type."""
    from hirl.rl.trainer import StageCallback
    from tests.fixtures.tensorboard import out_of_order, tb_scalars

    config = tmp_path / "flat.yaml"
    config.write_text("kind: rl\nstage: flat\nalgo: {algo: td3}\n")
    out = tmp_path / "flat"
    on_step = StageCallback._on_step

    def interrupt(self: StageCallback) -> bool:
        if self.t.env_steps() >= 200:
            raise KeyboardInterrupt
        return on_step(self)

    monkeypatch.setattr(StageCallback, "_on_step", interrupt)
    assert main(["train", str(config), "--out", str(out), *FAST, "algo.learning_starts=100", "checkpoint_every=100"]) == 130
    monkeypatch.undo()
    tb = out / "train" / "flat" / "tb"
    assert [s for s, _ in tb_scalars(tb)["eval/success_rate"]] == [150]
    assert main(["train", str(out)]) == 0
    scalars = tb_scalars(tb)
    assert out_of_order(scalars) == {}
    assert [s for s, _ in scalars["eval/success_rate"]] == [150, 300]
    capsys.readouterr()
    assert main(["train", str(out)]) == 0
    assert capsys.readouterr().out.strip() == (f"{out}: training is complete; evaluate it with: hirl eval {out}; "
                                               f"to train further: hirl train {out} steps=600")


def test_cli_eval_of_the_hierarchical_run(run_dir):
    assert main(["eval", str(run_dir), "--episodes", "2", "--out", str(run_dir / "ev")]) == 0
    report = json.loads((run_dir / "ev" / "report.json").read_text())
    assert set(report["policies"]) == {"rl_low", "rl_hier", "rl_hier+adapt", "rl_plan"}
    assert report["policies"]["rl_hier"]["high_level_queries_per_episode"] >= 1


def test_stage_needing_an_earlier_stage_fails_in_one_line(tmp_path):
    with pytest.raises(InputError, match=r"models/rl_low/model\.zip.*train that stage first"):
        train_rl(cfg("high"), tmp_path / "empty")
    with pytest.raises(InputError, match=r"models/rl_low/model\.zip: stage 'plan' needs stage low"):
        train_rl(cfg("plan"), tmp_path / "empty")


def test_bad_rl_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("kind: rl\nstage: low\nhigh: {relabel: hack}\n")
    assert main(["train", str(config), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "high" in err and "relabel" in err


def test_goal_curriculum_radius_grows():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    cur = GoalCurriculum(pts, 1.5, 3.5, 0.5, 0.0)
    rng = np.random.default_rng(0)
    obs = {"achieved_goal": np.zeros(2)}
    assert {tuple(cur(rng, obs)) for _ in range(20)} == {(1.0, 0.0)}
    cur.progress = 0.5
    assert cur.radius == 3.5
    assert {tuple(cur(rng, obs)) for _ in range(50)} == {(1.0, 0.0), (3.0, 0.0)}


def test_adapt_stage_continues_the_stage1_learner(run_dir, tmp_path):
    """Stage adapt starts from stage 1's whole learner (entropy coefficient included), not from re-initialised SAC."""
    import torch

    from hirl.rl.sb3 import load_model
    from hirl.rl.stage import STAGES
    from hirl.runs import RunDir

    low = load_model(run_dir / "models" / "rl_low" / "model.zip")
    setup = STAGES.build("adapt").setup(cfg("adapt", "algo.learning_rate=0.0002"), RunDir(run_dir))
    start = setup.new_model(str(tmp_path / "tb"))
    assert float(low.log_ent_coef) != 0.0  # stage 1 learned it away from log(1.0)
    assert torch.equal(start.log_ent_coef, low.log_ent_coef)
    for a, b in zip(start.policy.parameters(), low.policy.parameters(), strict=True):
        assert torch.equal(a, b)
    assert start.lr_schedule(1.0) == 0.0002 and start.learning_starts == 50


def test_every_stage_is_registered_and_names_the_config_values():
    from hirl.config import FieldError
    from hirl.rl.config import validate
    from hirl.rl.stage import STAGES

    assert STAGES.names() == ["adapt", "flat", "high", "language", "low", "plan"]
    cfg = RLRunConfig(stage="lwo")  # the constructor looks nothing up
    with pytest.raises(FieldError, match="stage: must be one of adapt, flat, high, language, low, plan, got 'lwo'"):
        validate(cfg)
