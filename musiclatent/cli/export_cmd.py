"""``musiclatent export --for spotlight|embedding-atlas|parquet|csv``: the latent table as one file
those tools open, and the command that opens it (see docs/explore.md)."""

from __future__ import annotations

import click

from musiclatent.cli.common import workspace
from musiclatent.latents.pooling import DEFAULT_POOLING, POOLINGS

FORMATS = ("spotlight", "embedding-atlas", "parquet", "csv")  # musiclatent.exporting.FORMATS


@click.command()
@click.option("--for", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True,
              help="The tool the file is for: spotlight, embedding-atlas (Parquet with the columns they "
                   "read), parquet (DuckDB, polars, pandas) or csv (vectors as JSON arrays).")
@click.option("--per", type=click.Choice(["track", "segment"]), default="track", show_default=True,
              help="One row per track (pooled vector, map, clusters, neighbours) or per segment (raw latent).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: <workspace>/exports/<model>-<per>-<for>.parquet|csv).")
@click.option("--table", type=click.Path(exists=True), default=None,
              help="Latent table (default: the workspace's latest).")
@click.option("--pooling", default=DEFAULT_POOLING, show_default=True,
              type=click.Choice(sorted(POOLINGS)),
              help="How segment latents become the track vector (its column is latent_<pooling>).")
@click.option("--neighbors", "k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Neighbours per track when they are computed (no neighbors analysis for this table).")
@click.option("--metric", type=click.Choice(["cosine", "euclidean"]), default="cosine", show_default=True,
              help="Distance for computed neighbours.")
@click.pass_context
def export(ctx, fmt, per, out, table, pooling, k, metric):
    """Write the latent table for Renumics Spotlight, Embedding Atlas, DuckDB/polars or a
    spreadsheet, with the workspace's UMAP/PCA map, clusters and neighbours when they exist,
    absolute audio paths and the report's previews; print the command that opens it."""
    from musiclatent import api

    result = api.export(fmt, per=per, table=table, out=out, workspace=workspace(ctx), pooling=pooling, k=k,
                        metric=metric)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"export: {result.path} ({result.rows} rows; columns {', '.join(result.columns)})")
    click.echo(f"open it: {result.command}")
