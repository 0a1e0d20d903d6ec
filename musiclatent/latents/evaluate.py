"""Measure reconstruction on a split, beside two references a model must beat.

For every track of the split the model reconstructs each segment (``decode(encode(x))``); the
encoded part of the track (the same segments ``encode`` writes) is compared with the original by
the shared metrics of ``musiclatent.metrics.audio``: SI-SDR (dB, higher is better), multi-resolution
STFT distance and log-mel distance (lower is better). Two references are measured the same way:

- ``resample``: a trivial codec that keeps as many values as the latent: resample down by the
  model's encoding scale and back up (torchaudio; for alt5, 22050 Hz / 12 ~ 1838 Hz);
- ``previous``: the model's previous checkpoint (``--baseline``, else ``last.safetensors`` beside
  a ``best.safetensors``), when there is one that differs.

A model is flagged "not better than resampling at equal size" unless its mean SI-SDR is higher
than the codec's AND it is better on at least one of the two spectral distances. (Log-mel alone
is not enough: the codec's empty high band sits at the log floor, so even a noisy random model
"wins" there.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.metrics import codecs

METRICS = ("si_sdr", "mrstft", "mel")
HIGHER_IS_BETTER = {"si_sdr": True, "mrstft": False, "mel": False}
FLAG = "not better than resampling at equal size"


def previous_checkpoint(checkpoint: str | os.PathLike) -> Path | None:
    """``last.safetensors`` beside a ``best.safetensors`` (or the reverse), when it exists and differs."""
    from musiclatent.fileio import sha256_file

    checkpoint = Path(checkpoint)
    other = {"best.safetensors": "last.safetensors", "last.safetensors": "best.safetensors"}.get(checkpoint.name)
    if other is None or not (checkpoint.parent / other).is_file():
        return None
    candidate = checkpoint.parent / other
    return None if sha256_file(candidate) == sha256_file(checkpoint) else candidate


def resample_codec(wave, sample_rate: int, scale: float):
    """Deprecated spelling: ``(musiclatent.metrics.codecs.resample_codec(wave, scale), rate)``."""
    return codecs.resample_codec(wave, scale), codecs.resample_rate(sample_rate, scale)


def _reconstruct(model, segments: np.ndarray, batch_size: int, device) -> np.ndarray:
    """``decode(encode(x))`` of each segment of ``segments [S, L]``, in the core's batched loop."""
    from musiclatent.latents.inference import batched

    return batched(lambda x: model.decode(model.encode(x.unsqueeze(1)), length=x.shape[-1])[:, 0],
                   segments, batch_size, device)


def _covered(segments: np.ndarray, rows: list[dict[str, Any]], sample_rate: int) -> np.ndarray:
    """The real (unpadded) samples of ``segments [S, L]`` put back in track order."""
    return np.concatenate([seg[: int(round(r["duration_s"] * sample_rate))] for seg, r in zip(segments, rows, strict=True)])


def _scores(ref, est, sample_rate: int) -> dict[str, float]:
    from musiclatent.metrics.audio import mel_distance, mrstft_distance, si_sdr

    return {"si_sdr": float(si_sdr(ref, est)[0]), "mrstft": float(mrstft_distance(ref, est, sample_rate)[0]),
            "mel": float(mel_distance(ref, est, sample_rate)[0])}


def _systems(checkpoint: Path, baseline, device) -> tuple[list[tuple[str, str, Any]], dict[str, Any], Path | None]:
    """``([(system, name, model)], checkpoint metadata, baseline path)``: the model, and the
    previous checkpoint when there is one (``baseline``, else ``previous_checkpoint``)."""
    from musiclatent.checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint, device=device)
    systems: list[tuple[str, str, Any]] = [("model", f"{meta.get('model_name') or meta['arch']} ({checkpoint.name})", model)]
    base = Path(baseline) if baseline else previous_checkpoint(checkpoint)
    if base is not None:
        prev, prev_meta = load_checkpoint(base, device=device)
        systems.append(("previous", f"{prev_meta.get('model_name') or prev_meta['arch']} ({base.name})", prev))
    return systems, meta, base


