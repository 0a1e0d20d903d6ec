"""``musiclatent analyze NAME [options]``: one subcommand per registered analysis.

The subcommands are built from the ``AnalysisSpec`` registrations (each ``Option`` becomes a click
option), so a third-party analysis appears here as soon as its plugin is installed. Building
them imports only the specs, never torch, sklearn or umap.
"""

from __future__ import annotations

import click

from musiclatent.cli.common import device_param, workspace
from musiclatent.latents.pooling import DEFAULT_POOLING

_TYPES = {"int": click.INT, "float": click.FLOAT, "str": click.STRING, "bool": click.BOOL}


def _click_option(opt) -> click.Option:
    """A click option from a ``musiclatent.registry.Option``."""
    flag = "--" + opt.name.replace("_", "-")
    if opt.type == "choice":
        ptype = click.Choice(list(opt.choices))
    elif opt.type == "path":
        ptype = click.Path(exists=True, dir_okay=False)
    elif opt.type in ("int", "float") and (getattr(opt, "minimum", None) is not None
                                          or getattr(opt, "maximum", None) is not None):
        ranged = click.IntRange if opt.type == "int" else click.FloatRange
        ptype = ranged(min=opt.minimum, max=opt.maximum)
    else:
        ptype = _TYPES.get(opt.type, click.STRING)
    if opt.type == "bool" and not opt.multiple:
        no_flag = "--no-" + opt.name.replace("_", "-")
        return click.Option([f"{flag}/{no_flag}", opt.name], default=bool(opt.default),
                            show_default=True, help=opt.help)
    default = tuple(opt.default or ()) if opt.multiple else opt.default
    return click.Option([flag, opt.name], type=ptype, default=default, multiple=opt.multiple,
                        show_default=default not in (None, ()), help=opt.help)


def _common_options() -> list[click.Option]:
    from musiclatent.latents.pooling import POOLINGS

    return [
        click.Option(["--table"], type=click.Path(exists=True), default=None,
                     help="Latent table (default: the workspace's latest)."),
        click.Option(["--out"], type=click.Path(file_okay=False), default=None,
                     help="Output folder (default: <workspace>/analyses/NAME)."),
        click.Option(["--pooling"], default=DEFAULT_POOLING, show_default=True,
                     type=click.Choice(sorted(POOLINGS)),
                     help="How segment latents become one vector per track."),
        click.Option(["--seed"], type=int, default=0, show_default=True, help="Random seed."),
        device_param(),
        click.Option(["--format", "formats"], default="html,png", show_default=True,
                     help="Chart formats, comma-separated: html, png, svg (a JSON spec is always written)."),
    ]


def _make_command(spec) -> click.Command:
    def callback(table, out, pooling, seed, device, formats, **options):
        from musiclatent import api

        folder = api.analyze(spec.name, table=table, out=out, workspace=workspace(click.get_current_context()),
                             pooling=pooling, seed=seed, device=device, formats=formats.split(","), **options)
        _print_written(folder)

    help_text = spec.description + ("\n\nNeeds the model that made the table (its checkpoint)."
                                    if spec.needs_model else "")
    if spec.distribution and not spec.distribution.startswith("musiclatent "):
        help_text += f"\n\nProvided by {spec.plugin} ({spec.distribution})."
    return click.Command(spec.name, callback=callback, help=help_text, short_help=spec.description,
                         params=[*_common_options(), *(_click_option(o) for o in spec.options)])


def _print_written(folder) -> None:
    import json

    index = json.loads((folder / "index.json").read_text())
    click.echo(f"{index['analysis']} ({index['pooling']} pooling) -> {folder}")
    for key, value in index.get("summary", {}).items():
        if isinstance(value, float):
            click.echo(f"  {key}: {value:.4g}")
        elif isinstance(value, (int, str, bool)):
            click.echo(f"  {key}: {value}")
    for output in index["outputs"]:
        files = ", ".join(output["files"].values())
        click.echo(f"  {output['kind']:<6} {files}")
    for note in index.get("notes", []):
        click.echo(f"  note: {note}")
    click.echo(f"  index  {folder / 'index.json'}")
    _print_query_neighbors(folder, index)


def _print_query_neighbors(folder, index) -> None:
    """The nearest tracks of each ``--query`` file, as a small table (rank, track, label, distance)."""
    import pandas as pd

    entry = next((o for o in index.get("outputs", []) if o.get("kind") == "table"
                  and o.get("name") == "query_neighbors" and "csv" in o.get("files", {})), None)
    if entry is None:
        return
    frame = pd.read_csv(folder / entry["files"]["csv"], keep_default_na=False, dtype={"neighbor_id": str})
    metric = (index.get("options") or {}).get("metric") or "distance"
    for query, rows in frame.groupby("query", sort=False):
        click.echo(f"nearest tracks to {query} ({metric} distance, smaller is closer):")
        width = max([5, *(len(str(t)) for t in rows["neighbor_id"])])
        click.echo(f"  {'rank':>4}  {'track':<{width}}  {'label':<12}  distance")
        for r in rows.itertuples(index=False):
            click.echo(f"  {int(r.rank):>4}  {str(r.neighbor_id):<{width}}  {str(r.neighbor_label):<12}  "
                       f"{float(r.distance):.4f}")


class AnalysisGroup(click.Group):
    """Subcommands built from the registered analyses."""

    def list_commands(self, ctx):
        from musiclatent.plugins import get_registry

        return sorted(get_registry().analyses)

    def get_command(self, ctx, cmd_name):
        from musiclatent.plugins import get_registry

        spec = get_registry().analyses.get(cmd_name)
        return _make_command(spec) if spec is not None else None

    def resolve_command(self, ctx, args):
        from musiclatent.plugins import get_registry

        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(sorted(get_registry().analyses)) or "none"
            raise click.ClickException(f"unknown analysis {name!r}; registered analyses: {known}")
        return super().resolve_command(ctx, args)


@click.group(cls=AnalysisGroup)
def analyze():
    """Run a latent-space analysis on a latent table; outputs go to <workspace>/analyses/NAME.

    Every analysis writes charts (HTML, PNG, JSON spec), tables (CSV), audio (WAV) and an
    index.json. `musiclatent analyze NAME --help` lists its options.
    """
