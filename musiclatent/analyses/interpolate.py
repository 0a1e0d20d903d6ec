"""``interpolate``: walk the latent space between two tracks and decode every step to audio;
decode genre centroids (the mean latent of a genre's tracks, "the average jazz song").

Each track is represented by its first segment's latent ``[C, T']`` (full shape, not pooled), so
the decoded steps are one segment long.
"""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import title
from musiclatent.charts import alt


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation."""
    return (1.0 - t) * a + t * b


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of the flattened latents (falls back to linear when parallel)."""
    fa, fb = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    na, nb = np.linalg.norm(fa), np.linalg.norm(fb)
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    cos = np.clip(fa @ fb / (na * nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if omega < 1e-6:
        return lerp(a, b, t)
    s = np.sin(omega)
    out = (np.sin((1 - t) * omega) / s) * fa + (np.sin(t * omega) / s) * fb
    return out.reshape(a.shape).astype(np.float32)


def first_latent(ctx, track_id: str) -> np.ndarray:
    """The first segment's latent ``[C, T']`` of ``track_id`` (a clear error if unknown)."""
    _, tracks = ctx.track_vectors()
    if track_id not in set(tracks["track_id"].astype(str)):
        sample = ", ".join(tracks["track_id"].astype(str).head(3))
        raise AnalysisError(f"track {track_id!r} is not in the latent table (ids look like: {sample})")
    return first_latents(ctx, [track_id])[0]


def first_latents(ctx, track_ids) -> np.ndarray:
    """The first segment's latent of each of ``track_ids`` (tracks of the table): ``[N, C, T']``."""
    out = []
    for tid in track_ids:
        lat = np.asarray(ctx.table.track_latents(tid), dtype=np.float32)
        out.append(lat[0] if lat.ndim == 3 else lat.reshape(ctx.latent_shape))
    return np.stack(out)


def default_pair(ctx) -> tuple[str, str]:
    """Two tracks of different genres (the same ones for the same seed)."""
    _, tracks = ctx.track_vectors()
    labels = ctx.labels()
    rng = np.random.default_rng(ctx.seed)
    genres = sorted(set(labels))
    ids = tracks["track_id"].astype(str).to_numpy()
    if len(ids) < 2:
        raise AnalysisError("interpolate needs at least two tracks")
    if len(genres) >= 2:
        g1, g2 = rng.choice(genres, size=2, replace=False)
        return str(rng.choice(ids[labels == g1])), str(rng.choice(ids[labels == g2]))
    a, b = rng.choice(len(ids), size=2, replace=False)
    return str(ids[a]), str(ids[b])


CENTROID_TRACKS = 2048
"""At most this many tracks (a seeded sample) are averaged into one genre centroid, so a centroid
of a huge genre holds a bounded number of latents in memory; its estimate hardly moves beyond."""


def centroid_members(ctx, genre: str) -> tuple[np.ndarray, int]:
    """The tracks a genre's centroid averages: all of the genre's, or a seeded sample of
    ``CENTROID_TRACKS``; ``(track_ids, tracks_of_the_genre)``."""
    _, tracks = ctx.track_vectors()
    labels = ctx.labels()
    ids = tracks["track_id"].astype(str).to_numpy()[labels == genre]
    if len(ids) == 0:
        raise AnalysisError(f"no track of genre {genre!r}; genres: {', '.join(sorted(set(labels)))}")
    if len(ids) <= CENTROID_TRACKS:
        return ids, len(ids)
    return np.sort(np.random.default_rng(ctx.seed).choice(ids, CENTROID_TRACKS, replace=False)), len(ids)


def model_centroid(ctx, latents: np.ndarray) -> np.ndarray:
    """The centre of ``latents[N, C, T']`` as the table's model takes it
    (``AudioAutoencoder.mean_latent``: the element-wise mean unless the model's latent needs
    another average): ``[C, T']``."""
    import torch

    from musiclatent.latents.decode import model_device

    model = ctx.load_model()
    with torch.no_grad():
        centre = model.mean_latent(torch.from_numpy(np.asarray(latents, np.float32)).to(model_device(model))).cpu()
    return centre.numpy().astype(np.float32).reshape(ctx.latent_shape)


def genre_centroid(ctx, genre: str) -> tuple[np.ndarray, int, int]:
    """The model's centre (:func:`model_centroid`) of the first-segment latents of the genre's
    tracks (:func:`centroid_members`); ``(latent, tracks_averaged, tracks_of_the_genre)``."""
    used, n = centroid_members(ctx, genre)
    return model_centroid(ctx, first_latents(ctx, used)), len(used), n


def run(ctx, *, steps: int, mode: str, centroid: tuple, **ends) -> AnalysisResult:
    """Interpolate ``from`` -> ``to`` (track ids, in ``ends``) in ``steps``; decode genre centroids.

    Without ids and centroids: a default pair of tracks of two genres and every genre centroid.
    """
    from_track, to_track = ends.pop("from", None), ends.pop("to", None)
    if ends:
        raise AnalysisError(f"interpolate has no option(s) {', '.join(sorted(ends))}")
    import pandas as pd

    from musiclatent.analyses.features import spectrogram_frame

    if steps < 2:
        raise AnalysisError("--steps must be at least 2 (the two ends)")
    if mode not in ("linear", "slerp"):
        raise AnalysisError(f"unknown mode {mode!r}; use linear or slerp")
    centroid = tuple(centroid or ())
    do_pair = bool(from_track or to_track) or not centroid
    if not centroid and not (from_track or to_track):
        centroid = ("all",)
    sr = ctx.sample_rate
    result = AnalysisResult(summary={"mode": mode, "steps": int(steps)})
    altair = alt()
    if do_pair:
        a_id, b_id = default_pair(ctx) if not (from_track and to_track) else (from_track, to_track)
        if bool(from_track) != bool(to_track):
            raise AnalysisError("give both --from and --to (or neither for a default pair)")
        a, b = first_latent(ctx, a_id), first_latent(ctx, b_id)
        fn = slerp if mode == "slerp" else lerp
        frames, rows = [], []
        for i, t in enumerate(np.linspace(0.0, 1.0, steps)):
            wave = ctx.decode(fn(a, b, float(t)))
            name = f"step_{i:02d}"
            result.audio[name] = (wave, sr)
            spec = spectrogram_frame(wave, sr, "mel", n_mels=40, max_frames=48)
            spec["step"] = f"{i:02d} (t={t:.2f})"
            frames.append(spec)
            rows.append({"step": i, "t": float(t), "file": f"{name}.wav",
                         "rms": float(np.sqrt(np.mean(np.square(wave))))})
        specs = pd.concat(frames, ignore_index=True)
        chart = altair.Chart(specs).mark_rect().encode(
            x=altair.X("time_s:Q", title="time (s)"), x2="time_end:Q",
            y=altair.Y("bin:Q", title="mel band"), y2="bin_end:Q",
            color=altair.Color("db:Q", title="dB", scale=altair.Scale(scheme="magma")),
            tooltip=["step:N", "time_s:Q", "freq_hz:Q", altair.Tooltip("db:Q", format=".1f")],
        ).properties(width=120, height=90).facet(
            facet=altair.Facet("step:N", title="interpolation step"), columns=4,
            title=title(ctx, f"Interpolation {a_id} → {b_id} ({mode})", "log-mel spectrogram of each decoded step"),
        )
        result.charts["interpolation"] = chart
        result.tables["interpolation_steps"] = pd.DataFrame(rows)
        result.summary.update(from_track=a_id, to_track=b_id)
    if centroid:
        labels = ctx.labels()
        genres = sorted(set(labels) - {"unknown"}) if "all" in centroid else list(centroid)
        crow = []
        for g in genres:
            latent, used, n = genre_centroid(ctx, g)
            if used < n:
                result.notes.append(f"centroid of {g}: {used} of its {n} tracks averaged (a seeded sample)")
            wave = ctx.decode(latent)
            result.audio[f"centroid_{g}"] = (wave, sr)
            crow.append({"genre": g, "tracks": n, "averaged": used, "rms": float(np.sqrt(np.mean(np.square(wave))))})
        result.tables["centroids"] = pd.DataFrame(crow)
        result.summary["centroids"] = genres
    return result