def _score_track(item, systems, sr: int, scale: float, batch_size: int, device, records: list) -> float:
    """Append the scores of every system and of the resampling codec on one track to ``records``;
    returns the codec's low rate."""
    import torch

    ref = torch.from_numpy(_covered(item.segments, item.rows, sr))[None]
    base_row = {"track_id": item.track_id, "label": item.label, "seconds": ref.shape[-1] / sr}
    for kind, name, net in systems:
        est = torch.from_numpy(_covered(_reconstruct(net, item.segments, batch_size, device), item.rows, sr))[None]
        records.append({"system": kind, "name": name, **base_row, **_scores(ref, est, sr)})
    est, low_rate = resample_codec(ref, sr, scale)
    records.append({"system": "resample", "name": f"resample {sr}->{low_rate:g}->{sr} Hz", **base_row,
                    **_scores(ref, est.float(), sr)})
    return low_rate


def evaluate(
    checkpoint: str | os.PathLike,
    manifest,
    split: str | None = "test",
    *,
    baseline: str | os.PathLike | None = None,
    segment_seconds: float | None = None,
    device: str = "auto",
    batch_size: int = 16,
    max_tracks: int | None = None,
    progress: bool = True,
    cache=None,
):
    """Per-track reconstruction metrics of the model and its references on ``split``.

    Returns a long DataFrame: ``system`` (``model``/``resample``/``previous``), ``name``,
    ``track_id``, ``label``, ``seconds``, ``si_sdr``, ``mrstft``, ``mel``; its ``attrs`` hold the
    model name, encoding scale, resampling rate and checkpoints. Summarise with ``summarize``.
    """
    import sys

    from tqdm.auto import tqdm

    from musiclatent.corpus.segments import DEFAULT_SEGMENT_SECONDS, segment_samples
    from musiclatent.devices import select_device
    from musiclatent.latents.inference import TrackDataset, checkpoint_segment_seconds, manifest_of

    manifest = manifest_of(manifest)
    dev = select_device(device)
    checkpoint = Path(checkpoint)
    systems, meta, base = _systems(checkpoint, baseline, dev)
    model = systems[0][2]
    sr = int(getattr(model, "sample_rate", meta.get("sample_rate", DEFAULT_SAMPLE_RATE)))
    seconds = float(segment_seconds or checkpoint_segment_seconds(meta) or DEFAULT_SEGMENT_SECONDS)
    seg_len = segment_samples(seconds, sr)
    scale = float(model.encoding_scale(seg_len))
    tracks = manifest.split(split)
    if max_tracks is not None:
        tracks = tracks.head(int(max_tracks))
    dataset = TrackDataset(tracks.to_dict("records"), manifest.root, sr, seconds, cache=cache)
    records: list[dict[str, Any]] = []
    low_rate = None
    problems: list[dict[str, str]] = []
    for i in tqdm(range(len(dataset)), desc="evaluate", unit="track", disable=None if progress else True,
                  file=sys.stderr):
        item = dataset[i]
        if item.error is not None:
            problems.append({"path": item.path, "reason": item.error})
            continue
        low_rate = _score_track(item, systems, sr, scale, batch_size, dev, records)
    import pandas as pd

    df = pd.DataFrame(records, columns=["system", "name", "track_id", "label", "seconds", *METRICS])
    df.attrs.update({"model": systems[0][1], "arch": meta["arch"], "checkpoint": str(checkpoint),
                     "baseline": str(base) if base else None, "split": split, "sample_rate": sr,
                     "segment_samples": seg_len, "encoding_scale": scale,
                     "resample_rate": low_rate or codecs.resample_rate(sr, scale), "problems": problems})
    return df


