"""Charts of a training run: the loss curve and the reference segment's reconstruction by epoch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE

MAX_PANELS = 8  # epochs shown in the reconstruction chart besides the original
MAX_FRAMES = 100  # time columns per spectrogram panel (keeps the HTML small)
N_MELS = 40


def loss_chart(history: list[dict[str, Any]], title: str = "Loss per epoch"):
    """Train and validation loss per epoch (log scale)."""
    from musiclatent.charts import alt

    altair = alt()
    rows = [{"epoch": r["epoch"], "split": split, "loss": r[key]}
            for r in history for split, key in (("train", "train_loss"), ("validation", "val_loss"))
            if r.get(key) is not None and np.isfinite(r[key]) and r[key] > 0]
    df = pd.DataFrame(rows, columns=["epoch", "split", "loss"])
    epochs = sorted(set(df["epoch"]))
    axis = (altair.Axis(values=epochs, format="d") if len(epochs) <= 20
            else altair.Axis(tickMinStep=1, format="d"))
    return altair.Chart(df, title=title).mark_line(point=True).encode(
        x=altair.X("epoch:Q", title="epoch", axis=axis),
        y=altair.Y("loss:Q", title="loss", scale=altair.Scale(type="log")),
        color=altair.Color("split:N", title=None),
        tooltip=["epoch:Q", "split:N", altair.Tooltip("loss:Q", format=".5g")],
    ).properties(width=480, height=280)


def _panel_epochs(epochs: list[int], max_panels: int = MAX_PANELS) -> list[int]:
    if len(epochs) <= max_panels:
        return epochs
    picks = np.linspace(0, len(epochs) - 1, max_panels).round().astype(int)
    return [epochs[i] for i in sorted(set(picks.tolist()))]


def _mel_rows(wave: np.ndarray, sample_rate: int, panel: str, order: int) -> list[dict[str, Any]]:
    import torch

    from musiclatent.metrics.audio import log_mel

    mel = log_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), sample_rate, N_MELS)[0].numpy()
    frames = mel.shape[1]
    step = max(1, int(np.ceil(frames / MAX_FRAMES)))
    cols = frames // step if frames >= step else 1
    pooled = mel[:, : cols * step].reshape(N_MELS, cols, step).mean(-1) if frames >= step else mel
    db = 20 * pooled  # log10 magnitude -> dB
    hop_s = step * 256 / sample_rate  # log_mel's hop is n_fft // 4 = 256
    return [{"panel": panel, "order": order, "t": round(c * hop_s, 3), "mel": m, "db": float(db[m, c])}
            for m in range(N_MELS) for c in range(pooled.shape[1])]


def reconstruction_chart(recon_dir: str | Path, sample_rate: int, max_panels: int = MAX_PANELS):
    """Log-mel spectrograms of ``recon/original.npy`` and of up to ``max_panels`` epochs' reconstructions.

    Returns ``None`` when there is nothing to draw.
    """
    from musiclatent.charts import alt

    recon_dir = Path(recon_dir)
    files = {int(p.stem.split("_")[1]): p for p in recon_dir.glob("epoch_*.npy")}
    if not files:
        return None
    rows: list[dict[str, Any]] = []
    original = recon_dir / "original.npy"
    if original.exists():
        rows += _mel_rows(np.load(original), sample_rate, "original", 0)
    for epoch in _panel_epochs(sorted(files), max_panels):
        rows += _mel_rows(np.load(files[epoch]), sample_rate, f"epoch {epoch}", epoch)
    df = pd.DataFrame(rows)
    altair = alt()
    order = list(dict.fromkeys(df.sort_values("order")["panel"]))
    return altair.Chart(df, title="Reconstruction of the reference segment by epoch (log-mel, dB)").mark_rect(strokeWidth=0).encode(
        x=altair.X("t:O", title="time", scale=altair.Scale(paddingInner=0),
                   axis=altair.Axis(labels=False, ticks=False, grid=False)),
        y=altair.Y("mel:O", title="mel band", sort="descending", scale=altair.Scale(paddingInner=0),
                   axis=altair.Axis(labels=False, ticks=False, grid=False)),
        color=altair.Color("db:Q", title="dB", scale=altair.Scale(scheme="magma")),
        facet=altair.Facet("panel:N", title=None, sort=order, columns=3),
    ).properties(width=220, height=90)


def write_run_charts(run_dir: str | Path, sample_rate: int | None = None,
                     history: list[dict[str, Any]] | None = None) -> dict[str, Path]:
    """(Re)write ``loss_curve`` and ``reconstruction`` charts (HTML + PNG) into ``run_dir``."""
    from musiclatent.charts import save_chart
    from musiclatent.training.state import MetricsLog

    run_dir = Path(run_dir)
    if history is None:
        history = MetricsLog(run_dir / "metrics.jsonl").read()
    if sample_rate is None:
        try:
            sample_rate = int(json.loads((run_dir / "run.json").read_text())["data"]["sample_rate"])
        except (OSError, KeyError, ValueError):
            sample_rate = DEFAULT_SAMPLE_RATE
    written: dict[str, Path] = {}
    if history:
        written.update({f"loss_curve.{k}": v for k, v in save_chart(loss_chart(history), run_dir, "loss_curve").items()})
    chart = reconstruction_chart(run_dir / "recon", sample_rate)
    if chart is not None:
        written.update({f"reconstruction.{k}": v for k, v in save_chart(chart, run_dir, "reconstruction").items()})
    return written
