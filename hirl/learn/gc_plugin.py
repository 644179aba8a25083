"""The `hirl.plugins` entry point of hirl's goal-conditioned offline methods and OGBench envs: importing it
registers the ogbench/... EnvAdapters (hirl.data.ogbench.adapter; ogbench itself is imported only when an env is
made) and the gcbc / gc_hier_* / hiql components and agents (hirl.learn.gc_components)."""
import hirl.data.ogbench.adapter
import hirl.learn.gc_components  # noqa: F401
