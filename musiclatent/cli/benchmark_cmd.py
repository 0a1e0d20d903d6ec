"""``musiclatent benchmark``: benchmarks that train and measure models (``quality`` for now)."""

from __future__ import annotations

import click

from musiclatent.cli.common import workspace

DEFAULT_MODELS = "alt5,wave12,wave48,wave192,mel12,mel48,mel192"  # musiclatent.quality.benchmark.DEFAULT_MODELS


@click.group()
def benchmark():
    """Benchmarks: train models under the same budget and measure them."""


@benchmark.command()
@click.option("--models", default=DEFAULT_MODELS, show_default=True,
              help="Comma-separated registered model names to train and compare.")
@click.option("--budget-s", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Wall-clock training budget per model, in seconds.")
@click.option("--tracks-per-genre", type=click.IntRange(min=2), default=6, show_default=True,
              help="Synthetic corpus size: tracks per genre (10 genres).")
@click.option("--seconds", type=click.FloatRange(min=1), default=10.0, show_default=True,
              help="Length of each synthetic track in seconds.")
@click.option("--segment-seconds", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Segment length used for training and evaluation.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Override every recipe's epoch count (default: each model's recipe; the budget still applies).")
@click.option("--seed", type=int, default=0, show_default=True, help="Corpus, split and training seed.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="torch CPU threads (default: torch's choice).")
@click.option("--opus/--no-opus", default=True, show_default=True,
              help="Add Opus reference rows (needs ffmpeg with libopus).")
@click.option("--encodec/--no-encodec", default=True, show_default=True,
              help="Time EnCodec 24 kHz's encoder (needs `pip install encodec`; random weights, no download).")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False), default=None,
              help="Run on this corpus folder (e.g. the dev corpus of benchmarks/devcorpus.py) instead of "
                   "synthesising one; --tracks-per-genre/--seconds are then unused.")
@click.option("--labels", "labels_csv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Labels CSV of --corpus (path,label[,split][,source_track]; default: CORPUS/labels.csv "
                   "when it exists). Its split column decides the held-out tracks.")
@click.option("--group-by", default=None,
              help="Labels-CSV column grouping the probe's folds (default: source_track when the CSV has it).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: <workspace>/benchmarks/quality).")
@click.pass_context
def quality(ctx, models, budget_s, tracks_per_genre, seconds, segment_seconds, epochs, seed, threads, opus,
            encodec, corpus, labels_csv, group_by, out):
    """Train each model for the same budget on a corpus; print a rate-distortion table.

    The corpus is synthetic unless --corpus names a folder. Columns: SI-SDR, MR-STFT, mel distance
    (one scale) and DAC's mel distance (sum over 7 scales) on the test split, genre probe accuracy
    and its spread over folds (vs an MFCC baseline), encode/decode speed in x real time; reference
    rows: the resampling codec of the same size, Opus at the nearest bitrate, EnCodec's encoder
    speed. Writes spectrogram_<model>.png: a held-out segment beside its decoding.
    """
    import torch

    from musiclatent.quality.benchmark import format_table, run_quality

    if threads:
        torch.set_num_threads(threads)
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise click.BadParameter("give at least one model", param_hint="--models")
    folder = out or (workspace(ctx).root / "benchmarks" / "quality")
    result = run_quality(folder, models=names, budget_s=budget_s, tracks_per_genre=tracks_per_genre,
                         seconds=seconds, segment_seconds=segment_seconds, seed=seed, epochs=epochs, opus=opus,
                         encodec=encodec, corpus=corpus, labels_csv=labels_csv, group_by=group_by)
    click.echo(format_table(result.table))
    for row in result.table.itertuples(index=False):
        if row.note and row.kind == "reference":
            click.echo(f"  {row.name}: {row.note}")
    click.echo(f"wrote {', '.join(str(p) for p in result.files.values())}")
