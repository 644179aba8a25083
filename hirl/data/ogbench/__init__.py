"""OGBench (the `ogbench` extra) through hirl: env adapters `ogbench/<name>` (adapter.py, env.py), oracle
language labels (labels.py), dataset generation with OGBench's oracles through hirl's collector (generate.py) and
an importer of OGBench's own .npz files (npz.py). docs/ogbench.md is the guide. Importing this package imports
neither ogbench nor torch."""
