"""Latent-space analyses: the API (``base``), the runner, and the built-in analyses.

- ``base``: what an analysis receives (:class:`AnalysisContext`) and returns
  (:class:`AnalysisResult`), and :class:`AnalysisError`;
- ``runner``: runs a registered analysis and writes its charts, tables, audio and ``index.json``;
- ``common``: helpers the built-ins share; one module per built-in analysis (``pca``,
  ``umap_map``, ``cluster``, ``neighbors``, ``interpolate``, ``probe``, ``views``, ``dims``),
  registered by ``musiclatent.default_plugins.analyses`` like a third-party plugin.

The built-ins import ``base`` and ``common``, never ``runner``.
"""

from musiclatent.analyses.base import AnalysisContext, AnalysisError, AnalysisResult

__all__ = ["AnalysisContext", "AnalysisError", "AnalysisResult"]
