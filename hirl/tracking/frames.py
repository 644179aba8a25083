"""Video frames of filmed episodes (evaluation MP4s and training-time videos): the env's render at its own size, the
empty background band cut off, and a text panel beside it with the command, the chain's subtasks ticked off so far,
the active subgoal and the counts; after the episode its last frame is held with the outcome drawn on it.

    film = EpisodeFilm(fps=12.5)
    result = run_episode(env, agent, command_fn, seed=s, frame_every=4, frame_fn=film)
    frames = film.finish(result)          # result.frames + the outcome held OUTCOME_SECONDS, all (H, W, 3) uint8

Frames come from the env at high-level rate (every frame_every control steps, never every 50 Hz step). Every frame of
a film has the same size (the band to cut is found on the film's first frame), so no frame is padded."""
from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hirl.hierarchy.rollout import Agent, EpisodeResult
from hirl.types import Command

PANEL_WIDTH = 320  # px: the text panel right of the scene
MIN_SCENE_HEIGHT = 240  # px: a scene rendered smaller (tiny test renders) is resized up to this height to fit the panel
LINE_HEIGHT = 17  # px per text line of the panel (the default font at FONT_SIZE)
FONT_SIZE = 14  # px: panel text
OUTCOME_FONT_SIZE = 20  # px: the outcome's headline
BACKGROUND_LEVEL = 12  # a row whose every pixel channel is below this is empty background (the camera looks past the scene)
OUTCOME_SECONDS = 1.5  # the last frame is held this long with the outcome drawn on it
PANEL_COLOUR = (24, 24, 28)  # the panel's background
SOURCE_COLOURS = {"policy": (120, 200, 255), "human": (255, 170, 60), "expert": (140, 230, 140), "relabel": (220, 160, 255)}
DONE_COLOUR, ACTIVE_COLOUR, TODO_COLOUR, TEXT_COLOUR = (120, 220, 120), (255, 220, 90), (150, 150, 150), (235, 235, 235)
OUTCOME_COLOURS = {"success": (40, 150, 60), "failure": (180, 40, 40), "timeout": (190, 110, 20)}


def font(size: int = FONT_SIZE) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at `size` px (Pillow < 10.1, which has no sized default font: its bitmap font)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


@dataclass(frozen=True)
class Caption:
    """What the panel beside a frame says.

    command     the task as given;  subtasks  the chain's subtask instructions (empty: an env without chains)
    completed   how many of them are done (ticked off);  subgoal  (text, source) of the active subgoal, or None
    status      one line of counts ("step 120  queries 4");  goal_image  (h, w, 3) uint8 of an image subgoal, or None"""

    command: str
    subtasks: Sequence[str] = ()
    completed: int = 0
    subgoal: tuple[str, str] | None = None
    status: str = ""
    goal_image: np.ndarray | None = None


@dataclass(frozen=True)
class Outcome:
    """How a filmed episode ended: kind "success" | "failure" | "timeout", a headline and a detail line."""

    kind: str
    headline: str
    detail: str = ""


def episode_outcome(result: EpisodeResult) -> Outcome:
    """The outcome of an episode: success (k/k subtasks), a physics error, the env's time limit (timeout) or the
    chain stopping at subtask k (failure; with the steps spent on it and its instruction)."""
    n, k = len(result.task), len(result.completed)
    where = f" at subtask {k + 1}/{n}" if k < n else ""
    current = result.task[k] if k < n else ""
    spent = result.steps - sum(result.subtask_steps)
    if result.success:
        return Outcome("success", f"SUCCESS {k}/{n} subtasks" if n else "SUCCESS", f"in {result.steps} steps")
    if result.physics_error is not None:
        return Outcome("failure", f"FAILED{where}: physics error", result.physics_error)
    if result.timed_out:
        return Outcome("timeout", f"TIMEOUT{where}", f"after {result.steps} steps{': ' + current if current else ''}")
    return Outcome("failure", f"FAILED{where}", f"after {spent} steps on it{': ' + current if current else ''}")


def scene_rows(frame: np.ndarray) -> slice:
    """The rows of a rendered frame (H, W, 3) between its leading and trailing rows of empty background (every
    channel below BACKGROUND_LEVEL: the camera looking past the scene); at least half of the frame is kept."""
    content = np.flatnonzero(np.asarray(frame).max(axis=(1, 2)) >= BACKGROUND_LEVEL)
    h = frame.shape[0]
    if not len(content) or content[-1] + 1 - content[0] < h // 2:
        return slice(0, h)
    return slice(int(content[0]), int(content[-1]) + 1)


def _wrapped(text: str, colour: tuple[int, int, int], chars: int, indent: str = "") -> list[tuple[str, tuple[int, int, int]]]:
    """text wrapped to `chars` characters per line (continuation lines indented by len(indent)), each with colour."""
    lines = textwrap.wrap(text, chars, subsequent_indent=" " * len(indent)) or [""]
    return [(line, colour) for line in lines]


def panel_lines(caption: Caption, chars: int) -> list[tuple[str, tuple[int, int, int]]]:
    """The panel's text lines (text, colour): the command, one line per subtask ticked [x] / active [>] / to do [ ],
    the active subgoal and the status line."""
    lines = _wrapped(f"task: {caption.command}", TEXT_COLOUR, chars)
    for i, subtask in enumerate(caption.subtasks):
        mark, colour = (("[x] ", DONE_COLOUR) if i < caption.completed else
                        ("[>] ", ACTIVE_COLOUR) if i == caption.completed else ("[ ] ", TODO_COLOUR))
        lines += _wrapped(mark + subtask, colour, chars, mark)
    if caption.subgoal is not None:
        text, source = caption.subgoal
        lines += _wrapped(f"subgoal [{source}]: {text}", SOURCE_COLOURS.get(source, TEXT_COLOUR), chars)
    if caption.status:
        lines.append((caption.status, TEXT_COLOUR))
    return lines


