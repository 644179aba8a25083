"""A hirl plugin for an environment hirl did not write: Gymnasium's MuJoCo Reacher-v5 (docs/custom-env.md)."""
