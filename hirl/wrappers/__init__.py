"""Gymnasium-facing adapters: goal-conditioned env (low-level RL), subgoal SMDP env (high-level RL), agent-as-predictor."""
from hirl.wrappers.goal_components import GoalComponents
from hirl.wrappers.goal_env import GoalConditionedEnv, sparse_goal_reward
from hirl.wrappers.predictor import AgentPredictor
from hirl.wrappers.subgoal_env import SubgoalEnv

__all__ = ["AgentPredictor", "GoalComponents", "GoalConditionedEnv", "SubgoalEnv", "sparse_goal_reward"]
