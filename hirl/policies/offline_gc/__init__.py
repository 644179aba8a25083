"""The goal-conditioned offline methods (OGBench-style data: goals are future states), one module per method with its
config, losses, update and act, as OGBench's impls/agents/ keeps them: gcbc (GCBC and its two-level hierarchies),
hiql, gcivl, gciql, qrl, crl. Shared by them: blocks (OGBench's networks and loss pieces), goal_sampling (how a
method's config draws goals) and hyperparameters (OGBench's per-dataset settings). How they are trained (the batch
source over dataset tables) and registered as components and agents is hirl.learn.offline_gc. docs/ogbench.md is
the guide."""
