"""Benchmark drivers (they sit above data / learn / rl / eval, beside the commands that call them): envs.py (`hirl
bench envs`: step rate, render cost, scripted-expert success), data.py (collection throughput, dataset size and load
time; `python -m hirl.benchmarks.data`), rl.py (RL benchmark runs) and tune.py (sweeps of (config, seed) trials)."""
