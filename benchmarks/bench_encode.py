"""Encode benchmark: throughput per model beside the read+decode floor, and peak RSS vs corpus size.

Usage::

    python benchmarks/bench_encode.py [--models alt5,wave12] [--tracks 8] [--seconds 10]
                                      [--rss-sizes 200,2000] [--write-docs]

Everything runs on CPU with ``torch.set_num_threads(2)`` on a synthetic corpus in a temporary
folder. Models are untrained (weights do not change the speed). Peak RSS is measured in a fresh
subprocess per corpus size while it encodes that many short tracks (Linux: VmHWM after resetting
it through ``/proc/self/clear_refs``; elsewhere ``ru_maxrss``). ``--write-docs`` replaces the "Encode" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_threads() -> None:
    import torch

    torch.set_num_threads(2)


def make_corpus(folder: Path, tracks: int, seconds: float, sample_rate: int = 22050) -> Path:
    """``tracks`` noise+tone WAVs in ``folder/genres/<genre>/`` (fast to write, GTZAN-shaped)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    genres = ["blues", "jazz", "rock", "pop"]
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    for i in range(tracks):
        g = genres[i % len(genres)]
        path = folder / "genres" / g / f"{g}.{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        wave = 0.3 * np.sin(2 * np.pi * (110 + 7 * i) * t) + 0.05 * rng.standard_normal(n)
        sf.write(path, wave.astype(np.float32), sample_rate, subtype="PCM_16")
    return folder


def checkpoint_for(model: str, folder: Path) -> Path:
    import torch

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.plugins import get_registry

    torch.manual_seed(0)
    net = get_registry().architecture(model).build()
    return save_checkpoint(folder / f"{model}.safetensors", net, model_name=model,
                           training={"segment_seconds": 5.0})


def read_floor(manifest, sample_rate: int) -> float:
    """Seconds to read, decode and segment every track (what encoding cannot go below)."""
    from musiclatent.latents.encode import TrackDataset

    ds = TrackDataset(manifest.tracks.to_dict("records"), manifest.root, sample_rate, 5.0)
    t0 = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    return time.perf_counter() - t0


def throughput(models: list[str], tracks: int, seconds: float) -> list[dict]:
    from musiclatent.corpus.manifest import scan_corpus
    from musiclatent.latents.encode import encode_corpus

    _setup_threads()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "corpus", tracks, seconds)
        manifest = scan_corpus(tmp / "corpus", quick=True, progress=False, jobs=1)
        audio_s = float(manifest.tracks["duration_s"].sum())
        read_floor(manifest, 22050)  # warm the page cache
        floor = read_floor(manifest, 22050)
        rows.append({"model": "(read + decode only)", "wall_s": floor, "x_realtime": audio_s / floor})
        for model in models:
            ckpt = checkpoint_for(model, tmp)
            t0 = time.perf_counter()
            encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp / f"{model}.parquet", device="cpu",
                          progress=False, batch_size=16)
            wall = time.perf_counter() - t0
            rows.append({"model": model, "wall_s": wall, "x_realtime": audio_s / wall})
            print(f"{model}: {audio_s / wall:.1f}x real time", file=sys.stderr)
    for r in rows:
        r["audio_s"] = audio_s
    return rows


def _status_mib(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs`` 5) so it covers only what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_child(tracks: int, model: str) -> dict:
    """Run in a subprocess: encode ``tracks`` 1 s clips, report peak RSS in MiB."""
    from musiclatent.corpus.manifest import scan_corpus
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable

    _setup_threads()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_corpus(tmp / "corpus", tracks, 1.0)
        manifest = scan_corpus(tmp / "corpus", quick=True, progress=False, jobs=1)
        ckpt = checkpoint_for(model, tmp)
        import gc

        gc.collect()
        before = _status_mib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reset = _reset_peak()
        t0 = time.perf_counter()
        out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp / "t.parquet", device="cpu",
                            progress=False, segment_seconds=1.0, row_group_rows=256)
        wall = time.perf_counter() - t0
        peak = (_status_mib("VmHWM") if reset else None) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows = LatentTable.open(out).num_rows
    return {"tracks": tracks, "rows": rows, "peak_rss_mib": round(peak, 1),
            "rss_before_encode_mib": round(before, 1), "wall_s": round(wall, 2)}


def rss(sizes: list[int], model: str) -> list[dict]:
    out = []
    for n in sizes:
        res = subprocess.run([sys.executable, __file__, "--rss-child", str(n), "--models", model],
                             capture_output=True, text=True, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(f"{n} tracks: peak RSS {out[-1]['peak_rss_mib']} MiB", file=sys.stderr)
    return out


def markdown(rows: list[dict], rss_rows: list[dict], args) -> str:
    import torch

    lines = [
        "## Encode", "",
        f"Measured with `python benchmarks/bench_encode.py {' '.join(sys.argv[1:])}` on "
        f"{platform.processor() or platform.machine()}, CPU only, `torch.set_num_threads(2)`, "
        f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. Untrained weights; batch 16; 5 s segments; "
        f"{args.tracks} synthetic tracks of {args.seconds:g} s at 22050 Hz (WAV). The machine was shared "
        "with other jobs, so treat the numbers as rough.", "",
        "| model | wall s | x real time |", "|---|---:|---:|",
    ]
    lines += [f"| {r['model']} | {r['wall_s']:.2f} | {r['x_realtime']:.1f} |" for r in rows]
    if rss_rows:
        lines += ["", f"Peak RSS of a fresh process while it encodes N one-second tracks with "
                  f"{args.models.split(',')[0]} (row groups of 256 segments; the kernel's peak mark is reset "
                  "just before `encode_corpus`, so imports and corpus scanning do not count), beside its RSS "
                  "just before. Flat in N: the table is streamed to disk.", "",
                  "| tracks | rows | peak RSS MiB | RSS before encode MiB | wall s |", "|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['tracks']} | {r['rows']} | {r['peak_rss_mib']} | {r['rss_before_encode_mib']} | {r['wall_s']} |"
                  for r in rss_rows]
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = ROOT / "docs" / "performance.md") -> None:
    """Replace (or append) the ``## Encode`` section of ``path``, leaving other sections alone."""
    text = path.read_text() if path.exists() else "# Performance\n\n"
    pattern = re.compile(r"^## Encode\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="alt5,wave12")
    p.add_argument("--tracks", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--rss-sizes", default="200,2000")
    p.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--write-docs", action="store_true")
    args = p.parse_args()
    if args.rss_child is not None:
        print(json.dumps(rss_child(args.rss_child, args.models.split(",")[0])))
        return
    models = [m for m in args.models.split(",") if m]
    rows = throughput(models, args.tracks, args.seconds)
    sizes = [int(s) for s in args.rss_sizes.split(",") if s]
    rss_rows = rss(sizes, models[0]) if sizes else []
    section = markdown(rows, rss_rows, args)
    print(section)
    if args.write_docs:
        write_section(section)


if __name__ == "__main__":
    main()
