"""The quality benchmark behind ``musiclatent benchmark quality``: ``benchmark`` trains every model
for the same wall-clock budget and writes the rate-distortion table; ``references`` holds the
reference codecs it is compared with (same-size resampling, Opus, EnCodec's encoder speed).

Not to be confused with the top-level ``benchmarks/`` folder (speed and soak scripts, run with
``python -m benchmarks``, not installed) or with ``musiclatent evaluate`` (one checkpoint's
reconstruction metrics, :mod:`musiclatent.latents.evaluate`).
"""
