"""``musiclatent train`` and ``musiclatent gridsearch``."""

from __future__ import annotations

import json

import click

from musiclatent.cli.common import device_option, workspace


def _parse_sets(values: tuple[str, ...]) -> dict:
    """``("channels=16", "strides=[2,3]")`` -> ``{"channels": 16, "strides": [2, 3]}`` (JSON, else string)."""
    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="--set")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _csv(kind):
    def convert(ctx, param, value):
        if value is None:
            return None
        try:
            return [kind(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a comma-separated list of {kind.__name__}") from None
    return convert


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _common(func):
    for decorator in reversed([
        click.option("--data", type=click.Path(exists=True), default=None,
                     help="Corpus folder (default: the workspace's corpus)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Training batch size (default: the model's recipe, 10 for alt1..alt5)."),
        click.option("--eval-batch-size", type=click.IntRange(min=1), default=None,
                     help="Validation batch size (default: the recipe, 20 for alt1..alt5)."),
        click.option("--segment-seconds", type=click.FloatRange(min=0.05), default=5.0, show_default=True,
                     help="Length of the training segments."),
        click.option("--loss", default=None,
                     help="Loss: mse, l1, mrstft, mel, sisdr or a weighted sum like 'l1+2*mrstft' (default: recipe)."),
        device_option,
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights and data order."),
        click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
                     help="DataLoader worker processes."),
        click.option("--max-segments", type=click.IntRange(min=1), default=None,
                     help="Train on at most N segments per epoch (a seeded random subset)."),
        click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                     help="Override a model config value (JSON value), repeatable."),
        click.option("--time-budget", type=click.FloatRange(min=0), default=None,
                     help="Stop each training after this many seconds of wall time."),
        click.option("--no-cache", is_flag=True,
                     help="Decode audio on demand instead of using the workspace's decoded-audio cache."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar and no line per epoch."),
    ]):
        func = decorator(func)
    return func


@click.command()
@click.option("--model", "-m", required=True, help="Architecture name (see `musiclatent models`).")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs (default: the model's recipe).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate (default: the model's recipe).")
@_common
@click.option("--resume", is_flag=True,
              help="Continue the newest run (or the --out folder) at its next epoch instead of starting a new run.")
@click.option("--from-pretrained", is_flag=True,
              help="Start from the weights shipped with musiclatent for --model (fine-tune) instead of "
                   "a random initialisation.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run folder (default: a new <workspace>/runs/<model>/run-NNN; earlier runs are kept).")
@click.option("--overwrite", is_flag=True, help="Let a fresh run replace the run already in the --out folder.")
@click.pass_context
def train(ctx, model, epochs, lr, data, batch_size, eval_batch_size, segment_seconds, loss, device, seed,
          workers, max_segments, sets, time_budget, no_cache, quiet, resume, from_pretrained, out, overwrite):
    """Train an autoencoder on the corpus, with validation after every epoch.

    Writes checkpoints (best, last), metrics.jsonl, the reconstruction of one test segment per
    epoch (recon/*.npy and *.wav) and loss/reconstruction charts into the run folder.
    """
    from musiclatent import api

    result = api.train(model, workspace=workspace(ctx), data=data, out_dir=out, epochs=epochs, lr=lr,
                       batch_size=batch_size, eval_batch_size=eval_batch_size,
                       segment_seconds=segment_seconds, loss=loss, device=device, resume=resume,
                       seed=seed, workers=workers, max_train_segments=max_segments,
                       config_overrides=_parse_sets(sets), time_budget_s=time_budget,
                       cache=not no_cache, progress=not quiet, overwrite=overwrite,
                       from_pretrained=from_pretrained, log=_stderr)
    if result.status == "already_done":
        click.echo(f"{model}: nothing to do, {result.epochs_completed} epoch(s) already trained")
    elif result.status == "time_budget":
        click.echo(f"{model}: stopped by the time budget after {result.epochs_completed} epoch(s)")
    last = result.history[-1] if result.history else {}
    click.secho(f"Trained {model} on {result.device}: {result.epochs_completed} epoch(s) in {result.seconds:.1f} s",
                bold=True)
    if last:
        click.echo(f"  last epoch: train loss {last['train_loss']:.6g}, validation loss {last['val_loss']:.6g}, "
                   f"validation SI-SDR {last['val_si_sdr']:.2f} dB")
    if result.best_epoch:
        click.echo(f"  best validation loss {result.best_val_loss:.6g} at epoch {result.best_epoch}")
    run = result.run_dir
    click.echo(f"  run folder:      {run}")
    click.echo(f"  best checkpoint: {result.best_checkpoint}")
    click.echo(f"  metrics:         {run / 'metrics.jsonl'}")
    click.echo(f"  charts:          {run / 'loss_curve.html'}, {run / 'reconstruction.html'}")
    click.echo(f"  reconstructions: {run / 'recon'}")


@click.command()
@click.option("--models", required=True, callback=_csv(str), help="Comma-separated models, e.g. alt3,alt4,alt5.")
@click.option("--lrs", required=True, callback=_csv(float),
              help="Comma-separated learning rates, e.g. 0.001,0.005,0.01,0.05,0.0001,0.0005.")
@click.option("--epochs", "epochs_list", required=True, callback=_csv(int),
              help="Comma-separated epoch counts, e.g. 5,10,20,30 (one run of the largest serves all).")
@_common
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Grid folder (default: <workspace>/runs/grid).")
@click.pass_context
def gridsearch(ctx, models, lrs, epochs_list, data, batch_size, eval_batch_size, segment_seconds, loss, device,
               seed, workers, max_segments, sets, time_budget, no_cache, quiet, out):
    """Grid search over models x learning rates x epoch counts, as in the seed report.

    Trains one run per (model, lr) for the largest epoch count, reuses finished runs, resumes
    interrupted ones, and prints the best configuration per model by best/last train/validation loss.
    """
    from musiclatent import api
    from musiclatent.training.gridsearch import format_best

    table = api.gridsearch(models, lrs, epochs_list, workspace=workspace(ctx), data=data, out_dir=out,
                           batch_size=batch_size, eval_batch_size=eval_batch_size,
                           segment_seconds=segment_seconds, loss=loss, device=device, seed=seed, workers=workers,
                           max_train_segments=max_segments, config_overrides=_parse_sets(sets),
                           time_budget_s=time_budget, cache=not no_cache, progress=not quiet, log=_stderr)
    trained = int(table.drop_duplicates("run_dir")["retrained"].sum())
    runs = table["run_dir"].nunique()
    click.secho(f"Grid search: {runs} run(s), {trained} trained now, {runs - trained} reused", bold=True)
    click.echo(format_best(table.attrs["best"]))
    out_dir = table.attrs["out_dir"]
    click.echo(f"  table: {out_dir}/gridsearch.csv (best: gridsearch_best.csv)")
    click.echo(f"  chart: {out_dir}/gridsearch.html")
