"""Soak benchmark (not CI): a large corpus of short clips with 1 % damaged files, through scan,
encode and three analyses; every file must end up either encoded or reported.

    python benchmarks/soak.py --tracks 20000 --out /tmp/soak      # the full soak
    python benchmarks/soak.py --tracks 2000 --out /tmp/soak-2k    # a quicker run

Clips are cheap tones-plus-noise (the soak measures the pipeline, not the music), in the GTZAN
layout ``genres/<genre>/<genre>.NNNNN.wav``. Damaged files cycle through the kinds the corpus
layer must survive: empty, truncated header, random bytes, text named .wav, NaN samples, a
directory named .wav; after the scan a quarter as many good files are deleted or overwritten, so
encode itself must skip and report them. The model is an untrained ``alt5`` checkpoint. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
BAD_KINDS = ("empty", "truncated", "random", "text", "nan", "directory")


def make_corpus(root: Path, n_tracks: int, seconds: float, rate: int, bad_fraction: float, seed: int = 0):
    """Write ``n_tracks`` files (``bad_fraction`` of them damaged); returns ``(all paths, bad paths)``."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    n_bad = int(round(n_tracks * bad_fraction))
    bad_at = set(rng.choice(n_tracks, size=n_bad, replace=False).tolist())
    t = np.arange(int(seconds * rate)) / rate
    files, bad = [], []
    for i in range(n_tracks):
        genre = GENRES[i % len(GENRES)]
        path = root / "genres" / genre / f"{genre}.{i // len(GENRES):05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        rel = str(path.relative_to(root))
        files.append(rel)
        if i in bad_at:
            kind = BAD_KINDS[len(bad) % len(BAD_KINDS)]
            bad.append(rel)
            if kind == "empty":
                path.write_bytes(b"")
            elif kind == "truncated":
                sf.write(path, 0.1 * np.ones(rate // 10), rate)
                path.write_bytes(path.read_bytes()[:30])
            elif kind == "random":
                path.write_bytes(rng.bytes(4096))
            elif kind == "text":
                path.write_text("this is not audio\n")
            elif kind == "nan":
                wave = 0.1 * np.ones(len(t), np.float32)
                wave[len(t) // 2] = np.nan
                sf.write(path, wave, rate, subtype="FLOAT")
            else:
                path.mkdir()
            continue
        freq = 110.0 * (1 + i % len(GENRES)) * (1 + 0.01 * (i // len(GENRES) % 50))
        wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(len(t))
        sf.write(path, wave.astype(np.float32), rate, subtype="PCM_16")
    return files, bad


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--bad-fraction", type=float, default=0.01)
    parser.add_argument("--out", type=Path, required=True, help="Working folder (corpus, table, analyses).")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers during encode.")
    parser.add_argument("--jobs", type=int, default=None, help="Scan processes (default: all cores).")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.corpus.manifest import scan_corpus
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable
    from musiclatent.plugins import get_registry

    rate = 22050
    out: Path = args.out
    corpus = out / "corpus"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files, bad = make_corpus(corpus, args.tracks, args.seconds, rate, args.bad_fraction)
    timings["make_corpus_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    manifest = scan_corpus(corpus, sample_rate=rate, jobs=args.jobs, progress=False)
    timings["scan_s"] = time.perf_counter() - t0

    # a quarter as many again break after the scan (deleted, overwritten): encode must report them
    rng = np.random.default_rng(1)
    good = sorted(set(files) - set(bad))
    late = [good[i] for i in rng.choice(len(good), size=max(1, len(bad) // 4), replace=False)]
    for i, rel in enumerate(late):
        if i % 2:
            (corpus / rel).unlink()
        else:
            (corpus / rel).write_bytes(rng.bytes(2048))
    bad = [*bad, *late]

    torch.manual_seed(0)
    ckpt = save_checkpoint(out / "alt5.safetensors", get_registry().architecture("alt5").build(),
                           model_name="alt5", training={"segment_seconds": args.seconds})
    skipped_lines: list[str] = []
    t0 = time.perf_counter()
    table_path = encode_corpus(checkpoint=ckpt, manifest=manifest, out=out / "latents.parquet", batch_size=64,
                               device="cpu", workers=args.workers, progress=False, resume=False,
                               log=skipped_lines.append)
    timings["encode_s"] = time.perf_counter() - t0
    table = LatentTable.open(table_path).validate(deep=True)

    analyses = {}
    for name in ("pca", "cluster", "neighbors"):
        t0 = time.perf_counter()
        folder = run_analysis(name, table=table, out_dir=out / "analyses" / name, formats=("html",))
        timings[f"{name}_s"] = time.perf_counter() - t0
        analyses[name] = json.loads((folder / "index.json").read_text()).get("summary", {})

    encoded = set(table.tracks()["path"])
    reported = {p["path"] for p in table.problems}
    files_in = set(files)
    lost = sorted(files_in - encoded - reported)
    result = {
        "tracks_in": len(files_in), "damaged_in": len(bad), "broken_after_scan": len(late),
        "tracks_encoded": len(encoded), "rows_out": table.num_rows,
        "files_reported": len(reported), "reported_while_encoding": len(skipped_lines),
        "scan_problems": len(manifest.problems),
        "damaged_reported": len(set(bad) & reported), "good_reported": sorted(reported - set(bad))[:10],
        "lost": lost[:10], "n_lost": len(lost),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "analyses": analyses,
    }
    print(json.dumps(result, indent=2, default=str))
    assert not lost, f"{len(lost)} files neither encoded nor reported: {lost[:5]}"
    assert encoded.isdisjoint(reported), "a file both encoded and reported"
    assert len(encoded) + len(reported) == len(files_in)
    assert set(bad) <= reported, "a damaged file was encoded"
    assert len(skipped_lines) == len(late), "files broken after the scan were not all reported by encode"
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
