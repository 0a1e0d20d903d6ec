"""The quality benchmark: train every model for the same wall-clock budget on one corpus
(synthetic, or any folder with ``corpus=``), then measure reconstruction, genre information and speed on the held-out test split.

``run_quality(out_dir, models=..., budget_s=...)`` returns a ``QualityResult`` whose ``table`` is a
rate-distortion table (one row per model, plus reference rows: the same-size resampling codec at
1/12, 1/48, 1/192 and every model's compression, Opus at the nearest bitrate when ffmpeg has
libopus, the MFCC probe baseline and EnCodec's encoder speed), and writes ``quality.csv``, ``quality.md``, ``quality.json`` and the
``rate_distortion`` chart into ``out_dir``.

kbit/s counts latent values per second x 16 bits (``22050 / scale * 16 / 1000``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.latents.pooling import DEFAULT_POOLING

DEFAULT_MODELS = ("alt5", "wave12", "wave48", "wave192", "mel12", "mel48", "mel192", "hybrid12", "sparse12")
COLUMNS = ("name", "family", "kind", "compression", "kbps", "si_sdr", "mrstft", "mel", "mel_dac", "probe_acc",
           "probe_std", "enc_xrt", "dec_xrt", "enc_vs_encodec", "params", "epochs", "train_s", "note")
METRICS = ("si_sdr", "mrstft", "mel", "mel_dac")
# DAC's MelSpectrogramLoss (descript-audio-codec, conf/base.yml): 7 scales of (window, mels), hop
# window/4, L1 of log10(mel magnitude clamped at 1e-5), *summed* over the scales.
DAC_MEL_SCALES = ((32, 5), (64, 10), (128, 20), (256, 40), (512, 80), (1024, 160), (2048, 320))
BITS_PER_VALUE = 16
REFERENCE_SCALES = (12, 48, 192)  # reference rows at these sizes always, beside those of the models run


@dataclass
class QualityResult:
    """The benchmark's table and where its files went."""

    table: Any  # pandas.DataFrame with COLUMNS
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def kbps_of(scale: float, sample_rate: int = DEFAULT_SAMPLE_RATE) -> float:
    """kbit/s of a latent at encoding scale 1/``scale`` with 16-bit values."""
    return sample_rate / scale * BITS_PER_VALUE / 1000


def _row(**values: Any) -> dict[str, Any]:
    return {c: values.get(c) for c in COLUMNS}


def _metrics(ref, est, sample_rate: int) -> dict[str, float]:
    from musiclatent.metrics.audio import mel_distance, mrstft_distance, si_sdr

    return {"si_sdr": float(si_sdr(ref, est).mean()), "mrstft": float(mrstft_distance(ref, est, sample_rate).mean()),
            "mel": float(mel_distance(ref, est, sample_rate).mean()),
            "mel_dac": float(dac_mel_distance(ref, est, sample_rate).mean())}


def dac_mel_distance(ref, est, sample_rate: int):
    """DAC's mel distance per item: the L1 log10-mel distance at each of :data:`DAC_MEL_SCALES`,
    summed over the 7 scales (``mel_distance`` averages, so this is 7 x its multi-scale mean)."""
    from musiclatent.metrics.audio import mel_distance

    return mel_distance(ref, est, sample_rate, scales=DAC_MEL_SCALES) * len(DAC_MEL_SCALES)


class SegmentStack(NamedTuple):
    """Every segment of a ``SegmentDataset``, in order: ``waves[N, 1, T]`` (the last segment of a
    track zero-padded), and per segment its label, track id and ``lengths`` (samples of real audio)."""

    waves: Any
    labels: list[str]
    tracks: list[str]
    lengths: list[int]


def _stack(dataset) -> SegmentStack:
    """All segments of a ``SegmentDataset`` as a :class:`SegmentStack`."""
    import torch

    waves, labels, tracks, lengths = [], [], [], []
    for i in range(len(dataset)):
        wave, _label, meta = dataset[i]
        waves.append(wave)
        labels.append(str(meta["label"]))
        tracks.append(meta["track_id"])
        lengths.append(min(int(wave.shape[-1]), int(round(float(meta["duration_s"]) * dataset.sample_rate))))
    return SegmentStack(torch.stack(waves), labels, tracks, lengths)


def _timed(fn, batches) -> tuple[list, float]:
    import torch

    outs = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            outs.append(fn(b))
    return outs, time.perf_counter() - t0


