"""Low-level (goal-conditioned) learned policies; hirl.learn.components registers them as components."""
from hirl.policies.low.bc import BCConfig, BCLowLevel, GoalConditionedBC

__all__ = ["BCConfig", "BCLowLevel", "GoalConditionedBC"]
