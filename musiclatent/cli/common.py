"""Helpers shared by the command modules: turning library errors into clean one-line errors."""

from __future__ import annotations

import functools

import click

# Exceptions that are the user's to fix: printed as one line, no traceback.
def _user_errors() -> tuple[type[BaseException], ...]:
    from musiclatent.checkpoint import CheckpointError
    from musiclatent.fileio import UnsafePathError
    from musiclatent.registry import RegistryError
    from musiclatent.workspace import WorkspaceError

    errors: list[type[BaseException]] = [
        CheckpointError, RegistryError, WorkspaceError, UnsafePathError, FileNotFoundError
    ]
    for path in ("musiclatent.corpus.errors:CorpusError", "musiclatent.latents.table:LatentTableError"):
        module, _, attr = path.partition(":")
        try:
            errors.append(getattr(__import__(module, fromlist=[attr]), attr))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def user_errors(func):
    """Decorator: library errors a user can fix become ``click.ClickException`` (exit 1, one line)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _user_errors() as exc:
            raise click.ClickException(str(exc)) from None
        except PermissionError as exc:
            raise click.ClickException(f"permission denied: {exc.filename or exc}") from None
        except OSError as exc:
            if exc.errno == 28:  # ENOSPC
                raise click.ClickException(f"disk full while writing {exc.filename or ''}: nothing was replaced") from None
            raise

    return wrapper


def workspace(ctx: click.Context):
    return ctx.find_root().obj
