"""Built-in plugin: the stronger architectures (registered in a later step)."""

from musiclatent.hookspecs import hookimpl


@hookimpl
def register_architectures(register):
    """Modern waveform and spectrogram autoencoders."""