def evaluate_model(model, waves, sample_rate: int, batch_size: int = 4) -> dict[str, float]:
    """Reconstruction metrics (mean over segments) and encode/decode speed (x real time)."""
    import torch

    model.eval()
    batches = list(torch.split(waves, batch_size))
    with torch.no_grad():  # warm-up (allocator, weight-norm caches)
        model.decode(model.encode(batches[0][:1]), length=waves.shape[-1])
    latents, enc_s = _timed(model.encode, batches)
    recon, dec_s = _timed(lambda z: model.decode(z, length=waves.shape[-1]), latents)
    seconds = waves.shape[0] * waves.shape[-1] / sample_rate
    out = _metrics(waves, torch.cat(recon), sample_rate)
    out.update(enc_xrt=seconds / enc_s, dec_xrt=seconds / dec_s)
    return out


def track_vectors(encode, waves, tracks: list[str], batch_size: int = 8, pooling: str = DEFAULT_POOLING,
                  view=None) -> tuple[np.ndarray, list[str]]:
    """Pooled vector per track: ``pooling`` (default: the analyses' default) of each track's segment
    latents read under the model's latent ``view``."""
    import torch

    from musiclatent.latents.pooling import pool_track

    with torch.no_grad():
        lat = torch.cat([encode(b) for b in torch.split(waves, batch_size)]).numpy()
    order = list(dict.fromkeys(tracks))
    idx = {t: [i for i, x in enumerate(tracks) if x == t] for t in order}
    return np.stack([pool_track(lat[idx[t]], pooling, view) for t in order]), order


PROBE_REPEATS = 5
"""Shuffles of the probe's folds the benchmark averages over (the ``probe`` analysis's default)."""


def probe_accuracy(X: np.ndarray, y: np.ndarray, seed: int = 0, groups=None,
                   repeats: int = PROBE_REPEATS) -> tuple[float, float]:
    """Cross-validated logistic-regression accuracy (the ``probe`` analysis's own procedure, 5 folds
    repeated over ``repeats`` shuffles): ``(mean accuracy, std of the accuracy over every fold)``;
    ``groups`` makes the folds grouped (stratified group k-fold)."""
    from musiclatent.analyses.probe import repeated_cv

    cv = repeated_cv(X, np.asarray(y), folds=5, seed=seed, repeats=repeats, groups=groups)
    return cv["accuracy"], cv["fold_std"]


def mfcc_vectors(segments: SegmentStack, sample_rate: int, delta: bool = False) -> np.ndarray:
    """The probe's MFCC baseline, as the ``probe`` analysis computes it: MFCC mean+std (``delta``:
    plus the std of the frame-to-frame difference) over each whole track, in order of first
    appearance, its segments joined back without the last one's padding."""
    from musiclatent.analyses.features import mfcc_vector

    order = list(dict.fromkeys(segments.tracks))
    parts: dict[str, list[np.ndarray]] = {t: [] for t in order}
    for wave, track, n in zip(segments.waves, segments.tracks, segments.lengths, strict=True):
        parts[track].append(wave[0, :n].numpy())
    return np.stack([mfcc_vector(np.concatenate(parts[t]), sample_rate, delta=delta) for t in order])


def nominal_scale(model, sample_rate: int = DEFAULT_SAMPLE_RATE) -> float:
    """Encoding scale on a long input (a multiple of the hop, or one hour), free of padding effects."""
    hop = int(getattr(model, "hop", 1) or 1)
    return float(model.encoding_scale(hop * 100_000 if hop > 1 else sample_rate * 3600))


def _family(name: str) -> str:
    return name.rstrip("0123456789") or name


