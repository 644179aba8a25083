"""The page's camera views: rendered at the asked (snapped) size, and Tabletop's front view without the dark band of
background above the table's far edge that the env's own camera frame has."""
import gymnasium as gym
import numpy as np

import hirl_envs  # noqa: F401  (registers hirl/Tabletop-v0)
from hirl.teleop.sessions.views import Views


def _dark_top_rows(frame: np.ndarray) -> int:
    """Rows from the top whose mean brightness is below 20 (of 255)."""
    dark = frame.mean(axis=(1, 2)) < 20
    return int(np.argmin(dark)) if not dark.all() else len(dark)


def test_front_and_top_views_at_the_displayed_size_without_a_dark_band() -> None:
    env = gym.make("hirl/Tabletop-v0", render_mode="rgb_array", width=96, height=96)
    env.reset(seed=0)
    views = Views(env)
    try:
        front, top = views.render("front", 480, 480), views.render("top", 333, 250)
        assert front is not None and top is not None
        assert front.shape == (480, 480, 3) and top.shape == (256, 336, 3)  # snapped to multiples of 16
        assert _dark_top_rows(front) == 0
        full = env.unwrapped.render()  # the env's own camera, which the image policies see: the band is there
        assert _dark_top_rows(np.asarray(full)) > 0
    finally:
        views.close()
        env.close()
