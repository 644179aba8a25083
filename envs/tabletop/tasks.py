"""Tabletop subtask vocabulary: names, canonical instructions, paraphrases, a symbolic state
abstraction with preconditions/effects (for sampling feasible CALVIN-style chains), and the
geometric predicates used to detect completion on the MuJoCo state.

Symbolic state (``SymState``): drawer in {"open", "closed", "mid"}, light in {0, 1}, the held
block (colour or None) and each block's location: "table", "held", "drawer", "on_<colour>" or
"air" (anything else, e.g. falling). Preconditions are deliberately conservative so every chain
is solvable by the scripted expert (e.g. only the held block may be manipulated while holding).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

COLOURS: tuple[str, ...] = ("red", "green", "blue")

# --- geometry constants shared with the MJCF (assets/tabletop.xml) ---------------------------
BLOCK_HALF = 0.02  # half edge of a block (m); a block resting on the table has z = 0.02
TRAY_FLOOR_Z = 0.012  # top of the drawer tray floor (m)
TRAY_HALF_X, TRAY_HALF_Y = 0.10, 0.11  # inner half extents of the tray (m)
DRAWER_OPEN = 0.15  # opening above which the drawer counts as open (m)
DRAWER_CLOSED = 0.02  # opening below which the drawer counts as closed (m)
DRAWER_MAX = 0.20  # joint range of the drawer (m)
LIFT_HEIGHT = 0.05  # a picked block must be this far above its table resting height (m)


@dataclass(frozen=True)
class Subtask:
    """One subtask: short name, canonical instruction and training paraphrases."""

    name: str
    instruction: str
    paraphrases: tuple[str, ...]


def _build_subtasks() -> dict[str, Subtask]:
    subs: list[Subtask] = [
        Subtask("open_drawer", "open the drawer",
                ("pull the drawer open", "slide the drawer out", "pull out the drawer", "open up the drawer")),
        Subtask("close_drawer", "close the drawer",
                ("push the drawer closed", "slide the drawer in", "push in the drawer", "shut the drawer")),
        Subtask("push_button", "push the button",
                ("press the button", "hit the button", "push down the button", "toggle the light with the button")),
        Subtask("turn_on_light", "turn on the light",
                ("switch on the light", "switch the lamp on", "make the light turn on", "light up the lamp")),
        Subtask("turn_off_light", "turn off the light",
                ("switch off the light", "switch the lamp off", "make the light go dark", "turn the lamp off")),
    ]
    for c in COLOURS:
        subs.append(Subtask(f"pick_up_{c}", f"pick up the {c} block",
                            (f"lift the {c} block", f"grasp the {c} block and lift it", f"grab the {c} block",
                             f"take the {c} block")))
        subs.append(Subtask(f"place_{c}_in_drawer", f"place the {c} block in the drawer",
                            (f"put the {c} block in the drawer", f"store the {c} block in the drawer",
                             f"drop the {c} block into the drawer", f"move the {c} block into the drawer")))
    for a in COLOURS:
        for b in COLOURS:
            if a != b:
                subs.append(Subtask(f"stack_{a}_on_{b}", f"stack the {a} block on the {b} block",
                                    (f"put the {a} block on top of the {b} block", f"place the {a} block on the {b} block",
                                     f"stack {a} on {b}", f"set the {a} block onto the {b} block")))
    return {s.name: s for s in subs}


SUBTASKS: dict[str, Subtask] = _build_subtasks()
SUBTASK_NAMES: tuple[str, ...] = tuple(SUBTASKS)
_TEXT_TO_NAME: dict[str, str] = {}
for _s in SUBTASKS.values():
    for _t in (_s.name, _s.instruction, *_s.paraphrases):
        _TEXT_TO_NAME[_t.strip().lower()] = _s.name


def canonical(text: str) -> str | None:
    """Map a name, canonical instruction or shipped paraphrase (case-insensitive) to the subtask name; unknown -> None."""
    if not isinstance(text, str):
        return None
    return _TEXT_TO_NAME.get(" ".join(text.strip().lower().split()))


def parse(name: str) -> tuple[str, tuple[str, ...]]:
    """Split a subtask name into (kind, colours): e.g. "stack_red_on_blue" -> ("stack", ("red", "blue"))."""
    if name.startswith("pick_up_"):
        return "pick", (name[8:],)
    if name.startswith("place_"):
        return "place", (name.split("_")[1],)
    if name.startswith("stack_"):
        parts = name.split("_")
        return "stack", (parts[1], parts[3])
    return name, ()


# --- symbolic state ----------------------------------------------------------------------------
@dataclass
class SymState:
    """Abstract state used for chain feasibility: see the module docstring."""

    drawer: str
    light: int
    held: str | None
    loc: dict[str, str] = field(default_factory=dict)

    def copy(self) -> SymState:
        return dataclasses.replace(self, loc=dict(self.loc))

    def clear(self, c: str) -> bool:
        """True if no block rests on block c."""
        return all(v != f"on_{c}" for v in self.loc.values())


def precondition(name: str, s: SymState) -> str | None:
    """None if subtask `name` is feasible in `s`, else a short reason why not."""
    kind, cols = parse(name)
    if kind in ("open_drawer", "close_drawer", "push_button", "turn_on_light", "turn_off_light"):
        if s.held is not None:
            return f"the gripper is holding the {s.held} block"
        if kind == "open_drawer" and s.drawer == "open":
            return "the drawer is already open"
        if kind == "close_drawer" and s.drawer == "closed":
            return "the drawer is already closed"
        if kind == "turn_on_light" and s.light:
            return "the light is already on"
        if kind == "turn_off_light" and not s.light:
            return "the light is already off"
        return None
    a = cols[0]
    if s.held is not None and s.held != a:
        return f"the gripper is holding the {s.held} block"
    la = s.loc[a]
    if la == "held":
        movable = True
    else:
        movable = (la == "table" or la.startswith("on_")) and s.clear(a)
    if kind == "pick":
        if la == "held":
            return f"the {a} block is already held"
        return None if movable else f"the {a} block is not free to pick ({la}, clear={s.clear(a)})"
    if not movable:
        return f"the {a} block is not free to move ({la}, clear={s.clear(a)})"
    if kind == "place":
        return None if s.drawer == "open" else "the drawer is not open"
    b = cols[1]  # stack a on b
    if la == f"on_{b}":
        return f"the {a} block is already on the {b} block"
    if s.loc[b] != "table" or not s.clear(b):
        return f"the {b} block is not a free block on the table ({s.loc[b]})"
    return None


def effect(name: str, s: SymState) -> SymState:
    """Symbolic state after subtask `name` succeeds (assumes it was feasible)."""
    s = s.copy()
    kind, cols = parse(name)
    if kind == "open_drawer":
        s.drawer = "open"
    elif kind == "close_drawer":
        s.drawer = "closed"
    elif kind == "push_button":
        s.light = 1 - s.light
    elif kind == "turn_on_light":
        s.light = 1
    elif kind == "turn_off_light":
        s.light = 0
    elif kind == "pick":
        s.loc[cols[0]], s.held = "held", cols[0]
    elif kind == "place":
        s.loc[cols[0]], s.held = "drawer", None
    elif kind == "stack":
        s.loc[cols[0]], s.held = f"on_{cols[1]}", None
    return s


def check_chain(names: list[str], s: SymState) -> None:
    """Raise ValueError naming the first infeasible subtask of the chain (simulating effects)."""
    for i, n in enumerate(names):
        why = precondition(n, s)
        if why is not None:
            raise ValueError(
                f"Tabletop: task step {i} {n!r} ({SUBTASKS[n].instruction!r}) is infeasible: {why}; chain={names}")
        s = effect(n, s)


def sample_chain(s: SymState, length: int, rng: np.random.Generator, max_tries: int = 200) -> list[str]:
    """Sample a chain of `length` subtasks, each feasible after the previous ones' effects (random DFS with backtracking)."""
    tries = [0]

    def dfs(state: SymState, k: int) -> list[str] | None:
        if k == 0:
            return []
        feas = [n for n in SUBTASK_NAMES if precondition(n, state) is None]
        for idx in rng.permutation(len(feas)):
            tries[0] += 1
            if tries[0] > max_tries:
                return None
            rest = dfs(effect(feas[idx], state), k - 1)
            if rest is not None:
                return [feas[idx], *rest]
        return None

    chain = dfs(s, length)
    if chain is None:
        raise RuntimeError(f"Tabletop: no feasible chain of length {length} from {s}")
    return chain


