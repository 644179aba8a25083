"""FrameToState (a frame -> the achieved goal it shows) and ImageAsStateGoal (an image high level read as state)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hirl.policies.base import HighLevelPolicy
from hirl.policies.high.image_state import FrameToState, FrameToStateConfig, ImageAsStateGoal
from hirl.types import Command, Observation, Subgoal

G = 3


def frames_and_goals(n: int = 256, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """A white 3x3 square at a random place on black: the goal is its (row, col) and a constant."""
    rng = np.random.default_rng(0)
    pos = rng.integers(0, size - 3, size=(n, 2))
    frames = np.zeros((n, size, size, 3), np.uint8)
    for i, (r, c) in enumerate(pos):
        frames[i, r:r + 3, c:c + 3] = 255
    goals = np.concatenate([pos / size, np.full((n, 1), 0.5)], axis=1).astype(np.float32)
    return frames, goals


@pytest.mark.parametrize("reader", [{}, {"keypoints": 8, "shift": 1}])
def test_frame_to_state_learns_where_the_square_is_and_round_trips(tmp_path, reader):
    frames, goals = frames_and_goals()
    torch.manual_seed(0)
    net = FrameToState(FrameToStateConfig(goal_dim=G, feat=32, channels=(8, 8, 8, 8), hidden=(32,), **reader)).fit(goals)
    assert torch.allclose(net.goal_mean, torch.from_numpy(goals.mean(0)), atol=1e-6)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    batch = {"image": torch.from_numpy(frames), "target_state": torch.from_numpy(goals)}
    first = net.loss(batch)[0].item()
    for _ in range(150):
        loss, metrics = net.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first and metrics["goal_dist"] >= 0
    loaded = FrameToState.load(net.save(tmp_path / "m"))
    with torch.no_grad():
        assert torch.equal(net.predict(batch["image"][:4]), loaded.predict(batch["image"][:4]))
    with pytest.raises(ValueError, match="goal_states"):
        net.fit(np.zeros((4, G + 1)))
    with pytest.raises(ValueError, match="keypoints and shift"):
        FrameToStateConfig(goal_dim=G, shift=0)


class FixedImage(HighLevelPolicy):
    """Proposes one frame (or a language subgoal with kind='language'); records what it was told."""

    def __init__(self, frame: np.ndarray, kind: str = "image") -> None:
        self.frame, self.kind, self.seen = frame, kind, []

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        if self.kind == "language":
            return Subgoal("language", "open the drawer")
        return Subgoal("image", self.frame, "policy", "open the drawer")

    def observe(self, subgoal: Subgoal) -> None:
        self.seen.append(subgoal)


def test_image_as_state_goal_reads_the_frame_and_tells_the_inner_level_its_image():
    frames, goals = frames_and_goals(8)
    reader = FrameToState(FrameToStateConfig(goal_dim=G, feat=16, channels=(4, 4, 4, 4), hidden=(8,))).fit(goals)
    inner = FixedImage(frames[0])
    high = ImageAsStateGoal(inner, reader)
    sub = high.propose({}, Command("open the drawer"))
    assert sub.kind == "state" and sub.value.shape == (G,) and sub.value.dtype == np.float64
    assert sub.label == "open the drawer" and np.array_equal(high.frame, frames[0])
    with torch.no_grad():
        expected = reader.predict(torch.from_numpy(frames[:1]))[0].numpy()
    np.testing.assert_allclose(sub.value, expected, rtol=1e-6)
    high.observe(sub)  # the state subgoal it made: the inner level hears of the image behind it
    assert inner.seen[-1].kind == "image"
    correction = Subgoal("language", "close the drawer", "human")
    high.observe(correction)  # anything else is passed on as it is
    assert inner.seen[-1] is correction
    with pytest.raises(TypeError, match="image subgoals"):
        ImageAsStateGoal(FixedImage(frames[0], kind="language"), reader).propose({}, Command("x"))


def test_residual_reader_reads_the_frame_against_the_achieved_goal_now():
    """residual: predictions are achieved + a standardised change; the wrapper reads obs["achieved_goal"]."""
    frames, goals = frames_and_goals(32)
    now = goals[::-1].copy()
    cfg = FrameToStateConfig(goal_dim=G, feat=16, channels=(4, 4, 4, 4), hidden=(8,), residual=True)
    reader = FrameToState(cfg).fit(goals, now)
    assert torch.allclose(reader.goal_mean, torch.from_numpy((goals - now).mean(0)), atol=1e-6)
    batch = {"image": torch.from_numpy(frames), "target_state": torch.from_numpy(goals)}
    with pytest.raises(KeyError, match="achieved"):
        reader.loss(batch)
    assert torch.isfinite(reader.loss({**batch, "achieved": torch.from_numpy(now)})[0])
    with torch.no_grad():
        a = reader.predict(batch["image"][:1], torch.from_numpy(now[:1]))
        change = reader(batch["image"][:1], torch.from_numpy(now[:1])) * reader.goal_std + reader.goal_mean
    torch.testing.assert_close(a, change + torch.from_numpy(now[:1]))  # the goal is now + the change it reads
    high = ImageAsStateGoal(FixedImage(frames[0]), reader)
    with pytest.raises(ValueError, match="'achieved_goal'"):
        high.propose({}, Command("x"))
    sub = high.propose({"achieved_goal": now[0]}, Command("x"))
    np.testing.assert_allclose(sub.value, a[0].numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="achieved goals now"):
        FrameToState(cfg).fit(goals)
