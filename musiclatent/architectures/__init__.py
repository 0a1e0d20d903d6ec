"""The built-in networks, each an ``AudioAutoencoder`` (the contract, in ``base``).

``seed`` (alt1..alt5, reconstructed from the seed report), ``modern`` (wave*: DAC-style
waveform codec), ``spectral`` (mel*: log-mel in, iSTFT out), ``hybrid`` (hybrid12: exact low
band + mel envelope), ``sparse`` (sparse12: the strongest local-cosine coefficients with their
bins, the rest noise-filled). They are assembled from the layers in :mod:`musiclatent.nn` and registered
by ``musiclatent.default_plugins`` by import string, so nothing here is imported until a model is
built.
"""
