"""Benchmark drivers that train and evaluate (they sit above learn / rl / eval, beside the commands)."""