def run_quality(out_dir: str | Path, models: tuple[str, ...] | list[str] = DEFAULT_MODELS, budget_s: float = 120.0,
                tracks_per_genre: int = 6, seconds: float = 10.0, segment_seconds: float = 5.0, seed: int = 0,
                epochs: int | None = None, opus: bool = True, encodec: bool = True, charts: bool = True,
                progress: bool = True, corpus: str | Path | None = None, labels_csv: str | Path | None = None,
                group_by: str | None = None, spectrograms: bool | None = None) -> QualityResult:
    """Train each of ``models`` for ``budget_s`` seconds on a synthetic corpus and evaluate them.

    The corpus (``tracks_per_genre`` x 10 genres x ``seconds``) is synthesised into
    ``out_dir/corpus`` (kept and reused), models train into ``out_dir/runs/<model>`` (replaced on a
    re-run) with their own
    recipe (``epochs`` overrides the recipe's epoch count), and the best-validation checkpoint of each
    is evaluated on the test split. ``corpus`` uses an existing corpus folder instead (nothing is
    synthesised), labelled by its folders or by ``labels_csv`` (default ``corpus/labels.csv`` when
    it exists; its ``split`` column, when present, decides the held-out tracks). The probe's folds
    are grouped by ``group_by`` (a labels-CSV column; default ``source_track`` when the CSV has it),
    so excerpts of one source track are never on both sides. ``spectrograms`` (default: with
    ``charts``) writes ``spectrogram_<model>.png``: a held-out segment beside its decoding.
    """
    import pandas as pd
    import torch

    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.corpus.dataset import SegmentDataset
    from musiclatent.corpus.errors import CorpusError
    from musiclatent.corpus.synth import synthesize_corpus
    from musiclatent.plugins import get_registry
    from musiclatent.quality import references as refs
    from musiclatent.training.trainer import train
    from musiclatent.workspace import Workspace, load_manifest

    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    registry = get_registry()
    for name in models:
        registry.architecture(name)  # unknown names fail before any work
    sr = DEFAULT_SAMPLE_RATE
    if corpus is None:
        corpus = out / "corpus"
        synthesize_corpus(corpus, tracks_per_genre=tracks_per_genre, seconds=seconds, seed=seed, progress=progress)
    corpus = Path(corpus).expanduser().resolve()
    if labels_csv is None and (corpus / "labels.csv").is_file():
        labels_csv = corpus / "labels.csv"
    if group_by is None and labels_csv is not None and _csv_has_column(labels_csv, "source_track"):
        group_by = "source_track"
    ws = Workspace.open(out / "ws")
    manifest = load_manifest(ws, corpus, labels_csv=labels_csv, sample_rate=sr, progress=False)
    if manifest.tracks.empty or (manifest.tracks["split"] == "test").sum() == 0:
        raise CorpusError(f"{corpus}: no held-out (test) track to score; the corpus needs at least 3 tracks")
    test = SegmentDataset(manifest, split="test", sample_rate=sr, segment_seconds=segment_seconds,
                          cache_dir=ws.cache_dir)
    every = _stack(SegmentDataset(manifest, split=None, sample_rate=sr, segment_seconds=segment_seconds,
                                  cache_dir=ws.cache_dir))
    test_waves = _stack(test).waves
    all_waves, all_labels, all_tracks = every.waves, every.labels, every.tracks
    track_label = dict(zip(all_tracks, all_labels, strict=True))
    labels = np.array([track_label[t] for t in dict.fromkeys(all_tracks)])
    groups = _groups(manifest, list(dict.fromkeys(all_tracks)), labels_csv, group_by) if group_by else None
    spectrograms = charts if spectrograms is None else spectrograms
    shown = _shown_segment(test, test_waves) if spectrograms else None

    rows: list[dict[str, Any]] = []
    scales: set[int] = set()
    for name in models:
        result = train(name, workspace=ws, data=corpus, out_dir=out / "runs" / name, epochs=epochs,
                       segment_seconds=segment_seconds, seed=seed, time_budget_s=budget_s, progress=progress,
                       charts=False, overwrite=True)  # a benchmark re-run measures afresh
        model, _meta = load_checkpoint(result.best_checkpoint)
        scale = nominal_scale(model, sr)
        scales.add(int(round(scale)))
        X, _ = track_vectors(model.encode, all_waves, all_tracks, view=getattr(model, "latent_view", None))
        acc, acc_std = probe_accuracy(X, labels, seed, groups)
        if shown is not None:
            spectrogram_png(model, shown, sr, out, name)
        rows.append(_row(name=name, family=_family(name), kind="model", compression=f"1/{scale:.4g}",
                         kbps=kbps_of(scale, sr), **evaluate_model(model, test_waves, sr),
                         probe_acc=acc, probe_std=acc_std,
                         params=int(sum(p.numel() for p in model.parameters())),
                         epochs=result.epochs_completed, train_s=result.seconds,
                         note=f"best of {result.epochs_completed} epochs ({result.status})"))
        del model

    mfcc, mfcc_std = probe_accuracy(mfcc_vectors(every, sr), labels, seed, groups)
    rows.append(_row(name="mfcc", family="mfcc", kind="reference", probe_acc=mfcc, probe_std=mfcc_std,
                     note="probe baseline: MFCC mean+std (40 values per track)"))
    mfcc, mfcc_std = probe_accuracy(mfcc_vectors(every, sr, delta=True), labels, seed, groups)
    rows.append(_row(name="mfcc_delta", family="mfcc", kind="reference", probe_acc=mfcc, probe_std=mfcc_std,
                     note="MFCC mean+std+delta std (60 values: the statistics of the default pooling)"))
    ffmpeg = refs.ffmpeg_opus_available() if opus else None
    for scale in sorted(scales | set(REFERENCE_SCALES)):
        rec = refs.resample_codec(test_waves, scale)
        rows.append(_row(name=f"resample{scale}", family="resample", kind="reference", compression=f"1/{scale}",
                         kbps=kbps_of(scale, sr), **_metrics(test_waves, rec, sr),
                         note=f"resample to {sr / scale:g} Hz and back"))
        if ffmpeg:
            wanted = kbps_of(scale, sr)
            dec, measured = refs.opus_roundtrip(test_waves, wanted, sr, ffmpeg)
            used = refs.opus_bitrate(wanted)
            floor = " (Opus's floor is 6 kbit/s)" if used > wanted else ""
            rows.append(_row(name=f"opus{scale}", family="opus", kind="reference", compression=f"~1/{scale}",
                             kbps=measured, **_metrics(test_waves, dec, sr),
                             note=f"libopus -b:a {used:g}k for {wanted:.3g} kbit/s{floor}; kbps measured"))
    speed = refs.encodec_encode_speed(test_waves, sr) if encodec else None
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if speed:
        mask = table["kind"] == "model"
        table.loc[mask, "enc_vs_encodec"] = table.loc[mask, "enc_xrt"] / speed["enc_xrt"]
        table.loc[len(table)] = _row(name="encodec24", family="encodec", kind="reference", enc_xrt=speed["enc_xrt"],
                                     enc_vs_encodec=1.0, params=int(speed["params"]),
                                     note="EnCodec 24 kHz encoder network only, random weights")
    info = {"models": list(models), "corpus": str(corpus), "budget_s": budget_s, "tracks_per_genre": tracks_per_genre, "seconds": seconds,
            "segment_seconds": segment_seconds, "seed": seed, "test_segments": int(test_waves.shape[0]),
            "tracks": int(len(labels)), "torch_threads": torch.get_num_threads(), "opus": bool(ffmpeg),
            "encodec": speed, "labels_csv": str(labels_csv) if labels_csv else None, "probe_grouped_by": group_by,
            "probe_groups": int(len(set(groups))) if groups is not None else None,
            "test_tracks": int((manifest.tracks["split"] == "test").sum()),
            "spectrogram_segment": shown[1] if shown is not None else None,
            "mel_dac": "DAC MelSpectrogramLoss: L1 of log10 mel, summed over 7 scales " + str(DAC_MEL_SCALES),
            "mel": "L1 of log10 mel, n_fft 1024, 80 mels (one scale)"}
    files = write_outputs(table, out, info, charts=charts)
    return QualityResult(table=table, out_dir=out, files=files, info=info)


