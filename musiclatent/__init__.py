"""musiclatent: turn a music collection into a latent space you can train, encode, explore, hear and extend."""

__version__ = "0.1.0"

FORMAT_VERSION = 1
"""Format version written into every artifact (checkpoint, latent table, analysis index)."""
