"""Test support for musiclatent and its plugins: one module, the checks every built-in passes.

- :func:`check_architecture` (``testing.architectures``): an architecture fulfils the
  ``AudioAutoencoder`` contract (shapes at any length, scale, gradients, checkpoint round trip);
- :func:`check_analysis` (``testing.analyses``): an analysis runs and writes what it declares;
  raises :class:`ConformanceError` listing every problem;
- tiny inputs (``testing.tables``): :func:`write_synthetic_table` (random latents clustered by
  label, no model), :func:`tiny_model_table` (WAVs + a tiny codec checkpoint + the table they
  encode to; :func:`register_tiny_codec` first).

torch is imported inside the functions, so importing this package stays cheap.
"""

from musiclatent.testing.analyses import ConformanceError, check_analysis
from musiclatent.testing.architectures import DEFAULT_LENGTHS, check_architecture
from musiclatent.testing.tables import (
    TINY_CODEC,
    TINY_RATE,
    TINY_SEGMENT,
    TinyCodecPlugin,
    register_tiny_codec,
    segment_rows,
    synthetic_latents,
    tiny_model_table,
    tiny_wave,
    write_synthetic_table,
)

__all__ = [
    "DEFAULT_LENGTHS",
    "TINY_CODEC",
    "TINY_RATE",
    "TINY_SEGMENT",
    "ConformanceError",
    "TinyCodecPlugin",
    "check_analysis",
    "check_architecture",
    "register_tiny_codec",
    "segment_rows",
    "synthetic_latents",
    "tiny_model_table",
    "tiny_wave",
    "write_synthetic_table",
]
