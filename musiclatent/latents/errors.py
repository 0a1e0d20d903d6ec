"""The one error type of the latent table layer (re-exported by ``musiclatent.latents.table``)."""

from musiclatent.errors import MusiclatentError


class LatentTableError(MusiclatentError):
    """A latent table is missing, corrupt, incomplete, of another format, or asked for the impossible.

    The message is one line naming the file and what to do.
    """
