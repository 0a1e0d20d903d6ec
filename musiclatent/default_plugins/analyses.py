"""Built-in plugin: the latent-space analyses (pca, umap, cluster, neighbors, interpolate, probe, views)."""

from musiclatent.hookspecs import hookimpl


@hookimpl
def register_analyses(register):
    """Register the built-in analyses."""
