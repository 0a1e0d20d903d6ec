"""``musiclatent corpus scan`` and ``musiclatent corpus synth``."""

from __future__ import annotations

import json

import click

from musiclatent.cli.common import workspace
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE


@click.group()
def corpus():
    """Scan a music folder into the workspace manifest, or synthesize a test corpus."""


def _minutes(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


@corpus.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--labels", "labels_csv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CSV with columns path,label (paths relative to PATH) giving each track's label.")
@click.option("--sample-rate", type=click.IntRange(min=1000), default=DEFAULT_SAMPLE_RATE, show_default=True,
              help="Sample rate the audio is resampled to for training and encoding.")
@click.option("--quick", is_flag=True,
              help="Only read file headers (fast); do not decode files to catch damaged data.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the train/validation/test split.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Files read in parallel (default: up to 4).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, hidden=True,
              help="Deprecated spelling of --workers.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and problems as JSON.")
@click.pass_context
def scan(ctx, path, labels_csv, sample_rate, quick, seed, workers, jobs, as_json):
    """Scan PATH (a folder, GTZAN layout or any layout, or one audio file) into the workspace.

    Prints tracks per label, total duration, sample rates and channels seen, split sizes and
    every problem file with its reason. Problem files are skipped, never fatal.
    """
    from musiclatent import api

    if jobs is not None:
        click.echo("warning: --jobs is deprecated, use --workers (the same number of parallel readers)", err=True)
        if workers is not None and workers != jobs:
            raise click.UsageError(f"--jobs {jobs} and --workers {workers} disagree; pass only --workers")
        workers = jobs
    ws = workspace(ctx)
    manifest = api.scan(path, labels=labels_csv, sample_rate=sample_rate, seed=seed, quick=quick, workers=workers,
                        workspace=ws, progress=not as_json, log=lambda line: click.echo(line, err=True))
    summary = manifest.summary()
    problems = manifest.problems.to_dict("records")
    if as_json:
        click.echo(json.dumps({**summary, "manifest": str(ws.manifest_path), "problem_files": problems},
                              indent=2, ensure_ascii=False))
        return
    click.secho(f"Corpus {summary['root']}", bold=True)
    click.echo(f"  {summary['tracks']} tracks, {_minutes(summary['total_duration_s'])} of audio, "
               f"{summary['problems']} problem(s)")
    click.echo("  tracks per label: " + ", ".join(f"{k} {v}" for k, v in summary["tracks_per_label"].items()))
    click.echo("  splits: " + ", ".join(f"{k} {v}" for k, v in summary["splits"].items()))
    click.echo("  sample rates: " + ", ".join(f"{k} Hz x{v}" for k, v in summary["sample_rates"].items())
               + f" (resampled to {sample_rate} Hz)")
    click.echo("  channels: " + ", ".join(f"{k} x{v}" for k, v in summary["channels"].items())
               + " (downmixed to mono)")
    if problems:
        click.secho(f"Problems ({len(problems)}):", fg="yellow", bold=True)
        for p in problems:
            click.echo(f"  {p['path']}: {p['reason']}")
    click.echo(f"Manifest written to {ws.manifest_path}")


@corpus.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--tracks-per-genre", type=click.IntRange(min=1), default=10, show_default=True,
              help="Tracks synthesized for each genre.")
@click.option("--seconds", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Length of each track in seconds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same audio).")
@click.option("--sample-rate", type=click.IntRange(min=8000), default=DEFAULT_SAMPLE_RATE, show_default=True,
              help="Sample rate of the written WAV files.")
def synth(out, tracks_per_genre, seconds, seed, sample_rate):
    """Write a small GTZAN-shaped synthetic corpus (OUT/genres/<genre>/<genre>.000NN.wav)."""
    from musiclatent import api

    paths = api.synth(out, tracks_per_genre=tracks_per_genre, seconds=seconds, seed=seed, sample_rate=sample_rate)
    click.echo(f"Wrote {len(paths)} tracks to {out}; next: musiclatent corpus scan {out}")
