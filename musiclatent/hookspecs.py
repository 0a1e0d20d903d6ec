"""The plugin hooks. A hookspec is a signature and a docstring; nothing else lives here."""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("musiclatent")
hookimpl = HookimplMarker("musiclatent")


@hookspec
def register_architectures(register):
    """Register autoencoder architectures: call ``register(ArchitectureSpec(...))`` once per model."""


@hookspec
def register_analyses(register):
    """Register latent-space analyses: call ``register(AnalysisSpec(...))`` once per analysis."""
