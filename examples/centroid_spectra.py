"""Do decoded genre centroids sound like their genre? Average spectra of centroids vs their tracks.

    python examples/centroid_spectra.py TABLE [--genre G ...] [--png centroids.png]

For each genre (default: all) of TABLE, takes every track's first segment as the ``interpolate``
analysis does, and prints the level (RMS) and the mean absolute dB distance between the long-term
average power spectrum of the tracks (read from the corpus the table names) and of two decoded
centroids: the model's own (``AudioAutoencoder.mean_latent``, what ``analyze interpolate
--centroid`` decodes) and the element-wise mean of the latents. Uses the analysis's own
functions, so it measures exactly what the analysis decodes. ``--png`` draws the three spectra
per genre (docs/img/sparse12_centroids.png was made so).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from musiclatent.analyses.base import AnalysisContext
from musiclatent.analyses.interpolate import centroid_members, first_latents, model_centroid
from musiclatent.latents.table import LatentTable

N_FFT = 2048


def spectrum_db(waves: list[np.ndarray]) -> np.ndarray:
    """Long-term average power spectrum of ``waves`` (all frames of all of them), in dB."""
    window = np.hanning(N_FFT)
    power = [np.abs(np.fft.rfft(w[: len(w) // N_FFT * N_FFT].reshape(-1, N_FFT) * window, axis=1)) ** 2
             for w in waves if len(w) >= N_FFT]
    return 10 * np.log10(np.concatenate(power).mean(axis=0) + 1e-10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table")
    parser.add_argument("--genre", action="append", default=None)
    parser.add_argument("--png", default=None)
    args = parser.parse_args()
    table = LatentTable.open(args.table)
    ctx = AnalysisContext(table=table, corpus_root=Path(table.metadata["corpus_root"]))
    sr, length = ctx.sample_rate, ctx.segment_samples()
    paths = ctx.track_vectors()[1].set_index("track_id")["path"]
    genres = args.genre or sorted(set(ctx.labels()) - {"unknown"})
    rows = []
    for genre in genres:  # the tracks, latents and centre `analyze interpolate --centroid` takes
        ids, _ = centroid_members(ctx, genre)
        latents = first_latents(ctx, ids)
        waves = {"model centroid": ctx.decode(model_centroid(ctx, latents)),
                 "element-wise mean": ctx.decode(latents.mean(axis=0))}
        refs = [ctx.read_audio(paths[t])[:length] for t in ids]
        target = spectrum_db(refs)
        level = float(np.sqrt(np.mean(np.concatenate(refs) ** 2)))
        line = [f"{genre} ({len(ids)} tracks): tracks rms {level:.3f}"]
        hz = np.arange(len(target)) * sr / N_FFT
        rows += [{"genre": genre, "spectrum": "tracks (mean power)", "hz": f, "db": d}
                 for f, d in zip(hz[1:], target[1:], strict=True)]
        for name, wave in waves.items():
            db = spectrum_db([wave])
            line.append(f"{name}: rms {np.sqrt(np.mean(wave ** 2)):.3f}, {np.mean(np.abs(db - target)):.1f} dB from the tracks")
            rows += [{"genre": genre, "spectrum": name, "hz": f, "db": d} for f, d in zip(hz[1:], db[1:], strict=True)]
        print("; ".join(line), flush=True)
    if args.png:
        import altair as alt
        import pandas as pd

        frame = pd.DataFrame(rows)  # sixth-octave bands: readable lines and a small PNG
        frame["hz"] = 2.0 ** (np.round(np.log2(frame["hz"]) * 6) / 6)
        frame = frame.groupby(["genre", "spectrum", "hz"], as_index=False)["db"].mean()
        chart = alt.Chart(frame).mark_line(strokeWidth=1.2).encode(
            x=alt.X("hz:Q", title="Hz", scale=alt.Scale(type="log", domain=[30, sr / 2])),
            y=alt.Y("db:Q", title="power (dB)"), color=alt.Color("spectrum:N", title=None),
        ).properties(width=260, height=170).facet(facet=alt.Facet("genre:N", title=None), columns=3)
        chart.save(args.png, scale_factor=1.0)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
