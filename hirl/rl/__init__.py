"""Hierarchical RL: SB3 SAC/TD3 + HER low level on GoalConditionedEnv, a high level on SubgoalEnv with HAC hindsight
action relabeling or HIRO goal correction, the low -> high -> adapt schedule, hindsight language relabeling, and the
flat SAC+HER baseline. See docs/rl.md."""