def draw_frame(scene: np.ndarray, caption: Caption) -> np.ndarray:
    """scene (H, W, 3) uint8 -> (H', W' + PANEL_WIDTH, 3) uint8: the scene (resized up to MIN_SCENE_HEIGHT rows when
    smaller, bilinear) with the caption's panel right of it; a goal image sits in the panel's lower right corner.
    Text that does not fit the panel is cut (the last line shown ends in "..."). Sizes are even (H.264)."""
    img = Image.fromarray(np.asarray(scene, dtype=np.uint8))
    if img.height < MIN_SCENE_HEIGHT:
        img = img.resize((round(img.width * MIN_SCENE_HEIGHT / img.height), MIN_SCENE_HEIGHT), Image.Resampling.BILINEAR)
    w, h = (img.width + PANEL_WIDTH) // 2 * 2, img.height // 2 * 2
    canvas = Image.new("RGB", (w, h), PANEL_COLOUR)
    canvas.paste(img, (0, 0))
    draw = ImageDraw.Draw(canvas)
    text_bottom = h - 4
    if caption.goal_image is not None:
        side = min(PANEL_WIDTH // 2, h // 2)
        goal = Image.fromarray(np.asarray(caption.goal_image, dtype=np.uint8)).resize((side, side), Image.Resampling.BILINEAR)
        canvas.paste(goal, (w - side - 4, h - side - 4))
        draw.text((w - side - 4, h - side - 4 - LINE_HEIGHT), "goal image", fill=ACTIVE_COLOUR, font=font())
        text_bottom = h - side - 4 - LINE_HEIGHT
    lines = panel_lines(caption, chars=(PANEL_WIDTH - 12) // 7)  # ~7 px per character of the default font
    fits = max(1, (text_bottom - 4) // LINE_HEIGHT)
    if len(lines) > fits:
        lines = [*lines[: fits - 1], (lines[fits - 1][0][:-3] + "...", lines[fits - 1][1])]
    f = font()
    for i, (text, colour) in enumerate(lines):
        draw.text((img.width + 6, 4 + i * LINE_HEIGHT), text, fill=colour, font=f)
    return np.asarray(canvas)


def draw_outcome(frame: np.ndarray, outcome: Outcome) -> np.ndarray:
    """frame (H, W, 3) uint8 with a banner in the outcome's colour across its bottom: the headline and the detail."""
    img = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    draw = ImageDraw.Draw(img)
    height = OUTCOME_FONT_SIZE + LINE_HEIGHT + 12
    draw.rectangle((0, img.height - height, img.width, img.height), fill=OUTCOME_COLOURS[outcome.kind])
    draw.text((8, img.height - height + 4), outcome.headline, fill=(255, 255, 255), font=font(OUTCOME_FONT_SIZE))
    draw.text((8, img.height - LINE_HEIGHT - 4), textwrap.shorten(outcome.detail, img.width // 7, placeholder="...")
              if outcome.detail else "", fill=(255, 255, 255), font=font())
    return np.asarray(img)


@dataclass
class EpisodeFilm:
    """run_episode's frame_fn for ONE filmed episode (make a new one per episode): env.render() with the background
    band cut (the rows found on the first frame) and the panel drawn beside it (draw_frame); finish(result) adds the
    outcome. fps: the film's frame rate (CONTROL_HZ / frame_every), for how many frames the outcome is held."""

    fps: float
    rows: slice | None = None  # the scene's rows without the background band, found on the first frame

    def __call__(self, env: gym.Env, agent: Agent, command: Command, info: Mapping[str, Any]) -> np.ndarray:
        scene = np.asarray(env.render())
        if self.rows is None:
            self.rows = scene_rows(scene)
        return draw_frame(scene[self.rows], self.caption(agent, command, info))

    def caption(self, agent: Agent, command: Command, info: Mapping[str, Any]) -> Caption:
        """The panel's content now: the chain from info ("task", "completed_subtasks"), the agent's subgoal."""
        subgoal = agent.subgoal
        # why the active subgoal started: the trace names it only at the step it started
        reason = next((e.reason for e in reversed(getattr(agent, "trace", None) or ()) if e.reason), None)
        why = f" ({reason})" if reason else ""
        return Caption(command=command.text, subtasks=list(info.get("task", ())),
                       completed=len(info.get("completed_subtasks", ())),
                       subgoal=(subgoal.describe() + why, subgoal.source) if subgoal is not None else None,
                       status=f"step {agent.step_count}  queries {agent.num_queries}",
                       goal_image=np.asarray(subgoal.value) if subgoal is not None and subgoal.kind == "image" else None)

    def finish(self, result: EpisodeResult) -> list[np.ndarray]:
        """result.frames with its last frame held OUTCOME_SECONDS with the outcome drawn (episode_outcome)."""
        if not result.frames:
            return []
        last = draw_outcome(result.frames[-1], episode_outcome(result))
        return [*result.frames[:-1], *[last] * max(1, round(OUTCOME_SECONDS * self.fps))]
