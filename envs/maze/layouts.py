"""Maze grid layouts (1 = wall, 0 = free), row 0 is the north edge, column 0 the west edge.

The three named layouts follow gymnasium-robotics' PointMaze U / medium / large grids.
Every layout is fully enclosed by walls and its free cells form one connected region.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

U_MAZE: list[list[int]] = [
    [1, 1, 1, 1, 1],
    [1, 0, 0, 0, 1],
    [1, 1, 1, 0, 1],
    [1, 0, 0, 0, 1],
    [1, 1, 1, 1, 1],
]

MEDIUM_MAZE: list[list[int]] = [
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 1, 1, 0, 0, 1],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [1, 1, 0, 0, 0, 1, 1, 1],
    [1, 0, 0, 1, 0, 0, 0, 1],
    [1, 0, 1, 0, 0, 1, 0, 1],
    [1, 0, 0, 0, 1, 0, 0, 1],
    [1, 1, 1, 1, 1, 1, 1, 1],
]

LARGE_MAZE: list[list[int]] = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
    [1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1],
    [1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1],
    [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1],
    [1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1],
    [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
]

LAYOUTS: dict[str, list[list[int]]] = {"u": U_MAZE, "medium": MEDIUM_MAZE, "large": LARGE_MAZE}

Cell = tuple[int, int]
_MOVES: tuple[Cell, ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))  # N, S, W, E in (row, col)


def get_layout(layout: str | Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Return a validated layout grid, int8 array of shape (rows, cols).

    `layout` is a name from LAYOUTS or a grid of 0/1. Raises ValueError for an unknown name, a grid
    that is not 2-D 0/1, not enclosed by walls, with fewer than 2 free cells, or not connected."""
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ValueError(f"unknown maze layout {layout!r}; choose one of {sorted(LAYOUTS)} or pass a 0/1 grid")
        grid = np.asarray(LAYOUTS[layout], dtype=np.int8)
    else:
        grid = np.asarray(layout, dtype=np.int8)
    if grid.ndim != 2 or grid.shape[0] < 3 or grid.shape[1] < 3:
        raise ValueError(f"maze layout must be a 2-D grid of at least 3x3, got shape {grid.shape}")
    if not np.isin(grid, (0, 1)).all():
        raise ValueError("maze layout cells must be 0 (free) or 1 (wall)")
    border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
    if not (border == 1).all():
        raise ValueError("maze layout must be enclosed by walls (all border cells 1)")
    free = list(zip(*np.nonzero(grid == 0), strict=True))
    if len(free) < 2:
        raise ValueError("maze layout needs at least 2 free cells")
    if len(bfs_distances(grid, (int(free[0][0]), int(free[0][1])))) != len(free):
        raise ValueError("maze layout's free cells must form one connected region")
    return grid


def bfs_distances(grid: np.ndarray, start: Cell) -> dict[Cell, int]:
    """Shortest 4-connected path length (in cells) from `start` to every reachable free cell of grid (rows, cols)."""
    dist = {start: 0}
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in _MOVES:
            nxt = (r + dr, c + dc)
            if nxt not in dist and grid[nxt] == 0:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def bfs_path(grid: np.ndarray, start: Cell, goal: Cell) -> list[Cell]:
    """Shortest 4-connected path of free cells from start to goal, both included (list of (row, col)).

    Raises ValueError if either cell is a wall / outside the grid or the goal is unreachable."""
    for name, cell in (("start", start), ("goal", goal)):
        r, c = cell
        if not (0 <= r < grid.shape[0] and 0 <= c < grid.shape[1]) or grid[r, c] != 0:
            raise ValueError(f"{name} cell {cell} is not a free cell of the maze")
    parent: dict[Cell, Cell | None] = {start: None}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        if cur == goal:
            break
        for dr, dc in _MOVES:
            nxt = (cur[0] + dr, cur[1] + dc)
            if nxt not in parent and grid[nxt] == 0:
                parent[nxt] = cur
                queue.append(nxt)
    if goal not in parent:
        raise ValueError(f"goal cell {goal} is unreachable from {start}")
    path: list[Cell] = []
    node: Cell | None = goal
    while node is not None:
        path.append(node)
        node = parent[node]
    return path[::-1]


def max_path_length(grid: np.ndarray) -> int:
    """Longest shortest path (in cells) between any two free cells of grid (rows, cols): the maze diameter."""
    free = [(int(r), int(c)) for r, c in zip(*np.nonzero(grid == 0), strict=True)]
    return max(max(bfs_distances(grid, cell).values()) for cell in free)
