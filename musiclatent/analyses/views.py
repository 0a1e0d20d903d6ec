"""``views``: the seed's look at a track — waveform, spectrogram and mel spectrogram of the
original beside its reconstruction through the model (one chart per track)."""

from __future__ import annotations

import numpy as np

from musiclatent.analyses.base import AnalysisError, AnalysisResult
from musiclatent.analyses.common import title
from musiclatent.charts import alt


def default_track(ctx) -> str:
    """The first test track (else the first track)."""
    _, tracks = ctx.track_vectors()
    test = tracks[tracks["split"].astype(str) == "test"] if "split" in tracks else tracks.iloc[:0]
    return str((test if len(test) else tracks)["track_id"].iloc[0])


def reconstruct(ctx, track_id: str) -> np.ndarray:
    """Decode every segment latent of ``track_id`` and join them into one waveform."""
    latents = np.asarray(ctx.table.track_latents(track_id), dtype=np.float32)
    if latents.ndim == 2:
        latents = latents[None]
    return np.concatenate([np.asarray(ctx.decode(lat), dtype=np.float32).reshape(-1) for lat in latents])


def _panel(frame, chart_title: str, kind: str):
    altair = alt()
    if kind == "wave":
        base = altair.Chart(frame, title=chart_title).encode(
            x=altair.X("time_s:Q", title="time (s)"),
            tooltip=[altair.Tooltip("time_s:Q", format=".3f"), altair.Tooltip("lo:Q", format=".3f"),
                     altair.Tooltip("hi:Q", format=".3f")],
        )
        area = base.mark_area(color="#4c78a8", opacity=0.6).encode(
            y=altair.Y("lo:Q", title="amplitude", scale=altair.Scale(domain=[-1, 1])), y2="hi:Q")
        line = base.mark_line(color="#4c78a8", strokeWidth=0.8).encode(y="mid:Q")
        return (area + line).properties(width=320, height=120)
    y, y2, y_title = ("bin", "bin_end", "mel band") if kind == "mel" else ("freq_hz", "freq_end", "frequency (Hz)")
    return altair.Chart(frame, title=chart_title).mark_rect().encode(
        x=altair.X("time_s:Q", title="time (s)"), x2="time_end:Q",
        y=altair.Y(f"{y}:Q", title=y_title), y2=f"{y2}:Q",
        color=altair.Color("db:Q", title="dB", scale=altair.Scale(scheme="magma")),
        tooltip=[altair.Tooltip("time_s:Q", format=".2f"), altair.Tooltip("freq_hz:Q", title="Hz"),
                 altair.Tooltip("db:Q", format=".1f")],
    ).properties(width=320, height=140)


def run(ctx, *, track: tuple, seconds: float) -> AnalysisResult:
    """Views of ``track`` ids (default: the first test track), the first ``seconds`` of each."""
    import pandas as pd

    from musiclatent.analyses.features import spectrogram_frame, waveform_frame

    _, tracks = ctx.track_vectors()
    known = dict(zip(tracks["track_id"].astype(str), tracks["path"].astype(str), strict=False))
    labels = dict(zip(tracks["track_id"].astype(str), ctx.labels(), strict=False))
    ids = list(track) or [default_track(ctx)]
    sr = ctx.sample_rate
    result = AnalysisResult(summary={"tracks": ids, "seconds": float(seconds)})
    altair = alt()
    rows = []
    for tid in ids:
        if tid not in known:
            raise AnalysisError(f"track {tid!r} is not in the latent table")
        recon = reconstruct(ctx, tid)
        try:
            original = ctx.read_audio(known[tid])
        except Exception as exc:  # the original may have moved; the reconstruction still shows
            result.notes.append(f"{tid}: original audio unreadable ({exc}); showing the reconstruction only")
            original = None
        n = int(seconds * sr)
        recon = recon[:n]
        versions = {"reconstruction": recon}
        if original is not None:
            original = original[: min(n, len(recon))]
            versions = {"original": original, "reconstruction": recon[: len(original)]}
        columns = []
        for which, wave in versions.items():
            columns.append(altair.vconcat(
                _panel(waveform_frame(wave, sr), f"{which}: waveform", "wave"),
                _panel(spectrogram_frame(wave, sr, "linear", n_mels=64), f"{which}: spectrogram", "linear"),
                _panel(spectrogram_frame(wave, sr, "mel", n_mels=64), f"{which}: mel spectrogram", "mel"),
            ))
            result.audio[f"{tid}_{which}"] = (wave, sr)
        result.charts[f"views_{tid}"] = altair.hconcat(*columns).properties(
            title=title(ctx, f"{tid} ({labels.get(tid, 'unknown')}): original vs reconstruction"))
        row = {"track_id": tid, "label": labels.get(tid), "path": known[tid], "seconds": len(recon) / sr}
        if original is not None:
            err = original - recon[: len(original)]
            row["snr_db"] = float(10 * np.log10(np.sum(original**2) / max(np.sum(err**2), 1e-12)))
        rows.append(row)
    result.tables["views"] = pd.DataFrame(rows)
    return result
