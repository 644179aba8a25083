"""The built-in entries of the run registries, by name: name -> "module:attr" (hirl.registry.Registry lazy entries).

The modules named here sit above hirl.runs (they train what they register), so nothing here imports them: a name's
module is imported the first time the name is looked up (COMPONENTS.get("low_language") imports
hirl.learn.components, and only that), and `names()` lists every entry without importing any. Plugins add entries
with the registries' decorators instead (docs/custom-env.md). tests/test_architecture.py checks that every target
exists.
"""
from __future__ import annotations

_LEARN = "hirl.learn.components"
_RL = "hirl.rl.components"
_RECIPES = "hirl.runs.recipes"
_SKILLS = "hirl.skills.recipes"

COMPONENTS = {  # trainable parts of agents (hirl.runs.components.Component)
    "low_language": f"{_LEARN}:LowLanguage",
    "low_state": f"{_LEARN}:LowState",
    "low_state_ahead": f"{_LEARN}:LowStateAhead",
    "low_image": f"{_LEARN}:LowImage",
    "high_language": f"{_LEARN}:HighLanguage",
    "high_state": f"{_LEARN}:HighState",
    "high_state_ahead": f"{_LEARN}:HighStateAhead",
    "goal_index": f"{_LEARN}:GoalIndexComponent",
    "goal_index_ahead": f"{_LEARN}:GoalIndexAhead",
    "high_image": f"{_LEARN}:HighImage",
    "frame_state": f"{_LEARN}:FrameState",
    "flat": f"{_LEARN}:Flat",
    "cot": f"{_LEARN}:ChainOfThought",
    "rl_low": f"{_RL}:Low",
    "rl_high": f"{_RL}:High",
    "rl_flat": f"{_RL}:Flat",
    "rl_language": f"{_RL}:Language",
    "rl_plan": f"{_RL}:Plan",
}

AGENTS = {  # agent recipes over those components (hirl.runs.agents.AgentRecipe factories)
    "hier_language": f"{_RECIPES}:hier_language",
    "hier_state": f"{_RECIPES}:hier_state",
    "hier_image": f"{_RECIPES}:hier_image",
    "hier_state_ahead": f"{_RECIPES}:HierarchicalAhead",
    "hier_state_snap": f"{_RECIPES}:hier_state_snap",
    "hier_state_ahead_snap": f"{_RECIPES}:hier_state_ahead_snap",
    "oracle_state": f"{_RECIPES}:oracle_state",
    "oracle_image": f"{_RECIPES}:oracle_image",
    "hier_image_state": f"{_RECIPES}:hier_image_state",
    "oracle_image_state": f"{_RECIPES}:oracle_image_state",
    "oracle_state_ahead": f"{_RECIPES}:oracle_state_ahead",
    "flat": f"{_RECIPES}:flat",
    "cot": f"{_RECIPES}:cot",
    "expert": f"{_RECIPES}:Expert",
    "oracle_high": f"{_RECIPES}:OracleHigh",
    "oracle_high_paraphrase": f"{_RECIPES}:OracleHighParaphrase",
    "oracle_high_paraphrase_grounded": f"{_RECIPES}:OracleHighParaphraseGrounded",
    "hier_language_paraphrase": f"{_RECIPES}:hier_language_paraphrase",
    "hier_language_paraphrase_grounded": f"{_RECIPES}:hier_language_paraphrase_grounded",
    "rl_low": f"{_RL}:rl_low_agent",
    "rl_flat": f"{_RL}:rl_flat_agent",
    "rl_hier": f"{_RL}:RLHierarchical",
    "rl_plan": f"{_RL}:RLPlanning",
}

AGENT_FAMILIES = {  # "<family>:<argument>" agents: family -> recipe factory taking the argument
    "code": f"{_SKILLS}:code_agent",
    "code_expert": f"{_SKILLS}:code_expert_agent",
    "affordance": f"{_SKILLS}:AffordanceAgent",
}

RUN_KINDS = {  # `kind:` of a run config (hirl.runs.kinds.RunKind)
    "imitation": "hirl.learn.kind:ImitationKind",
    "rl": f"{_RL}:RLKind",
}
