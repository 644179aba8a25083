"""Video frames with the command and the active subgoal drawn on them (evaluation MP4s and training-time videos).

Frames come from the env at high-level rate (never every 50 Hz step); annotation upsamples them and adds a
caption panel below, plus the goal image beside the frame for image subgoals."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hirl.hierarchy.rollout import Agent
from hirl.types import Command

_SOURCE_COLOURS = {"policy": (120, 200, 255), "human": (255, 170, 60), "expert": (140, 230, 140), "relabel": (220, 160, 255)}


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def annotate(
    frame: np.ndarray,
    lines: Sequence[tuple[str, str]],
    goal_image: np.ndarray | None = None,
    scale: int = 3,
) -> np.ndarray:
    """frame (H, W, 3) uint8 -> annotated (scale*H + panel, scale*W [* 2 with a goal image], 3) uint8.

    lines: (text, source) pairs; the source ("policy", "human", "expert", ...) picks the text colour, "" is white.
    """
    img = Image.fromarray(np.asarray(frame, dtype=np.uint8)).resize((frame.shape[1] * scale, frame.shape[0] * scale),
                                                                    Image.Resampling.NEAREST)
    panels = [img]
    if goal_image is not None:
        goal = Image.fromarray(np.asarray(goal_image, dtype=np.uint8)).resize(img.size, Image.Resampling.NEAREST)
        ImageDraw.Draw(goal).text((4, 4), "goal image", fill=(255, 255, 0), font=_font())
        panels.append(goal)
    line_h = 18
    width = sum(p.width for p in panels)
    chars = max(20, width // 7)  # ~7 px per character of the default font
    lines = [(chunk, source) for text, source in lines for chunk in (textwrap.wrap(text, chars) or [""])]
    canvas = Image.new("RGB", (width, img.height + line_h * len(lines) + 6), (20, 20, 20))
    x = 0
    for p in panels:
        canvas.paste(p, (x, 0))
        x += p.width
    draw = ImageDraw.Draw(canvas)
    font = _font()
    for i, (text, source) in enumerate(lines):
        draw.text((4, img.height + 3 + i * line_h), text, fill=_SOURCE_COLOURS.get(source, (240, 240, 240)), font=font)
    out = np.asarray(canvas)
    # H.264 needs even sizes
    return out[: out.shape[0] // 2 * 2, : out.shape[1] // 2 * 2]


def annotated_frame(env: gym.Env, agent: Agent, command: Command, scale: int = 3) -> np.ndarray:
    """run_episode's frame_fn for videos: env.render() annotated with the command, the active subgoal (and why it
    started), the step and query counts, and the goal image beside the frame for image subgoals (scale: upsampling)."""
    subgoal = agent.subgoal
    trace = getattr(agent, "trace", None)
    entry = trace[-1] if trace else None
    lines = [(f"task: {command.text}", "")]
    if subgoal is not None:
        why = f" ({entry.reason})" if entry is not None and entry.reason else ""
        lines.append((f"subgoal [{subgoal.source}]: {subgoal.describe()}{why}", subgoal.source))
    lines.append((f"step {agent.step_count}  queries {agent.num_queries}", ""))
    goal_image = np.asarray(subgoal.value) if subgoal is not None and subgoal.kind == "image" else None
    return annotate(np.asarray(env.render()), lines, goal_image=goal_image, scale=scale)


def pad_frames(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Frames ((H_i, W_i, 3) uint8) padded at the bottom/right to the largest one (a caption that wraps onto more
    lines makes a frame taller) -> list of (H, W, 3) uint8."""
    if not frames:
        return []
    h, w = max(f.shape[0] for f in frames), max(f.shape[1] for f in frames)
    out = []
    for f in frames:
        if f.shape[:2] != (h, w):
            padded = np.full((h, w, 3), 20, np.uint8)  # the caption panel's background
            padded[: f.shape[0], : f.shape[1]] = f
            f = padded
        out.append(f)
    return out
