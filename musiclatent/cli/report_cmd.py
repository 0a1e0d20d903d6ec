"""``musiclatent report``: build the self-contained HTML report from the workspace's analyses."""

from __future__ import annotations

import click

from musiclatent.cli.common import workspace


@click.command()
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Report folder (default: <workspace>/report). Replaced whole when rebuilt.")
@click.option("--table", "table", type=click.Path(), default=None,
              help="Latent table whose provenance the report states (default: the workspace's latest).")
@click.option("--preview-seconds", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Length of each track's audio preview (OGG Vorbis); 0 for no previews.")
@click.option("--max-previews", type=click.IntRange(min=0), default=1000, show_default=True,
              help="At most this many tracks get a preview (keeps the folder small).")
@click.pass_context
def report(ctx, out, table, preview_seconds, max_previews):
    """Build one self-contained report folder (open index.html from disk; no server, no network):
    the UMAP map where clicking a point plays the track, clusters, neighbours with players,
    interpolations, the genre probe, and what made it. Sections for analyses that have not run
    say how to produce them."""
    from musiclatent import api

    index = api.report(out=out, table=table, workspace=workspace(ctx), preview_seconds=preview_seconds,
                       max_previews=max_previews)
    click.echo(f"report: {index}")
    _warn_stale(index.parent / "report.json")
    click.echo(f"open it in a browser: file://{index}")


def _warn_stale(manifest) -> None:
    """One warning line per section that was not made from the report's table."""
    import json

    try:
        stale = json.loads(manifest.read_text(encoding="utf-8")).get("stale") or {}
    except (OSError, ValueError, AttributeError):
        return
    for name, why in stale.items():
        click.echo(f"warning: section {name} is stale ({why}); re-run `musiclatent analyze {name}`", err=True)
