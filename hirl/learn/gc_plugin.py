"""The `hirl.plugins` entry point of hirl's goal-conditioned offline methods: importing it registers the gcbc /
gc_hier_* / hiql / gcivl / gciql / qrl / crl components and agents (hirl.learn.offline_gc.components). The ogbench/...
EnvAdapters need no plugin: hirl.integrations declares them (hirl.adapters.ogbench)."""
import hirl.learn.offline_gc.components  # noqa: F401
