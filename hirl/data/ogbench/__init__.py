"""OGBench (the `ogbench` extra) datasets through hirl: dataset generation with OGBench's oracles through hirl's
collector (generate.py) and an importer of OGBench's own .npz files (npz.py); the env adapters ogbench/<name> live in
hirl.adapters.ogbench. docs/ogbench.md is the guide. Importing this package imports neither ogbench nor torch."""
