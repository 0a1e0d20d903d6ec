"""Generate the CLI reference (docs/cli.md) from the click commands themselves.

    MUSICLATENT_LOAD_PLUGINS= python -m musiclatent.cli.reference > docs/cli.md

Only built-in plugins are documented (third-party entry points are switched off by the empty
``MUSICLATENT_LOAD_PLUGINS``); a test regenerates the page and fails when docs/cli.md drifts.
"""

from __future__ import annotations

import click

HEADER = """# CLI reference

Generated from the click commands by `python -m musiclatent.cli.reference`; do not edit by hand
(`tests/test_cli_reference.py` fails when this page and the commands disagree).
"""


def _walk(cmd: click.Command, path: list[str], ctx: click.Context | None):
    extra = {} if ctx is not None else {"help_option_names": ["-h", "--help"]}
    ctx = click.Context(cmd, info_name=path[-1], parent=ctx, terminal_width=100, max_content_width=100, **extra)
    yield path, cmd, ctx
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not getattr(sub, "hidden", False):
                yield from _walk(sub, [*path, name], ctx)


def render() -> str:
    from musiclatent.cli import cli

    parts = [HEADER]
    for path, cmd, ctx in _walk(cli, ["musiclatent"], None):
        heading = "#" * min(len(path) + 1, 4)
        parts.append(f"{heading} `{' '.join(path)}`\n")
        help_text = cmd.get_help(ctx)
        parts.append("```text\n" + help_text.rstrip() + "\n```\n")
    return "\n".join(parts)


def main() -> None:
    click.echo(render(), nl=False)


if __name__ == "__main__":
    main()
