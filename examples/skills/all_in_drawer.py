"""Code policy: "put every block in the drawer and close it" (Tabletop goal task `all_in_drawer`; the drawer starts
closed, so it takes five skills: open, three places, close). No training chain contains it (checked by
experiments/tabletop/code_failures.py: no chain opens the drawer, places all three blocks and closes it).

    hirl eval RUN --agents code:examples/skills/all_in_drawer.py env_kwargs.goal_task=all_in_drawer --out OUT
"""
TASK = "all_in_drawer"
COLOURS = ("red", "green", "blue")


def next_skill(state, done, skills):
    loc, held, drawer = state.facts["loc"], state.facts["held"], state.facts["drawer"]
    left = [c for c in COLOURS if loc[c] != "drawer"]
    if not left:
        return "close_drawer"
    if drawer != "open" and held is None:
        return "open_drawer"
    if held is not None:
        return f"place_{held}_in_drawer"
    for c in left:  # a block that can be grasped now (a block under another one waits)
        if state.can_start(f"place_{c}_in_drawer"):
            return f"place_{c}_in_drawer"
    return f"place_{left[0]}_in_drawer"
