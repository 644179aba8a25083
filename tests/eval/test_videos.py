"""Evaluation videos: each agent's first episode and its first failed one are filmed (<agent>_ep<N>_<outcome>.mp4),
at the render's own size without the background band, with the subtasks ticked off and the outcome drawn."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from hirl.eval.evaluate import evaluate_agent
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.hierarchy.rollout import EpisodeResult
from hirl.policies.scripted import ScriptedHighLevel, ScriptedLowLevel
from hirl.tracking.frames import (OUTCOME_COLOURS, PANEL_WIDTH, Caption, EpisodeFilm, draw_frame, episode_outcome,
                                  panel_lines, scene_rows)
from hirl.types import Command, Subgoal

SIZE, BAND = 300, 40  # the toy camera's frame, and its rows of empty background at the top
CHAIN = ["pick up the red block", "open the drawer"]


class ChainEnv(gym.Env):
    """Two-subtask chains: the first subtask completes at step 3, the second at step 6, except on seeds in `fails`,
    where the chain stops after 8 steps at the second. Renders a textured scene under a black band."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, fails: set[int]) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(2,))
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,))
        self.fails, self.t, self.seed_ = fails, 0, 0
        self.renders = 0

    def info(self) -> dict[str, Any]:
        done = [s for s, at in zip(CHAIN, (3, 6), strict=True) if self.t >= at and not (s == CHAIN[1] and self.failing)]
        return {"task": list(CHAIN), "completed_subtasks": done, "is_success": len(done) == 2}

    @property
    def failing(self) -> bool:
        return self.seed_ in self.fails

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t, self.seed_ = 0, int(seed or 0)
        return np.zeros(2), self.info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        info = self.info()
        return np.zeros(2), 0.0, info["is_success"] or self.t >= 8, False, info

    def render(self) -> np.ndarray:
        self.renders += 1
        frame = np.random.default_rng(self.t).integers(60, 200, size=(SIZE, SIZE, 3), dtype=np.uint8)
        frame[:BAND] = 0
        return frame


def agent() -> HierarchicalAgent:
    return HierarchicalAgent(ScriptedHighLevel(lambda obs, command: Subgoal("language", CHAIN[0], "policy")),
                             ScriptedLowLevel(lambda obs, subgoal: np.zeros(2)), FixedInterval(4))


def evaluate(tmp_path: Path, fails: set[int], episodes: int = 4) -> tuple[dict[str, Any], list[EpisodeResult], ChainEnv]:
    env = ChainEnv(fails)
    metrics, results = evaluate_agent(agent(), env, lambda info: Command("pick up the red block, then open the drawer"),
                                      episodes, 2, 0, 1, 1, tmp_path, "toy", lambda n: None)
    return metrics, results, env


def read(path: str | Path) -> list[np.ndarray]:
    import imageio.v2 as imageio

    return list(imageio.get_reader(path, format="FFMPEG").iter_data())


def test_first_episode_and_first_failure_are_filmed(tmp_path: Path) -> None:
    metrics, results, env = evaluate(tmp_path, fails={2, 3})
    names = [Path(p).name for p in metrics["videos"]]
    assert names == ["toy_ep000_success.mp4", "toy_ep002_failure.mp4"]  # episode 3 fails too: not filmed again
    assert [r.success for r in results] == [True, True, False, False]  # the replay is not counted twice
    assert metrics["episodes"] == 4 and metrics["success_rate"] == 0.5
    assert env.renders == (6 + 1) + (8 + 1)  # 2 films: ep 0 (6 steps, a frame each + the end) and ep 2 (8 + 1)
    # latency: the unfilmed episodes only (1, 2, 3: 6 + 8 + 8 steps), the first step of all apart as warm-up
    assert metrics["latency"]["steps_timed"] == 22 and set(metrics["latency"]["warmup_ms"]) >= {"control_step"}


def test_a_failed_first_episode_is_the_only_film(tmp_path: Path) -> None:
    metrics, _, _ = evaluate(tmp_path, fails={0, 1, 2, 3})
    assert [Path(p).name for p in metrics["videos"]] == ["toy_ep000_failure.mp4"]
    metrics, _, _ = evaluate(tmp_path / "none", fails=set())
    assert [Path(p).name for p in metrics["videos"]] == ["toy_ep000_success.mp4"]  # no failure: none filmed


def test_frames_are_display_size_without_the_band_with_ticks_and_outcome(tmp_path: Path) -> None:
    metrics, _, _ = evaluate(tmp_path, fails={1})
    failure = read(metrics["videos"][1])
    first, last = failure[0], failure[-1]
    assert first.shape == (SIZE - BAND, SIZE + PANEL_WIDTH, 3)  # rendered size, band rows cut, panel beside it
    scene = first[:, :SIZE].astype(int)
    assert scene[:4].mean() > 40 and scene[-4:].std() > 10  # neither the top nor the bottom rows are a flat band
    assert first[:, SIZE + 4:].max() > 200  # text drawn on the panel
    red = np.array(OUTCOME_COLOURS["failure"])
    assert np.abs(last[-10:, :SIZE].reshape(-1, 3).mean(axis=0) - red).max() < 25  # the outcome banner
    assert np.abs(first[-10:, :SIZE].reshape(-1, 3).mean(axis=0) - red).max() > 40  # not on the first frame
    fps = 50 / 1
    assert len(failure) >= 8 + round(1.5 * fps)  # the last frame held 1.5 s


def test_panel_ticks_off_subtasks_and_outcomes_name_the_failure() -> None:
    caption = Caption("do both", CHAIN, completed=1, subgoal=("open the drawer (completion)", "policy"), status="step 4")
    lines = [text for text, _ in panel_lines(caption, chars=60)]
    assert lines == ["task: do both", "[x] pick up the red block", "[>] open the drawer",
                     "subgoal [policy]: open the drawer (completion)", "step 4"]
    base = dict(seed=0, command="c", steps=300, high_level_queries=2, replans=1, interventions=0, task=CHAIN)
    ok = EpisodeResult(success=True, completed=CHAIN, subtask_steps=[40, 60], **base)
    stopped = EpisodeResult(success=False, completed=CHAIN[:1], subtask_steps=[50], **base)
    timed_out = EpisodeResult(success=False, completed=[], timed_out=True, **base)
    assert episode_outcome(ok).headline == "SUCCESS 2/2 subtasks"
    assert episode_outcome(stopped).headline == "FAILED at subtask 2/2"
    assert episode_outcome(stopped).detail == "after 250 steps on it: open the drawer"
    assert (episode_outcome(timed_out).kind, episode_outcome(timed_out).headline) == ("timeout", "TIMEOUT at subtask 1/2")


@pytest.mark.parametrize("size", [32, 400])
def test_small_renders_are_resized_up_and_sizes_are_even(size: int) -> None:
    scene = np.full((size, size + 1, 3), 120, np.uint8)
    out = draw_frame(scene, Caption("x", goal_image=np.zeros((8, 8, 3), np.uint8)))
    assert out.shape[0] >= 240 and out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0


def test_band_rows_are_found_on_the_first_frame_and_kept_for_the_film() -> None:
    frame = np.full((100, 50, 3), 90, np.uint8)
    frame[:10] = 0
    frame[-5:] = 3
    assert scene_rows(frame) == slice(10, 95)
    assert scene_rows(np.zeros((100, 50, 3), np.uint8)) == slice(0, 100)  # all dark: nothing cut
    film = EpisodeFilm(fps=10)
    assert film.finish(EpisodeResult(seed=0, command="c", success=True, steps=0, high_level_queries=0, replans=0,
                                     interventions=0)) == []
