"""One module per CLI subcommand: turn parsed arguments into a run of library code."""
