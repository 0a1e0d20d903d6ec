"""Training losses, pluggable by name, and weighted sums of them.

A loss spec is a name (``mse``, ``l1``, ``mrstft``, ``mel``, ``sisdr``) or a sum of weighted
names: ``l1+mrstft``, ``l1+2*mel``, ``0.5*mse + mrstft``. ``build_loss(spec, sample_rate)``
returns an ``nn.Module`` called as ``loss(estimate, reference)`` that returns a scalar (the mean
over the batch). The spectral losses reuse ``musiclatent.metrics.audio`` so training and
evaluation measure the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError
from musiclatent.metrics import audio


class LossSpecError(MusiclatentError, ValueError):
    """A loss spec names an unknown loss or is malformed."""


class _PerItemLoss(nn.Module):
    """Wraps a per-item metric ``fn(ref, est) -> [B]`` as a scalar loss ``loss(est, ref)``."""

    def __init__(self, name: str, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        super().__init__()
        self.name = name
        self.fn = fn

    def forward(self, est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.fn(ref, est).mean()

    def extra_repr(self) -> str:
        return self.name


def _mse(sample_rate: int) -> nn.Module:
    return _PerItemLoss("mse", lambda r, e: (audio.as_batch(r) - audio.as_batch(e)).pow(2).mean(-1))


def _l1(sample_rate: int) -> nn.Module:
    return _PerItemLoss("l1", lambda r, e: (audio.as_batch(r) - audio.as_batch(e)).abs().mean(-1))


def _mrstft(sample_rate: int) -> nn.Module:
    return _PerItemLoss("mrstft", lambda r, e: audio.mrstft_distance(r, e, sample_rate))


MEL_SCALES = ((512, 40), (1024, 80), (2048, 160))
"""The ``mel`` loss's ``(n_fft, n_mels)`` resolutions (DAC's); the same FFT sizes as ``mrstft``'s."""


def _mel(sample_rate: int) -> nn.Module:
    return _PerItemLoss("mel", lambda r, e: audio.mel_distance(r, e, sample_rate, scales=MEL_SCALES))


class MrstftMel(nn.Module):
    """``w_stft * mrstft + w_mel * mel`` from one STFT per signal and resolution (the same values).

    ``build_loss`` uses it whenever a spec has both terms: the two losses use the same FFT sizes
    (512, 1024, 2048, hop a quarter, Hann, centred), so sharing the transforms halves their cost.
    """

    def __init__(self, sample_rate: int, w_stft: float = 1.0, w_mel: float = 1.0):
        super().__init__()
        import torchaudio

        self.w_stft, self.w_mel = float(w_stft), float(w_mel)
        for n_fft, n_mels in MEL_SCALES:
            fb = torchaudio.functional.melscale_fbanks(n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate,
                                                       norm="slaney", mel_scale="slaney")
            self.register_buffer(f"fb{n_fft}", fb.T.contiguous(), persistent=False)

    def forward(self, est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        ref, est = audio.as_batch(ref), audio.as_batch(est)
        stft_total = mel_total = 0.0
        for n_fft, _ in MEL_SCALES:
            window = torch.hann_window(n_fft, device=est.device, dtype=est.dtype)
            specs = [torch.stft(x, n_fft=n_fft, hop_length=n_fft // 4, win_length=n_fft, window=window,
                                center=True, pad_mode="constant", return_complex=True) for x in (ref, est)]
            mags = [(s.real.pow(2) + s.imag.pow(2)).clamp_min(audio.EPS).sqrt() for s in specs]
            sc = audio.spectral_convergence(mags[0], mags[1], n_fft)
            logs = [m.clamp_min(audio.LOG_FLOOR).log10() for m in mags]
            stft_total = stft_total + sc + (logs[0] - logs[1]).abs().flatten(1).mean(-1)
            fb = getattr(self, f"fb{n_fft}")
            mels = [torch.matmul(fb, s.abs()).clamp_min(audio.LOG_FLOOR).log10() for s in specs]
            mel_total = mel_total + (mels[0] - mels[1]).abs().flatten(1).mean(-1)
        n = len(MEL_SCALES)
        return (self.w_stft * stft_total / n + self.w_mel * mel_total / n).mean()

    def extra_repr(self) -> str:
        return f"{self.w_stft:g}*mrstft + {self.w_mel:g}*mel (shared STFTs)"


def _sisdr(sample_rate: int) -> nn.Module:
    # negative SI-SDR (dB): lower is better, like every other loss
    return _PerItemLoss("sisdr", lambda r, e: -audio.si_sdr(r, e))


LOSSES: dict[str, Callable[[int], nn.Module]] = {
    "mse": _mse,
    "l1": _l1,
    "mrstft": _mrstft,
    "mel": _mel,
    "sisdr": _sisdr,
}
"""Known loss names -> factory ``f(sample_rate) -> nn.Module``."""


class WeightedSum(nn.Module):
    """``sum(weight_i * loss_i(est, ref))``."""

    def __init__(self, terms: list[tuple[float, str, nn.Module]]):
        super().__init__()
        self.weights = [w for w, _, _ in terms]
        self.names = [n for _, n, _ in terms]
        self.terms = nn.ModuleList([m for _, _, m in terms])

    def forward(self, est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        total = None
        for w, term in zip(self.weights, self.terms, strict=True):
            value = term(est, ref) * w if w != 1.0 else term(est, ref)
            total = value if total is None else total + value
        return total

    def extra_repr(self) -> str:
        return " + ".join(f"{w:g}*{n}" for w, n in zip(self.weights, self.names, strict=True))


_TERM = re.compile(r"^\s*(?:(?P<w>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\*\s*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")


def parse_loss_spec(spec: str) -> list[tuple[float, str]]:
    """``"l1+2*mel"`` -> ``[(1.0, "l1"), (2.0, "mel")]``; raises ``LossSpecError`` on bad input."""
    if not spec or not spec.strip():
        raise LossSpecError(f"empty loss spec; known losses: {', '.join(LOSSES)}")
    terms = []
    for part in spec.split("+"):
        m = _TERM.match(part)
        if not m:
            raise LossSpecError(
                f"cannot read loss term {part.strip()!r} in {spec!r}; write e.g. 'l1+2*mel' "
                f"(known losses: {', '.join(LOSSES)})"
            )
        name = m.group("name").lower()
        if name not in LOSSES:
            raise LossSpecError(f"unknown loss {name!r} in {spec!r}; known losses: {', '.join(LOSSES)}")
        terms.append((float(m.group("w")) if m.group("w") else 1.0, name))
    return terms


def build_loss(spec: str, sample_rate: int = DEFAULT_SAMPLE_RATE) -> nn.Module:
    """Build the loss a spec names; a single unweighted name returns that loss itself."""
    terms = parse_loss_spec(spec)
    if len(terms) == 1 and terms[0][0] == 1.0:
        return LOSSES[terms[0][1]](sample_rate)
    names = [n for _, n in terms]
    if names.count("mrstft") == 1 and names.count("mel") == 1:  # same values, half the STFTs
        weight = dict((n, w) for w, n in terms)
        rest = [(w, n, LOSSES[n](sample_rate)) for w, n in terms if n not in ("mrstft", "mel")]
        fused = MrstftMel(sample_rate, weight["mrstft"], weight["mel"])
        return WeightedSum([*rest, (1.0, "mrstft+mel", fused)])
    return WeightedSum([(w, n, LOSSES[n](sample_rate)) for w, n in terms])


__all__ = ["LOSSES", "LossSpecError", "WeightedSum", "build_loss", "parse_loss_spec"]
