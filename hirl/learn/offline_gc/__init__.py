"""Training and registering the goal-conditioned offline methods of hirl.policies.offline_gc: sampling (goal
relabelling over dataset tables: the trainer's batch source) and components (their hirl components and agents,
registered when imported; hirl.learn.gc_plugin is the entry point that imports it). docs/ogbench.md is the guide."""
