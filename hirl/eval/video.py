"""Frames with the command and the active subgoal drawn on them, and MP4 writing.

Frames come from the env at high-level rate (never every 50 Hz step); annotation upsamples them
and adds a caption panel below, plus the goal image beside the frame for image subgoals."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hirl.fileio import temp_file_beside
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


def annotated_frame(env: gym.Env, agent: Agent, command: Command) -> np.ndarray:
    """run_episode's frame_fn for videos: env.render() annotated with the command, the active subgoal (and why it
    started), the step and query counts, and the goal image beside the frame for image subgoals."""
    subgoal = agent.subgoal
    trace = getattr(agent, "trace", None)
    entry = trace[-1] if trace else None
    lines = [(f"task: {command.text}", "")]
    if subgoal is not None:
        why = f" ({entry.reason})" if entry is not None and entry.reason else ""
        lines.append((f"subgoal [{subgoal.source}]: {subgoal.describe()}{why}", subgoal.source))
    lines.append((f"step {agent.step_count}  queries {agent.num_queries}", ""))
    goal_image = np.asarray(subgoal.value) if subgoal is not None and subgoal.kind == "image" else None
    return annotate(np.asarray(env.render()), lines, goal_image=goal_image)


def write_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames ((H, W, 3) uint8) as an H.264 MP4, atomically (temp file + rename). Frames of different
    sizes (a caption that wraps onto more lines) are padded at the bottom/right to the largest one."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError(f"{path}: no frames to write")
    h, w = max(f.shape[0] for f in frames), max(f.shape[1] for f in frames)
    frames = [f if f.shape[:2] == (h, w) else _pad(f, h, w) for f in frames]
    path = Path(path)
    fd, tmp = temp_file_beside(path, suffix=".mp4")
    os.close(fd)
    try:
        writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=1, format="FFMPEG")
        with writer:  # (not `as writer`: imageio's stub types __enter__ as the base class, without append_data)
            for f in frames:
                writer.append_data(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _pad(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    out = np.full((height, width, 3), 20, np.uint8)  # the caption panel's background
    out[: frame.shape[0], : frame.shape[1]] = frame
    return out
