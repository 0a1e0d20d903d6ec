"""``musiclatent encode``, ``decode``, ``evaluate`` and ``latents info``: thin wrappers over
``musiclatent.api`` (and ``musiclatent.latents`` for reading tables)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from musiclatent.cli.common import device_option, workspace

PRETRAINED_HELP = ("Use the weights shipped with musiclatent for --model (no training needed; "
                   "`musiclatent models` lists which have them).")


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _choose(ws, model: str | None, checkpoint: str | None, pretrained: bool = False):
    """The checkpoint to use (``musiclatent.api.choose_checkpoint``); says on stderr which it is."""
    from musiclatent import api

    if pretrained and (model is None or checkpoint is not None):
        raise click.UsageError("--pretrained needs --model NAME and no --checkpoint")
    if not pretrained and checkpoint is None and model is None:
        raise click.UsageError("pass --model NAME (its best checkpoint in the workspace) or --checkpoint PATH")
    return api.choose_checkpoint(model, checkpoint, pretrained=pretrained, workspace=ws, log=_stderr)


@click.command()
@click.option("--model", "-m", default=None, help="Model name; its best checkpoint in the workspace is used.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint file (default: best.safetensors of the newest runs/<model>/run-NNN with one).")
@click.option("--pretrained", is_flag=True, help=PRETRAINED_HELP)
@click.option("--data", type=click.Path(exists=True), default=None,
              help="Corpus folder (default: the corpus the workspace remembers).")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Table to write (default: latents/<model>.parquet in the workspace).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Segments per inference batch.")
@click.option("--segment-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Segment length (default: the length the checkpoint was trained on, else 5 s).")
@device_option
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="DataLoader processes reading and decoding audio while the model runs.")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue an interrupted encode of the same table (skips finished tracks).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this machine; ray: a Ray Data actor pool (needs musiclatent[ray]), "
                   "writes a folder of part files.")
@click.option("--ray-address", default=None,
              help="Ray cluster to join: auto (the one `ray start` put this node in), head:6379, "
                   "ray://head:10001; default: $RAY_ADDRESS, else a new local Ray. --engine ray only.")
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True,
              help="Model actors in the Ray pool. --engine ray only.")
@click.option("--num-gpus", type=click.FloatRange(min=0), default=None,
              help="GPUs per Ray actor (default: 1 when the cluster has GPUs, else 0). --engine ray only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def encode(ctx, model, checkpoint, pretrained, data, out, batch_size, segment_seconds, device, workers, resume, engine,
           ray_address, concurrency, num_gpus, quiet):
    """Encode every track of the corpus into a Parquet latent table (one row per segment)."""
    from musiclatent import api

    ws = workspace(ctx)
    chosen = _choose(ws, model, checkpoint, pretrained)
    options = {"device": device, "workers": workers} if engine == "local" else {
        "concurrency": concurrency, "num_gpus": num_gpus, "address": ray_address}
    table = api.encode(checkpoint=chosen, data=data, out=out, workspace=ws, engine=engine, batch_size=batch_size,
                       segment_seconds=segment_seconds, resume=resume, progress=not quiet, log=_stderr, **options)
    path = table.path
    problems = table.problems
    click.echo(f"wrote {path}: {table.num_rows} segments of {len(table.track_ids())} tracks, "
               f"latent {table.latent_shape[0]}x{table.latent_shape[1]}"
               + (f"; {len(problems)} files skipped (see `musiclatent latents info`)" if problems else ""))


@click.command()
@click.argument("table", required=False, type=click.Path(exists=True))
@click.option("--track", "track_id", default=None, help="Track id to rebuild from its segment rows.")
@click.option("--latent", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A .npy latent ([C,T'], [S,C,T'] or flattened) to decode with the table's model.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="WAV file to write.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Folder for a WAV named after the track/latent when --out is not given "
                   "(default: decoded/ in the workspace).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to use instead of the one named in the table (must have the same sha256).")
@device_option
@click.pass_context
def decode(ctx, table, track_id, latent, out, out_dir, checkpoint, device):
    """Decode a track of TABLE (default: the workspace's latest table), or a .npy latent, to WAV."""
    from musiclatent import api
    from musiclatent.fileio import inside, safe_name

    if (track_id is None) == (latent is None):
        raise click.UsageError("pass exactly one of --track ID or --latent FILE.npy")
    ws = workspace(ctx)
    stem = track_id if track_id is not None else Path(latent).stem
    if out:
        target = Path(out).expanduser()
    else:
        target = inside(Path(out_dir).expanduser() if out_dir else ws.root / "decoded", safe_name(stem) + ".wav")
    wave, sr = api.decode(track_id, latent=latent, table=table, out=target, checkpoint=checkpoint, device=device,
                          workspace=ws, log=_stderr)
    click.echo(f"wrote {target} ({len(wave) / sr:.2f} s at {sr} Hz)")


@click.command()
@click.option("--model", "-m", default=None, help="Model name; its best checkpoint in the workspace is used.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to evaluate (default: best.safetensors of the newest run of --model).")
@click.option("--pretrained", is_flag=True, help=PRETRAINED_HELP)
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Previous checkpoint to compare with (default: last.safetensors beside best, if it differs).")
@click.option("--data", type=click.Path(exists=True), default=None,
              help="Corpus folder (default: the corpus the workspace remembers).")
@click.option("--split", type=click.Choice(["train", "validation", "test", "all"]), default="test",
              show_default=True, help="Tracks to measure.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: eval/ beside the checkpoint; with --pretrained, "
                   "runs/<model>/pretrained-eval in the workspace).")
@click.option("--segment-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Segment length (default: the length the checkpoint was trained on).")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True, help="Segments per batch.")
@click.option("--max-tracks", type=click.IntRange(min=1), default=None, help="Measure only the first N tracks.")
@device_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def evaluate(ctx, model, checkpoint, pretrained, baseline, data, split, out, segment_seconds, batch_size, max_tracks,
             device, quiet):
    """Measure reconstruction (SI-SDR, MR-STFT, log-mel) beside a same-size resampling codec."""
    from musiclatent import api
    from musiclatent.latents.evaluate import summarize, write_evaluation

    ws = workspace(ctx)
    chosen = _choose(ws, model, checkpoint, pretrained)
    df = api.evaluate(checkpoint=chosen, data=data, split=None if split == "all" else split, workspace=ws,
                      baseline=baseline, segment_seconds=segment_seconds, device=device, batch_size=batch_size,
                      max_tracks=max_tracks, progress=not quiet, log=_stderr)
    folder = Path(out).expanduser() if out else api.evaluation_folder(chosen, ws)
    paths = write_evaluation(df, folder)
    summary, verdict = summarize(df)
    overall = summary[summary["label"] == "all"]
    click.echo(overall[["name", "tracks", "si_sdr", "mrstft", "mel"]].to_string(index=False, float_format="%.3f"))
    for p in df.attrs.get("problems", []):
        click.echo(f"skipped {p['path']}: {p['reason']}", err=True)
    if verdict.get("flag"):
        click.secho(f"WARNING: {chosen.name}: {verdict['flag']}", fg="yellow", err=True)
    click.echo(f"wrote {paths['summary_csv'].parent}")


