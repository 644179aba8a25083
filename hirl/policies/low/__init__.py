"""Low-level (goal-conditioned) learned policies. Importing registers LOW_LEVEL "bc"."""
from hirl.policies.low.bc import BCConfig, BCLowLevel, GoalConditionedBC

__all__ = ["BCConfig", "BCLowLevel", "GoalConditionedBC"]