def _csv_has_column(csv_path, column: str) -> bool:
    import csv

    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    return column in [h.strip().lower() for h in header]


def _groups(manifest, track_ids: list[str], labels_csv, column: str) -> np.ndarray:
    """Each track's ``column`` value from the labels CSV (a track without one is its own group)."""
    from musiclatent.corpus.discover import read_csv_column

    if labels_csv is None:
        from musiclatent.corpus.errors import CorpusError

        raise CorpusError(f"--group-by {column}: needs a labels CSV with that column")
    by_path = read_csv_column(labels_csv, column)
    path_of = dict(zip(manifest.tracks["track_id"], manifest.tracks["path"], strict=True))
    return np.array([by_path.get(path_of[t], by_path.get(t, t)) for t in track_ids], dtype=object)


def _shown_segment(dataset, waves) -> tuple[Any, str] | None:
    """The held-out segment drawn in the spectrogram pictures: the loudest of the first test track."""
    if not len(dataset):
        return None
    first = dataset[0][2]["track_id"]
    idx = [i for i in range(len(dataset)) if dataset[i][2]["track_id"] == first]
    best = max(idx, key=lambda i: float(waves[i].pow(2).mean()))
    meta = dataset[best][2]
    return waves[best:best + 1], f"{meta['track_id']} from {float(meta['start_s']):g} s"