# --- geometric predicates on the physical state -------------------------------------------------
@dataclass
class PhysState:
    """Snapshot of what the predicates need. Shapes: grip (3,), blocks {colour: (3,)}, tray_center (3,)."""

    grip: np.ndarray
    gap: float  # finger opening (m)
    blocks: dict[str, np.ndarray]
    drawer: float  # drawer opening (m)
    tray_center: np.ndarray
    light: int


def held(p: PhysState, c: str) -> bool:
    """Block c sits between the (closed-on-it) fingers."""
    d = np.abs(p.blocks[c] - p.grip)
    return bool(d[0] < 0.02 and d[1] < 0.025 and d[2] < 0.03 and 0.025 < p.gap < 0.048)


def on(p: PhysState, a: str, b: str) -> bool:
    """Block a rests on top of block b."""
    d = p.blocks[a] - p.blocks[b]
    return bool(abs(d[0]) < 0.025 and abs(d[1]) < 0.025 and 0.03 < d[2] < 0.05)


def in_drawer(p: PhysState, c: str) -> bool:
    """Block c is inside the tray volume."""
    d = p.blocks[c] - p.tray_center
    return bool(abs(d[0]) < TRAY_HALF_X and abs(d[1]) < TRAY_HALF_Y and p.blocks[c][2] < TRAY_FLOOR_Z + BLOCK_HALF + 0.015)


