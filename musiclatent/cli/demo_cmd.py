"""``musiclatent demo``: the whole pipeline on the embedded synthetic corpus, ending in the report."""

from __future__ import annotations

import click

from musiclatent.cli.common import workspace


@click.command()
@click.option("--tracks-per-genre", type=click.IntRange(min=2), default=None,
              help="Tracks synthesized per genre (default 10; 2 with --fast).")
@click.option("--seconds", type=click.FloatRange(min=1.0), default=None,
              help="Length of each synthesized track in seconds (default 15; 4 with --fast).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs (default 3, within a 90 s training budget; 1 with --fast).")
@click.option("--model", default=None,
              help="Architecture to train (default: the built-in demo model, mel12).")
@click.option("--fast", is_flag=True, help="Tiny sizes: a smoke test in well under a minute.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the corpus, training and analyses.")
@click.pass_context
def demo(ctx, tracks_per_genre, seconds, epochs, model, fast, seed):
    """Run the whole pipeline on the built-in synthetic 10-genre corpus: synthesize -> scan ->
    train briefly -> encode -> umap, cluster, neighbors, interpolate, probe -> report.

    Everything lands in the workspace (the corpus in <workspace>/corpus). Re-running skips the
    steps that are already done."""
    from musiclatent.demo import DEFAULT_MODEL, run_demo

    ws = workspace(ctx)
    click.echo(f"workspace: {ws.root}")
    result = run_demo(ws, tracks_per_genre=tracks_per_genre, seconds=seconds, epochs=epochs,
                      model=model or DEFAULT_MODEL, fast=fast, seed=seed,
                      log=lambda line: click.echo(line))
    click.echo(f"demo finished in {result.seconds:.0f} s")
    click.echo(f"report: {result.report}")
    click.echo(f"open it in a browser: file://{result.report}")
