"""Sample rates: the one default and the range a file header may claim.

A leaf module (no imports) so that the registry, the built-in plugins and the model contract can
name the default rate without importing numpy, soundfile or torch.
"""

DEFAULT_SAMPLE_RATE = 22050
"""The rate (Hz) audio is read, cached, trained and encoded at unless a command or model says otherwise."""

# Sample rates a header may claim: outside them the file is damaged or not music, and resampling
# from them would cost far more than the audio is worth (1 Hz -> 22050 Hz built an 8 GiB kernel).
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768_000
