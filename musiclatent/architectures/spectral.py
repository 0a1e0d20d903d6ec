"""``mel``: a spectrogram-domain autoencoder (log-mel in, learned STFT magnitude + phase out).

Encoder: the waveform's log-mel spectrogram (``n_fft`` window, ``stft_hop`` hop, ``n_mels``
Slaney mel bands, "same" framing: exactly ``T / stft_hop`` frames) -> 1x1 conv -> residual
dilated units over frames -> one ``DownBlock`` per factor in ``down`` -> ``conv3(-> latent)``.

Decoder: ``conv7`` -> one ``UpBlock`` per factor -> residual units -> ``ISTFTHead``: a 1x1 conv
predicts every frame's log-magnitude and phase for all ``n_fft / 2 + 1`` bins, and an inverse FFT
with windowed overlap-add turns them into exactly ``frames * stft_hop`` samples (Vocos-style).

Why not torchaudio's ``InverseMelScale`` + ``GriffinLim``: Griffin-Lim is iterative (tens of
STFT/iSTFT passes per decode, slow), is not trained end to end with the waveform losses, and
leaves audible phase artefacts. The learned iSTFT head is one matrix product and an FFT per frame,
trains with the same L1 + multi-resolution STFT + mel losses as the waveform models, and decodes
faster than real time by orders of magnitude.

Encoding scale: ``stft_hop * prod(down) / latent_channels`` (``mel12``: hop 192, 16 channels).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from musiclatent.architectures.base import AudioAutoencoder, fit_length, pad_to_multiple
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.nn.modern_layers import LOG_MEL_FLOOR as LOG_FLOOR  # noqa: F401 - the old name
from musiclatent.nn.modern_layers import (
    DownBlock,
    ISTFTHead,
    LogMel,
    UpBlock,
    WNConv1d,
    activation,
    product,
    residual_stack,
)


class MelAutoencoder(AudioAutoencoder):
    """Log-mel encoder, learned iSTFT decoder; every constructor argument is JSON-serialisable config.

    Args:
        n_fft: STFT window (analysis and synthesis).
        stft_hop: STFT hop in samples (``n_fft - stft_hop`` must be even).
        n_mels: mel bands the encoder sees.
        channels: width of every conv layer.
        down: extra downsampling over frames (each factor one strided block); the latent hop is
            ``stft_hop * prod(down)``.
        latent_channels: channels of the latent.
        dilations: dilations of the residual units.
        kernel_size: kernel of the residual units' dilated convolutions (over frames).
        act: ``"snake"``, ``"elu"`` or ``"gelu"``.
        weight_norm: weight-normalise the convolutions.
        sample_rate: the audio rate the model is trained at.
        max_log_mag: the decoder's natural-log magnitudes are clamped to at most this.
        phase: ``"free"`` (the decoder predicts each frame's phase) or ``"advance"`` (it predicts a
            correction to the phase of bin-centred sinusoids; see ``ISTFTHead``).
    """

    def __init__(self, n_fft: int = 768, stft_hop: int = 192, n_mels: int = 64, channels: int = 64,
                 down: Sequence[int] = (), latent_channels: int = 16, dilations: Sequence[int] = (1, 3, 9),
                 kernel_size: int = 3, act: str = "snake", weight_norm: bool = True, sample_rate: int = DEFAULT_SAMPLE_RATE,
                 max_log_mag: float = 4.0, phase: str = "free"):
        super().__init__()
        down = [int(d) for d in down]
        if any(d < 1 for d in down):
            raise ValueError(f"down factors must be positive integers, got {down}")
        self.sample_rate = int(sample_rate)
        self.n_fft, self.stft_hop = int(n_fft), int(stft_hop)
        self.hop = self.stft_hop * product(down)
        self.latent_channels = int(latent_channels)
        norm = bool(weight_norm)
        self.mel = LogMel(self.n_fft, self.stft_hop, int(n_mels), self.sample_rate)

        enc: list[nn.Module] = [nn.Conv1d(int(n_mels), channels, 1), residual_stack(channels, dilations, kernel_size, act=act, norm=norm)]
        for d in down:
            enc.append(DownBlock(channels, channels, d, dilations, act, norm, kernel_size))
        enc += [activation(act, channels), WNConv1d(channels, self.latent_channels, 3, padding=1, norm=norm)]
        self.encoder = nn.Sequential(*enc)

        dec: list[nn.Module] = [WNConv1d(self.latent_channels, channels, 7, padding=3, norm=norm)]
        for d in reversed(down):
            dec.append(UpBlock(channels, channels, d, dilations, act, norm, kernel_size))
        dec += [residual_stack(channels, dilations, kernel_size, act=act, norm=norm), activation(act, channels)]
        self.decoder = nn.Sequential(*dec)
        self.head = ISTFTHead(channels, self.n_fft, self.stft_hop, max_log_mag=float(max_log_mag),
                                 phase=str(phase))

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave[B, 1, T]`` (T a multiple of ``stft_hop``) -> log10 mel ``[B, n_mels, T / stft_hop]``."""
        return self.mel(wave)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """``wave[B, 1, T]`` -> ``latent[B, latent_channels, ceil(T / hop)]``."""
        return self.encoder(self.log_mel(pad_to_multiple(wave, self.hop)))

    def decode(self, latent: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """``latent[B, C, T']`` -> ``wave[B, 1, length]`` (default ``T' * hop``)."""
        return fit_length(self.head(self.decoder(latent)), length)


__all__ = ["MelAutoencoder"]