def spectrogram_png(model, shown: tuple[Any, str], sample_rate: int, out: Path, name: str) -> Path:
    """``out/spectrogram_<name>.png``: linear spectrogram of the held-out segment and of its decoding
    (dB quantised to 12 colours over the reference's range, so the PNG stays small)."""
    import torch

    from musiclatent.analyses.features import spectrogram_frame
    from musiclatent.charts import alt, save_chart

    wave, label = shown
    with torch.no_grad():
        decoded = model.decode(model.encode(wave), length=wave.shape[-1])
    a = alt()
    frames = {which: spectrogram_frame(w.reshape(-1).numpy(), sample_rate, "linear", n_mels=80, max_frames=120)
              for which, w in (("reference", wave), (f"decoded by {name}", decoded))}
    ref_db = frames["reference"]["db"]
    lo, hi = float(ref_db.quantile(0.02)), float(ref_db.max())
    scale = a.Scale(scheme="magma", type="quantize", domain=[lo, hi], nice=False, zero=False)
    panels = [a.Chart(frame, title=which).mark_rect(strokeWidth=1.5).encode(  # stroke closes the seams
        x=a.X("time_s:Q", title="time (s)"), x2="time_end:Q",
        y=a.Y("freq_hz:Q", title="frequency (Hz)"), y2="freq_end:Q",
        color=a.Color("db:Q", title="dB", scale=scale), stroke=a.Stroke("db:Q", scale=scale, legend=None),
    ).properties(width=280, height=140) for which, frame in frames.items()]
    chart = a.hconcat(*panels).properties(title=f"{label}: reference vs {name}").configure_view(strokeWidth=0)
    return save_chart(chart, out, f"spectrogram_{name}", formats=("png",), scale=1.0)["png"]


def format_table(table) -> str:
    """The table as Markdown (numbers rounded, empty cells blank)."""
    shown = table.drop(columns=["note"]).copy()
    for col in shown.columns:
        if shown[col].dtype.kind == "f" or col in ("si_sdr", "mrstft", "mel", "mel_dac", "kbps", "probe_acc",
                                                    "probe_std", "enc_xrt",
                                                    "dec_xrt", "enc_vs_encodec", "train_s"):
            shown[col] = [("" if v is None or v != v else f"{float(v):.3g}") for v in shown[col]]
    shown = shown.fillna("").astype(str).replace({"None": "", "nan": ""})
    head = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(r) + " |" for r in shown.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def rate_distortion_chart(table):
    """kbit/s (log) vs each reconstruction metric, one panel per metric, coloured by family."""
    from musiclatent.charts import alt

    a = alt()
    data = table[table["kbps"].notna()].melt(id_vars=["name", "family", "kind", "kbps", "compression"],
                                            value_vars=list(METRICS), var_name="metric", value_name="value")
    data = data[data["value"].notna()].astype({"value": float, "kbps": float})
    return a.Chart(data).mark_line(point=True).encode(
        x=a.X("kbps:Q", scale=a.Scale(type="log"), title="kbit/s (latent values/s x 16 bits)"),
        y=a.Y("value:Q", title=None),
        color=a.Color("family:N", title="model"),
        strokeDash=a.StrokeDash("kind:N", title="kind"),
        tooltip=["name", "compression", a.Tooltip("kbps:Q", format=".3g"), "metric", a.Tooltip("value:Q", format=".3g")],
    ).properties(width=260, height=220).facet(
        column=a.Column("metric:N", title="SI-SDR dB (higher better) | MR-STFT, mel distance (lower better)"),
    ).resolve_scale(y="independent").properties(title="Rate-distortion after the same training budget")


def write_outputs(table, out: Path, info: dict[str, Any], charts: bool = True) -> dict[str, Path]:
    """``quality.csv``, ``quality.md``, ``quality.json`` and the chart, written atomically."""
    import json

    from musiclatent.fileio import atomic_write_text, inside

    files = {"csv": inside(out, "quality.csv"), "md": inside(out, "quality.md"), "json": inside(out, "quality.json")}
    atomic_write_text(files["csv"], table.to_csv(index=False))
    atomic_write_text(files["md"], format_table(table) + "\n")
    records = json.loads(table.to_json(orient="records"))
    atomic_write_text(files["json"], json.dumps({"info": info, "rows": records}, indent=2, default=str))
    if charts:
        from musiclatent.charts import save_chart

        for fmt, path in save_chart(rate_distortion_chart(table), out, "rate_distortion").items():
            files[f"chart_{fmt}"] = path
    return files


__all__ = ["COLUMNS", "DEFAULT_MODELS", "QualityResult", "evaluate_model", "format_table", "kbps_of",
           "probe_accuracy", "rate_distortion_chart", "run_quality", "track_vectors"]
