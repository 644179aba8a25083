"""The goal-conditioned offline methods (OGBench-style data: goals are future states), one module per method with its
config, losses, update and act: gcbc (GCBC and its two-level hierarchies), hiql, gcivl, gciql, qrl, crl. Shared by
them: blocks (OGBench's networks and loss pieces), sampling (goal relabelling and the trainer's batch source),
hyperparameters (OGBench's per-dataset settings) and components (their hirl components and agents, registered when
imported; hirl.learn.gc_plugin is the entry point that imports it). docs/ogbench.md is the guide."""