@click.group()
def latents():
    """Inspect latent tables."""


@latents.command("info")
@click.argument("table", required=False, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def info(ctx, table, as_json):
    """Metadata, row and track counts, labels, latent shape and problems of TABLE (default: latest)."""
    from musiclatent.latents.table import LatentTable

    lt = LatentTable.open(table or workspace(ctx).latest_table())
    tracks = lt.tracks()
    labels = tracks["label"].fillna("(unlabelled)").value_counts().sort_index()
    splits = tracks["split"].value_counts().sort_index()
    doc = {"table": str(lt.path), "rows": lt.num_rows, "tracks": len(tracks),
           "latent_shape": list(lt.latent_shape), "labels": {str(k): int(v) for k, v in labels.items()},
           "splits": {str(k): int(v) for k, v in splits.items()}, "metadata": lt.metadata}
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    meta = lt.metadata
    c, t = lt.latent_shape
    click.echo(f"table        {lt.path}")
    click.echo(f"model        {meta.get('model')} ({meta.get('arch', meta.get('model'))}), "
               f"checkpoint {meta.get('checkpoint')} sha256 {str(meta.get('checkpoint_sha256'))[:12]}")
    click.echo(f"latent       {c} x {t} = {c * t} values per segment of {meta.get('segment_seconds')} s "
               f"at {meta.get('sample_rate')} Hz")
    click.echo(f"rows         {doc['rows']} segments, {doc['tracks']} tracks")
    click.echo("splits       " + ", ".join(f"{k} {v}" for k, v in doc["splits"].items()))
    click.echo("labels       " + ", ".join(f"{k} {v}" for k, v in doc["labels"].items()))
    click.echo(f"corpus       {meta.get('corpus_root')}")
    click.echo(f"created      {meta.get('created')} by musiclatent {meta.get('musiclatent_version')} "
               f"(format {meta.get('format_version')})")
    problems = lt.problems
    click.echo(f"problems     {len(problems)}")
    for p in problems:
        click.echo(f"  {p['path']}: {p['reason']}")


@latents.command("validate")
@click.argument("table", required=False, type=click.Path(exists=True))
@click.pass_context
def validate(ctx, table):
    """Read every file of TABLE and check its schema and metadata."""
    from musiclatent.latents.table import LatentTable

    lt = LatentTable.open(table or workspace(ctx).latest_table()).validate(deep=True)
    click.echo(f"{lt.path}: ok ({lt.num_rows} rows)")


def __getattr__(name: str):
    """``describe_checkpoint`` moved to ``musiclatent.api`` (deprecated spelling, one cycle)."""
    if name == "describe_checkpoint":
        import warnings

        from musiclatent import api

        warnings.warn("musiclatent.cli.encode_cmd.describe_checkpoint moved to musiclatent.api.describe_checkpoint",
                      DeprecationWarning, stacklevel=2)
        return api.describe_checkpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
