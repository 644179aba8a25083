"""Language labels of OGBench oracle targets: the target task the environment set for its data-collection oracle
(info["privileged/target_*"] in mode="data_collection") in words, e.g. "open the drawer", "press button 2",
"move cube 1 to the left". The labels are what hirl's language subgoals are trained on; OGBench's own methods
never see them. Pure functions of the target info (no ogbench import)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

STACK_Z = 0.03  # a cube target this high above the table (m) means stacking on another cube (cubes are 4 cm)


def _region(y: float, y_lo: float, y_hi: float) -> str:
    """'left' / 'middle' / 'right' third of the target sampling range in y (the robot faces +x: +y is its left)."""
    third = (y_hi - y_lo) / 3.0
    if y >= y_hi - third:
        return "left"
    if y <= y_lo + third:
        return "right"
    return "middle"


def cube_label(info: Mapping[str, Any], bounds: np.ndarray, n_cubes: int, in_drawer: bool = False) -> str:
    """The cube target in words. bounds (2, 2): [[x_lo, y_lo], [x_hi, y_hi]] of the target sampling range."""
    k = int(info["privileged/target_block"])
    name = "the cube" if n_cubes == 1 else f"cube {k + 1}"
    pos = np.asarray(info["privileged/target_block_pos"], dtype=np.float64)  # (3,)
    if in_drawer:
        return f"put {name} in the drawer"
    if pos[2] > STACK_Z:
        return f"stack {name} on another cube"
    return f"move {name} to the {_region(float(pos[1]), float(bounds[0][1]), float(bounds[1][1]))}"


def target_label(info: Mapping[str, Any], bounds: np.ndarray, n_cubes: int, cube_in_drawer: bool = False) -> str:
    """The target task of a manipulation env in data-collection mode, from its reset / step info."""
    task = str(info["privileged/target_task"])
    if task == "cube":
        return cube_label(info, bounds, n_cubes, cube_in_drawer)
    if task == "button":
        return f"press button {int(info['privileged/target_button']) + 1}"
    if task == "drawer":
        opening = float(np.asarray(info["privileged/target_drawer_pos"]).reshape(-1)[0]) < -0.08  # -0.16 open, 0 shut
        return "open the drawer" if opening else "close the drawer"
    if task == "window":
        opening = float(np.asarray(info["privileged/target_window_pos"]).reshape(-1)[0]) > 0.1  # 0.2 open, 0 shut
        return "open the window" if opening else "close the window"
    raise ValueError(f"unknown OGBench target task {task!r}")


def cell_label(ij: tuple[int, int]) -> str:
    """A maze navigation target: the goal cell (row i, column j of the maze map)."""
    return f"go to cell {int(ij[0])},{int(ij[1])}"
