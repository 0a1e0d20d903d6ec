"""Reusable torch layers the networks in :mod:`musiclatent.architectures` are assembled from.

``seed_layers``: the seed models' strided conv stacks, index-free unpooling and scale-preserving
init. ``modern_layers``: the modern codecs' blocks (Snake, weight-normalised convs, residual
down/up blocks, the iSTFT head, log-mel, the local cosine transform). ``fused``: the linear
encoders' inference fast path (a conv stack run as one strided filter bank).

Nothing here imports the rest of musiclatent: a layer knows no contract, corpus or registry.
"""
