"""Evaluation: the one rollout path, chained-task metrics, videos with subgoal overlay, reports."""
