"""Learned high-level policies (language, state, image subgoals); hirl.learn.components registers them as components."""
from hirl.policies.high.image import ImageGenConfig, ImageGoalGenerator, ImageHighLevel
from hirl.policies.high.language import LanguageGoalNet, LanguageHighLevel, LanguageHLConfig
from hirl.policies.high.state import StateGoalNet, StateHighLevel, StateHLConfig

__all__ = [
    "ImageGenConfig", "ImageGoalGenerator", "ImageHighLevel", "LanguageGoalNet", "LanguageHLConfig",
    "LanguageHighLevel", "StateGoalNet", "StateHLConfig", "StateHighLevel",
]
