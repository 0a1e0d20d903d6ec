"""Oracles behind ``sparse12``: how many coefficients per frame, how many residual bands, how loud a fill.

    python -m benchmarks.bench_sparse /work/devcorpus [--split validation]

On every held-out (``split == test``, or ``--split``) 5 s segment of the real-music development corpus, with the
local cosine transform ``sparse12`` uses (hop 384): the ``peaks`` largest coefficients of each
frame with their bins, exactly, and the uncoded bins filled with pseudo-random signs at ``gain``
times their band's RMS (``bands`` mel bands), for every split of the 32 values a frame has
(``2 * peaks + bands = 32``). Nothing is trained: this is ``SparseAutoencoder`` with a fixed fill
gain. Prints SI-SDR, MR-STFT and DAC's mel distance per row (docs/performance.md, "sparse12").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from benchmarks.common import corpus_segments
from musiclatent.architectures.sparse import SparseAutoencoder
from musiclatent.quality.benchmark import _metrics

SR = 22050
SEGMENT = 5 * SR


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--gains", default="0.7,0.6,0.5", help="fill gains to try (comma-separated)")
    ap.add_argument("--split", default="test", help="the corpus split to score (sparse12's split of the 32 "
                    "values was chosen on validation)")
    args = ap.parse_args(argv)
    torch.set_grad_enabled(False)
    waves = corpus_segments(args.corpus, (args.split,), sample_rate=SR)[1][args.split].waves
    print(f"{len(waves)} {args.split} segments", file=sys.stderr)
    print("peaks,bands,gain,si_sdr,mrstft,mel,mel_dac")
    for peaks, bands in ((16, 0), (14, 4), (13, 6), (12, 8), (10, 12)):
        for gain in [float(g) for g in args.gains.split(",")] if bands else [1.0]:
            model = SparseAutoencoder(peaks=peaks, bands=max(bands, 1), fill_gain=gain if bands else 1e-9).eval()
            recon = torch.cat([model.decode(model.encode(b), length=SEGMENT) for b in torch.split(waves, 16)])
            m = _metrics(waves, recon, SR)
            print(f"{peaks},{bands},{gain:g},{m['si_sdr']:.2f},{m['mrstft']:.3f},{m['mel']:.3f},{m['mel_dac']:.2f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