_PARSED: dict[str, tuple[str, tuple[str, ...]]] = {n: parse(n) for n in SUBTASK_NAMES}


def all_predicates(p: PhysState, start_light: int) -> dict[str, bool]:
    """Every subtask's completion predicate on `p` (same values as predicate(), shared sub-tests computed once)."""
    h = {c: held(p, c) for c in COLOURS}
    released = p.gap > 0.048
    out = {
        "open_drawer": p.drawer > DRAWER_OPEN,
        "close_drawer": p.drawer < DRAWER_CLOSED,
        "push_button": p.light != start_light,
        "turn_on_light": p.light == 1,
        "turn_off_light": p.light == 0,
    }
    for c in COLOURS:
        out[f"pick_up_{c}"] = h[c] and bool(p.blocks[c][2] > BLOCK_HALF + LIFT_HEIGHT)
        out[f"place_{c}_in_drawer"] = released and not h[c] and in_drawer(p, c)
    for a in COLOURS:
        for b in COLOURS:
            if a != b:
                out[f"stack_{a}_on_{b}"] = released and not h[a] and on(p, a, b)
    return out


def predicate(name: str, p: PhysState, start_light: int) -> bool:
    """Completion predicate of subtask `name`; `start_light` is the light state when the subtask started."""
    kind, cols = _PARSED[name]
    if kind == "open_drawer":
        return p.drawer > DRAWER_OPEN
    if kind == "close_drawer":
        return p.drawer < DRAWER_CLOSED
    if kind == "push_button":
        return p.light != start_light
    if kind == "turn_on_light":
        return p.light == 1
    if kind == "turn_off_light":
        return p.light == 0
    if kind == "pick":
        return held(p, cols[0]) and p.blocks[cols[0]][2] > BLOCK_HALF + LIFT_HEIGHT
    if kind == "place":
        return in_drawer(p, cols[0]) and not held(p, cols[0]) and p.gap > 0.048
    return on(p, cols[0], cols[1]) and not held(p, cols[0]) and p.gap > 0.048  # stack


