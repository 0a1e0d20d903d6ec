"""The ``musiclatent`` command line: a thin layer that parses options and calls the library.

Commands live in one module each and are imported only when used, so ``musiclatent --help``
and ``musiclatent plugins`` never import torch or umap.
"""

from __future__ import annotations

import importlib

import click

from musiclatent import __version__
from musiclatent.cli.common import one_line_errors

# command name -> "module:attribute" (the attribute is a click command or group)
COMMANDS: dict[str, str] = {
    "analyze": "musiclatent.cli.analyze_cmd:analyze",
    "benchmark": "musiclatent.cli.benchmark_cmd:benchmark",
    "corpus": "musiclatent.cli.corpus_cmd:corpus",
    "decode": "musiclatent.cli.encode_cmd:decode",
    "demo": "musiclatent.cli.demo_cmd:demo",
    "encode": "musiclatent.cli.encode_cmd:encode",
    "evaluate": "musiclatent.cli.encode_cmd:evaluate",
    "export": "musiclatent.cli.export_cmd:export",
    "gridsearch": "musiclatent.cli.train_cmd:gridsearch",
    "latents": "musiclatent.cli.encode_cmd:latents",
    "models": "musiclatent.cli.plugins_cmd:models",
    "plugins": "musiclatent.cli.plugins_cmd:plugins",
    "report": "musiclatent.cli.report_cmd:report",
    "train": "musiclatent.cli.train_cmd:train",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def _available(self):
        names = []
        for name, target in self.lazy.items():
            module = target.partition(":")[0]
            if importlib.util.find_spec(module) is not None:
                names.append(name)
        return names

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy:
            module_name, _, attr = self.lazy[cmd_name].partition(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    return None
                raise
            return getattr(module, attr)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx):
        """Run the group and its subcommand; a user error anywhere in them is one line."""
        with one_line_errors():
            return super().invoke(ctx)


def build_cli() -> click.Group:
    @click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="musiclatent")
    @click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False),
        envvar="MUSICLATENT_WORKSPACE",
        default=None,
        help="Workspace folder (default: ./musiclatent-work or $MUSICLATENT_WORKSPACE).",
    )
    @click.pass_context
    def cli(ctx, workspace):
        """musiclatent: train audio autoencoders on a music collection, encode it into a latent
        table, and explore, hear and extend the latent space.

        Start with `musiclatent demo`, or `musiclatent corpus scan PATH` on your own music.
        """
        from musiclatent.workspace import Workspace

        ctx.obj = Workspace.open(workspace)

    return cli


cli = build_cli()


def main(argv=None):
    return cli.main(args=argv, prog_name="musiclatent")
