"""Measure the seams of whole-track decodes: per-segment (before) vs seamless (now) vs one pass.

    python examples/seam_energy.py TABLE [--tracks 5]

For each of the first ``--tracks`` tracks of TABLE (read from the corpus the table names), prints
``boundary_energy_ratio`` of the decoded wave and of its error (decoded minus reference) at the
segment boundaries, for the per-segment decode, the seamless decode and a one-pass encode+decode
of the whole track, then the medians. About 1 is seamless (docs/latents.md, "Seamless whole tracks").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from musiclatent.corpus.audio import read_audio
from musiclatent.latents.decode import decode_track, load_table_model
from musiclatent.latents.table import LatentTable
from musiclatent.metrics.audio import boundary_energy_ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--tracks", type=int, default=5)
    args = parser.parse_args()
    table = LatentTable.open(args.table)
    model = load_table_model(table)
    sr, root = int(table.metadata["sample_rate"]), Path(table.metadata["corpus_root"])
    paths = table.tracks().set_index("track_id")["path"]
    results: dict[str, list[float]] = {}
    for tid in table.track_ids()[: args.tracks]:
        rows = table.segments(filters=[("track_id", "=", tid)]).sort_values("segment")
        bounds = np.round(rows["start_s"].to_numpy(np.float64) * sr).astype(int)[1:]
        if not len(bounds):
            continue
        ref = torch.from_numpy(read_audio(root / paths[tid], sr).astype(np.float32))
        waves = {name: torch.from_numpy(decode_track(table, tid, model=model, seamless=flag)[0])
                 for name, flag in (("per-segment", False), ("seamless", True))}
        with torch.inference_mode():
            n = len(waves["seamless"])
            waves["one pass"] = model.decode(model.encode(ref[None, None, :n]), length=n)[0, 0].float()
        line = [tid]
        for name, wave in waves.items():
            for kind, r in (("wave", None), ("error", ref[: len(wave)])):
                value = float(boundary_energy_ratio(wave, bounds, sr, ref=r))
                results.setdefault(f"{name} {kind}", []).append(value)
                line.append(f"{name} {kind} {value:.2f}")
        print("  ".join(line), flush=True)
    print("median: " + "; ".join(f"{k} {np.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for k, v in results.items()))


if __name__ == "__main__":
    main()