def symbolic(p: PhysState) -> SymState:
    """Abstract the physical state (see SymState)."""
    drawer = "open" if p.drawer > DRAWER_OPEN else "closed" if p.drawer < DRAWER_CLOSED else "mid"
    loc: dict[str, str] = {}
    holding = None
    for c in COLOURS:
        if held(p, c):
            loc[c], holding = "held", c
        elif in_drawer(p, c):
            loc[c] = "drawer"
        elif abs(p.blocks[c][2] - BLOCK_HALF) < 0.01:
            loc[c] = "table"
        else:
            loc[c] = next((f"on_{b}" for b in COLOURS if b != c and on(p, c, b)), "air")
    return SymState(drawer=drawer, light=int(p.light), held=holding, loc=loc)


# drawer slot of each colour, relative to the tray centre (x, y) in metres: blocks never collide in the tray
SLOTS: dict[str, tuple[float, float]] = {"red": (-0.035, -0.07), "green": (-0.035, 0.0), "blue": (-0.035, 0.07)}


# --- skill initiation sets (physical, not the chain sampler's conservative preconditions) -----------------------
def can_start(name: str, s: SymState) -> str | None:
    """None if subtask `name` may be started as a skill in `s`, else a short reason why not.

    Looser than `precondition` (which keeps sampled chains solvable): a block may be stacked on a block that itself
    rests on another one (a tower), which no sampled chain does. Blocks in the drawer are never picked again."""
    kind, cols = parse(name)
    if kind in ("open_drawer", "close_drawer", "push_button", "turn_on_light", "turn_off_light"):
        return precondition(name, s)  # the same rules: hands free, not already in the target state
    a = cols[0]
    if s.held is not None and s.held != a:
        return f"the gripper is holding the {s.held} block"
    la = s.loc[a]
    if la != "held" and not ((la == "table" or la.startswith("on_")) and s.clear(a)):
        return f"the {a} block cannot be grasped ({la}, clear={s.clear(a)})"
    if kind == "pick":
        return f"the {a} block is already held" if la == "held" else None
    if kind == "place":
        return None if s.drawer == "open" else "the drawer is not open"
    b = cols[1]
    if la == f"on_{b}":
        return f"the {a} block is already on the {b} block"
    lb = s.loc[b]
    if not (lb == "table" or lb.startswith("on_")) or not s.clear(b):
        return f"the {b} block is no free support ({lb}, clear={s.clear(b)})"
    return None


# --- whole-scene goal tasks: tasks no sampled chain contains, judged by one success predicate -------------------
def tower(p: PhysState) -> bool:
    """All three blocks stacked into one tower (any order), the top one released."""
    released = p.gap > 0.048
    for top in COLOURS:
        for mid in COLOURS:
            low = [c for c in COLOURS if c not in (top, mid)]
            if mid != top and len(low) == 1 and on(p, top, mid) and on(p, mid, low[0]) \
                    and abs(p.blocks[low[0]][2] - BLOCK_HALF) < 0.01:
                return released and not held(p, top)
    return False


def all_in_drawer_closed(p: PhysState) -> bool:
    """Every block in the drawer (none held) and the drawer closed (the fingers may still hold the handle)."""
    return p.drawer < DRAWER_CLOSED and all(in_drawer(p, c) and not held(p, c) for c in COLOURS)


@dataclass(frozen=True)
class GoalTask:
    """A whole-scene task: instruction, success predicate on PhysState, step budget, drawer state at reset."""

    name: str
    instruction: str
    success: Callable[[PhysState], bool]
    budget: int  # control steps before the episode fails
    drawer: str | None = None  # "closed": the drawer starts closed; None: as chains (random)


GOAL_TASKS: dict[str, GoalTask] = {g.name: g for g in (
    GoalTask("tower", "stack all three blocks", tower, 750),
    GoalTask("all_in_drawer", "put every block in the drawer and close it", all_in_drawer_closed, 1250, "closed"),
    GoalTask("play", "play", lambda p: False, 1500),  # free play: never succeeds (skill-outcome data collection)
)}
