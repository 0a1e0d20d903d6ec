"""Reference codecs for the quality benchmark: same-size resampling, Opus (ffmpeg), EnCodec speed.

- ``resample_codec(wave, scale)``: the trivial codec of the same size as a 1/``scale`` latent
  (:mod:`musiclatent.metrics.codecs`, re-exported here).
- ``opus_roundtrip(wave, kbps)``: encode with ffmpeg's libopus at ``kbps`` and decode back (the
  reference a listener knows). Opus's lowest bitrate is 6 kbit/s: lower requests are raised to it.
- ``encodec_encode_speed(waves)``: EnCodec 24 kHz (random weights, ``pretrained=False``, nothing
  downloaded) encoder speed in x real time on the same audio (resampled to 24 kHz).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musiclatent.metrics.codecs import resample_codec  # the one implementation; re-exported here

OPUS_MIN_KBPS = 6.0
OPUS_MAX_KBPS = 510.0


def ffmpeg_opus_available() -> str | None:
    """Path of an ffmpeg whose encoders include libopus, else ``None``."""
    exe = shutil.which("ffmpeg")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if "libopus" in out else None


def opus_bitrate(kbps: float) -> float:
    """The Opus bitrate used for a requested one (clamped to Opus's 6..510 kbit/s range)."""
    return float(min(max(kbps, OPUS_MIN_KBPS), OPUS_MAX_KBPS))


def opus_roundtrip(wave: torch.Tensor, kbps: float, sample_rate: int, ffmpeg: str) -> tuple[torch.Tensor, float]:
    """Encode every item of ``wave[B, 1, T]`` with libopus at ``kbps`` and decode it back.

    Returns ``(decoded[B, 1, T], measured_kbps)`` where ``measured_kbps`` is the mean size of the
    Ogg/Opus files (container overhead included) over their duration.
    """
    import soundfile as sf

    rate = opus_bitrate(kbps)
    outs, sizes = [], []
    with tempfile.TemporaryDirectory(prefix="musiclatent-opus-") as tmp:
        for i, item in enumerate(wave[:, 0].cpu().numpy()):
            src, enc, dec = (Path(tmp) / f"{i}.{ext}" for ext in ("wav", "opus", "dec.wav"))
            sf.write(str(src), np.clip(item, -1, 1), sample_rate, subtype="PCM_16")
            base = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
            subprocess.run([*base, "-i", str(src), "-c:a", "libopus", "-b:a", f"{rate:g}k", str(enc)],
                           check=True, timeout=120)
            subprocess.run([*base, "-i", str(enc), "-ar", str(sample_rate), "-ac", "1", str(dec)],
                           check=True, timeout=120)
            y, _ = sf.read(str(dec), dtype="float32")
            y = y[: item.shape[0]] if len(y) >= item.shape[0] else np.pad(y, (0, item.shape[0] - len(y)))
            outs.append(y)
            sizes.append(enc.stat().st_size)
    seconds = wave.shape[-1] / sample_rate
    measured = float(np.mean(sizes)) * 8 / seconds / 1000
    return torch.from_numpy(np.stack(outs))[:, None], measured


def encodec_encode_speed(waves: torch.Tensor, sample_rate: int, batch_size: int = 4,
                         repeats: int = 1) -> dict[str, float] | None:
    """x real time of EnCodec 24 kHz's encoder network (SEANet, random weights) on ``waves``.

    ``None`` when the ``encodec`` package is not installed. Only the convolutional encoder is
    timed (not its residual vector quantiser), which favours EnCodec.
    """
    try:
        import encodec
    except ImportError:
        return None
    import torchaudio.functional as AF

    model = encodec.EncodecModel.encodec_model_24khz(pretrained=False).eval()
    x24 = AF.resample(waves, sample_rate, model.sample_rate)
    seconds = waves.shape[0] * waves.shape[-1] / sample_rate
    best = float("inf")
    with torch.no_grad():
        model.encoder(x24[:1])  # warm-up
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            for i in range(0, x24.shape[0], batch_size):
                model.encoder(x24[i:i + batch_size])
            best = min(best, time.perf_counter() - t0)
    params = sum(p.numel() for p in model.encoder.parameters())
    return {"enc_xrt": seconds / best, "params": float(params)}


__all__ = ["OPUS_MIN_KBPS", "encodec_encode_speed", "ffmpeg_opus_available", "opus_bitrate", "opus_roundtrip",
           "resample_codec"]
