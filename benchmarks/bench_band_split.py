"""Oracles behind ``hybrid12``: what a decoder with an exact low band and a filled upper band can reach.

    python -m benchmarks.bench_band_split /work/devcorpus

On about 60 held-out (``split == test``) 5 s segments of the real-music development corpus: the
MDCT's first K bins alone; plus the reference's own STFT magnitudes above the crossover (or a
32-band envelope of them) with random or bin-centre phases; and the ceiling of a magnitude-only
decoder (exact magnitudes everywhere, bin-centre phases). Prints SI-SDR, MR-STFT and DAC's mel
distance per row (docs/performance.md, "hybrid12: why a band split"). Nothing here is trained.
"""
import math
import sys
from pathlib import Path

import torch
import torchaudio

from benchmarks.common import corpus_segments
from musiclatent.metrics.audio import mrstft_distance, si_sdr
from musiclatent.nn.modern_layers import bin_advance, frame_stft, overlap_add
from musiclatent.quality.benchmark import dac_mel_distance


def main() -> None:
    torch.manual_seed(0)
    SR = 22050
    root = sys.argv[1]
    X = corpus_segments(Path(root), ("test",), sample_rate=SR)[1]["test"].waves
    X = X[:: max(1, len(X) // 60)][..., :109824]
    print("segments", X.shape, file=sys.stderr)

    def mdct_basis(N):
        n = torch.arange(2 * N, dtype=torch.float64)
        k = torch.arange(N, dtype=torch.float64)
        w = torch.sin(math.pi * (n + 0.5) / (2 * N))
        B = w[None] * torch.cos(math.pi / N * (n[None] + 0.5 + N / 2) * (k[:, None] + 0.5)) * math.sqrt(2 / N)
        return B.float()  # [N, 2N], orthonormal lapped

    def mdct(x, N, K):
        B = mdct_basis(N)[:K, None]
        xp = torch.nn.functional.pad(x, (N, N))
        return torch.nn.functional.conv1d(xp, B, stride=N)

    def imdct(c, N, length):
        K = c.shape[1]
        B = mdct_basis(N)[:K, None]
        y = torch.nn.functional.conv_transpose1d(c, B, stride=N)
        return y[..., N:N + length]

    def metrics(est):
        return {"si_sdr": float(si_sdr(X, est).mean()), "mrstft": float(mrstft_distance(X, est, SR).mean()),
                "mel_dac": float(dac_mel_distance(X, est, SR).mean())}

    out = {}
    T = X.shape[-1]
    # sanity: full MDCT is perfect
    full = imdct(mdct(X, 192, 192), 192, T)
    out["mdct_full"] = metrics(full)
    nfft, hop = 768, 192
    win = torch.hann_window(nfft)
    S = frame_stft(X, nfft, hop, win)  # [B, bins, F]
    mag = S.abs()
    bins = nfft // 2 + 1
    freqs = torch.arange(bins) * SR / nfft
    for N, K in [(192, 10), (384, 24), (768, 48), (768, 56), (384, 28)]:
        c = mdct(X, N, K)
        low = imdct(c, N, T)
        cut = K * SR / 2 / N
        out[f"low N{N} K{K} ({cut:.0f}Hz)"] = metrics(low)
        hi_mask = (freqs >= cut).float()[None, :, None]
        for phase_name in ("random", "advance"):
            if phase_name == "random":
                ph = torch.rand_like(mag) * 2 * math.pi
            else:
                ph = bin_advance(bins, mag.shape[-1], nfft, hop)[None].expand_as(mag)
            hi = overlap_add(torch.polar(mag * hi_mask, ph), nfft, hop, win)
            out[f"low N{N} K{K} + exact |S| hi, {phase_name} phase"] = metrics(low + hi)
            # envelope: 24 mel-ish bands smoothed magnitudes, hop 384 time
            fb = torchaudio.functional.melscale_fbanks(bins, 0., SR / 2, 32, SR, norm=None, mel_scale="slaney")  # [bins, 32]
            fbn = fb / fb.sum(0, keepdim=True).clamp_min(1e-8)
            env = torch.einsum("bkf,km->bmf", mag.pow(2), fbn).clamp_min(1e-12).sqrt()  # rms per band
            env = torch.nn.functional.avg_pool1d(env, 2, 2, ceil_mode=True).repeat_interleave(2, -1)[..., :mag.shape[-1]]
            mag_env = torch.einsum("bmf,km->bkf", env, fb / fb.sum(1, keepdim=True).clamp_min(1e-8))
            hi = overlap_add(torch.polar(mag_env * hi_mask, ph), nfft, hop, win)
            out[f"low N{N} K{K} + 32-band env hi (hop384), {phase_name}"] = metrics(low + hi)
        for g in (0.5, 0.7):
            ph = torch.rand_like(mag) * 2 * math.pi
            hi = overlap_add(torch.polar(g * mag * hi_mask, ph), nfft, hop, win)
            out[f"low N{N} K{K} + {g} exact |S| hi random"] = metrics(low + hi)
    # resampling baseline
    r = torchaudio.functional.resample(torchaudio.functional.resample(X, SR, SR // 12), SR // 12, SR)[..., :T]
    out["resample12"] = metrics(r)
    # exact magnitudes with random phase everywhere / advance everywhere
    out["exact|S| all, advance phase"] = metrics(overlap_add(torch.polar(mag, bin_advance(bins, mag.shape[-1], nfft, hop)[None].expand_as(mag)), nfft, hop, win))
    for k, v in out.items():
        print(f"{k:55s} SI-SDR {v['si_sdr']:7.2f}  MR-STFT {v['mrstft']:.3f}  DACmel {v['mel_dac']:.3f}")


if __name__ == "__main__":
    main()
