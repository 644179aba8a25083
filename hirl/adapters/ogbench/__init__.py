"""OGBench envs as hirl envs: the adapters ogbench/<name> (adapter.py), the env wrapper around OGBench's env and
oracles (env.py) and the oracle targets in words (labels.py). Importing this package imports nothing of ogbench."""
