"""The env adapters hirl ships, one module per env family, each registering its ids in
hirl.integrations.ENVIRONMENTS when imported: tabletop (hirl/Tabletop-v0, hirl/TabletopGoal-v0), maze
(hirl/Maze-v0), ogbench (ogbench/<name>, the ogbench extra; its env wrapper and oracle labels beside it) and robotics
(gymnasium-robotics mazes, the robotics extra). hirl.integrations declares every built-in id by its module, so a
lookup imports just that family; importing this package imports none of them, nor ogbench or gymnasium-robotics."""
