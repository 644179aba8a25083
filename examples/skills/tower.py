"""Code policy: "stack all three blocks" (Tabletop goal task `tower`). No training chain contains it: the chain
sampler never stacks onto a block that is not on the table, so no demonstration builds a three-block tower.

    hirl eval RUN --agents code:examples/skills/tower.py env_kwargs.goal_task=tower --out OUT

state.facts: {"drawer", "light", "held": colour | None, "loc": {colour: "table" | "held" | "drawer" | "on_<c>" | "air"}}
"""
TASK = "tower"
COLOURS = ("red", "green", "blue")


def next_skill(state, done, skills):
    loc, held = state.facts["loc"], state.facts["held"]
    # a two-block stack (top on bottom, bottom on the table): put the remaining block on its top
    for top in COLOURS:
        below = loc[top][3:] if loc[top].startswith("on_") else None
        if below is not None and loc[below] == "table":
            rest = next(c for c in COLOURS if c not in (top, below))
            if held in (None, rest):
                return f"stack_{rest}_on_{top}"
    # no stack yet: the held block (if any) goes onto another table block, else green onto blue
    mover = held or "green"
    base = "blue" if mover != "blue" else "red"
    name = f"stack_{mover}_on_{base}"
    if state.can_start(name):
        return name
    return next(s for s in skills if s.startswith("stack_") and state.can_start(s))
