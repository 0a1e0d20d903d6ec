"""``musiclatent plugins`` and ``musiclatent models``."""

from __future__ import annotations

import json

import click


def _plugin_rows(registry):
    rows = []
    for spec in sorted(registry.architectures.values(), key=lambda s: s.name):
        rows.append({"kind": "architecture", "name": spec.name, "description": spec.description,
                     "plugin": spec.plugin, "distribution": spec.distribution})
    for spec in sorted(registry.analyses.values(), key=lambda s: s.name):
        rows.append({"kind": "analysis", "name": spec.name, "description": spec.description,
                     "plugin": spec.plugin, "distribution": spec.distribution})
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def plugins(as_json):
    """List every registered architecture and analysis and the distribution providing it."""
    from musiclatent.plugins import get_registry

    registry = get_registry()
    rows = _plugin_rows(registry)
    if as_json:
        click.echo(json.dumps({"plugins": rows, "broken": registry.broken}, indent=2))
        return
    for kind, title in (("architecture", "Architectures"), ("analysis", "Analyses")):
        click.secho(title, bold=True)
        for row in (r for r in rows if r["kind"] == kind):
            click.echo(f"  {row['name']:<14} {row['description']}")
            click.echo(f"  {'':<14} from {row['distribution']} ({row['plugin']})")
    if registry.broken:
        click.secho("Broken plugins", bold=True, fg="red")
        for name, why in sorted(registry.broken.items()):
            click.echo(f"  {name}: {why}")


@click.command()
@click.option("--seconds", type=float, default=5.0, show_default=True,
              help="Input length used to report latent shape and encoding scale.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
def models(seconds, as_json):
    """List architectures with latent shape, encoding scale, parameter count and whether weights
    ship with musiclatent (``--pretrained``); builds each model."""
    from musiclatent.architectures.base import count_parameters
    from musiclatent.checkpoint import pretrained_models
    from musiclatent.plugins import get_registry

    shipped = pretrained_models()
    rows = []
    for spec in sorted(get_registry().architectures.values(), key=lambda s: s.name):
        model = spec.build()
        length = int(round(seconds * model.sample_rate))
        c, t = model.latent_shape(length)
        rows.append({
            "name": spec.name, "description": spec.description, "sample_rate": model.sample_rate,
            "input_samples": length, "latent_shape": [c, t], "latent_values": c * t,
            "encoding_scale": round(model.encoding_scale(length), 4),
            "parameters": count_parameters(model), "distribution": spec.distribution,
            "pretrained": spec.name in shipped,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'model':<14}{'latent (C x T)':>18}{'values':>10}{'scale':>11}{'params':>11}{'pretrained':>12}"
               "  description")
    for r in rows:
        shape = f"{r['latent_shape'][0]} x {r['latent_shape'][1]}"
        click.echo(f"{r['name']:<14}{shape:>18}{r['latent_values']:>10}{'1/' + format(r['encoding_scale'], '.4g'):>11}"
                   f"{r['parameters']:>11,}{'yes' if r['pretrained'] else '-':>12}  {r['description']}")
    if shipped:
        click.echo("pretrained: weights shipped with musiclatent; use them with "
                   "`musiclatent encode --model NAME --pretrained`")
