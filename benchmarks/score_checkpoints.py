"""Score existing checkpoints the way ``musiclatent benchmark quality --corpus`` does, without training.

    python -m benchmarks.score_checkpoints --corpus /work/devcorpus CKPT [CKPT ...]

On the corpus's held-out (``split == test``) 5 s segments: SI-SDR, MR-STFT, one-scale mel and DAC's
mel distance (7 scales summed); the genre probe over every clip's pooled latents with 5 folds grouped
by ``source_track`` (when the labels CSV has it; ``--pooling`` repeatable, default the analyses'
default), and the MFCC baselines beside it (mean+std, and mean+std+delta std). Used for
the shipped weights' numbers in ``musiclatent/pretrained/README.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import corpus_segments


def main(argv: list[str] | None = None) -> int:
    import torch

    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.quality import benchmark as q

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--labels", type=Path, default=None, help="labels CSV (default: CORPUS/labels.csv)")
    ap.add_argument("--segment-seconds", type=float, default=5.0)
    ap.add_argument("--pooling", action="append", default=None,
                    help="pooling(s) for the probe (repeatable; default: the analyses' default)")
    ap.add_argument("checkpoints", nargs="+", type=Path)
    args = ap.parse_args(argv)
    labels_csv = args.labels or args.corpus / "labels.csv"
    from musiclatent.latents.pooling import DEFAULT_POOLING, check_pooling

    args.pooling = [check_pooling(p) for p in args.pooling or [DEFAULT_POOLING]]
    sr = 22050
    manifest, sets = corpus_segments(args.corpus, ("test", None), labels_csv, args.segment_seconds, sr)
    test_waves = sets["test"].waves
    every = sets[None]
    all_waves, all_labels, all_tracks = every.waves, every.labels, every.tracks
    order = list(dict.fromkeys(all_tracks))
    label_of = dict(zip(all_tracks, all_labels, strict=True))
    labels = np.array([label_of[t] for t in order])
    grouped = q._csv_has_column(labels_csv, "source_track")
    groups = q._groups(manifest, order, labels_csv, "source_track") if grouped else None
    rows = {}
    for ckpt in args.checkpoints:
        model, _ = load_checkpoint(ckpt)
        model.eval()
        row = q.evaluate_model(model, test_waves, sr)
        with torch.no_grad():
            lat_view = getattr(model, "latent_view", None)
            for pooling in args.pooling:
                X, _ = q.track_vectors(model.encode, all_waves, all_tracks, pooling=pooling, view=lat_view)
                acc, std = q.probe_accuracy(X, labels, 0, groups)
                key = "" if pooling == args.pooling[0] else f"_{pooling}"
                row[f"probe_acc{key}"], row[f"probe_std{key}"] = acc, std
        rows[str(ckpt)] = row
    for name, delta in (("mfcc", False), ("mfcc_delta", True)):
        acc, std = q.probe_accuracy(q.mfcc_vectors(every, sr, delta=delta), labels, 0, groups)
        rows[name] = {"probe_acc": acc, "probe_std": std}
    print(json.dumps({"segments": int(test_waves.shape[0]), "clips": len(order), "grouped": grouped,
                      "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