def summarize(df) -> tuple[Any, dict[str, Any]]:
    """``(summary, verdict)``: mean metrics by system and label (label ``all`` = every track),
    and whether the model beats the same-size resampling codec (see the module doc)."""
    import pandas as pd

    if df.empty:
        return pd.DataFrame(columns=["system", "name", "label", "tracks", *METRICS]), {
            "beats_resampling": None, "flag": "no tracks evaluated", "wins": {}}
    frame = df.assign(label=df["label"].fillna("(unlabelled)"))
    overall = frame.groupby(["system", "name"], sort=False)[list(METRICS)].mean().reset_index()
    overall["tracks"] = frame.groupby(["system", "name"], sort=False).size().to_numpy()
    overall["label"] = "all"
    by_label = frame.groupby(["system", "name", "label"], sort=False)[list(METRICS)].mean().reset_index()
    by_label["tracks"] = frame.groupby(["system", "name", "label"], sort=False).size().to_numpy()
    summary = pd.concat([overall, by_label], ignore_index=True)[["system", "name", "label", "tracks", *METRICS]]
    means = overall.set_index("system")
    wins = {}
    for m in METRICS:
        a, b = means.loc["model", m], means.loc["resample", m]
        wins[m] = bool(a > b) if HIGHER_IS_BETTER[m] else bool(a < b)
    beats = wins["si_sdr"] and (wins["mrstft"] or wins["mel"])
    verdict = {"beats_resampling": beats, "wins": wins, "flag": None if beats else FLAG}
    if "previous" in means.index:
        verdict["previous_si_sdr"] = float(means.loc["previous", "si_sdr"])
        verdict["model_si_sdr"] = float(means.loc["model", "si_sdr"])
    return summary, verdict


def evaluation_chart(summary):
    """Altair chart: mean of each metric by system, one column per metric, one row per label."""
    from musiclatent.charts import alt

    altair = alt()
    data = summary.melt(id_vars=["system", "name", "label", "tracks"], value_vars=list(METRICS),
                        var_name="metric", value_name="value")
    return altair.Chart(data).mark_bar().encode(
        x=altair.X("value:Q", title=None),
        y=altair.Y("name:N", title=None, axis=altair.Axis(labelLimit=320)),
        color=altair.Color("system:N"),
        tooltip=["name", "label", "metric", altair.Tooltip("value:Q", format=".3f"), "tracks"],
    ).properties(width=180, height=60).facet(
        column=altair.Column("metric:N", title="SI-SDR dB (higher better) | MR-STFT, log-mel (lower better)"),
        row=altair.Row("label:N", title=None),
    ).resolve_scale(x="independent")


def write_evaluation(df, out: str | os.PathLike, chart_formats=("html", "png")) -> dict[str, Path]:
    """Write ``tracks.csv``/``.parquet``, ``summary.csv``, ``evaluation.json`` and the chart into ``out``."""
    from musiclatent.charts import save_chart
    from musiclatent.fileio import atomic_path, atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary, verdict = summarize(df)
    paths = {"tracks_csv": out / "tracks.csv", "tracks_parquet": out / "tracks.parquet",
             "summary_csv": out / "summary.csv", "json": out / "evaluation.json"}
    atomic_write_text(paths["tracks_csv"], df.to_csv(index=False))
    with atomic_path(paths["tracks_parquet"]) as tmp:
        df.to_parquet(tmp, index=False)
    atomic_write_text(paths["summary_csv"], summary.to_csv(index=False))
    atomic_write_json(paths["json"], {**df.attrs, **verdict, "metrics": list(METRICS),
                                      "summary": summary[summary["label"] == "all"].to_dict("records")})
    if len(summary) and chart_formats:
        for fmt, path in save_chart(evaluation_chart(summary), out, "evaluation", formats=chart_formats).items():
            paths[f"chart_{fmt}"] = path
    return paths


__all__ = ["FLAG", "METRICS", "evaluate", "evaluation_chart", "previous_checkpoint", "resample_codec",
           "summarize", "write_evaluation"]
