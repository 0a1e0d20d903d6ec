"""Helpers shared by the command modules: turning library errors into clean one-line errors, and the
options every command spells the same way (``--device``)."""

from __future__ import annotations

import errno
import functools

import click


# Exceptions that are the user's to fix: printed as one line, no traceback.
def _user_errors() -> tuple[type[BaseException], ...]:
    from musiclatent.checkpoint import CheckpointError
    from musiclatent.fileio import BusyError, UnsafePathError
    from musiclatent.registry import RegistryError
    from musiclatent.workspace import WorkspaceError

    errors: list[type[BaseException]] = [
        CheckpointError, RegistryError, WorkspaceError, UnsafePathError, BusyError, FileNotFoundError
    ]
    try:
        from musiclatent.model import DeviceError

        errors.append(DeviceError)
    except ImportError:  # torch missing: the command fails later with its own message
        pass
    for path in ("musiclatent.corpus.errors:CorpusError", "musiclatent.latents.errors:LatentTableError",
                 "musiclatent.analysis:AnalysisError", "musiclatent.report.build:ReportError",
                 "musiclatent.training.trainer:TrainingError", "musiclatent.training.gridsearch:GridSearchError"):
        module, _, attr = path.partition(":")
        try:
            errors.append(getattr(__import__(module, fromlist=[attr]), attr))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def os_error_message(exc: OSError) -> str | None:
    """One line for the OS errors a user fixes outside musiclatent (full disk, read-only or
    forbidden output); ``None`` for any other error (a bug: keep its traceback)."""
    where = exc.filename or "the output"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"disk full while writing {where}: nothing was replaced (atomic write); "
                "free some space and run the command again (finished work is resumed)")
    if exc.errno == errno.EROFS:
        return f"{where}: read-only file system; write to another folder (--out / --workspace)"
    if isinstance(exc, PermissionError):
        return f"permission denied: {where}; make it writable or write to another folder (--out / --workspace)"
    return None


def user_errors(func):
    """Decorator: library errors a user can fix become ``click.ClickException`` (exit 1, one line)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except _user_errors() as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            message = os_error_message(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    return wrapper


def workspace(ctx: click.Context):
    return ctx.find_root().obj


DEVICE_HELP = "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps; an absent device is refused."


def _check_device(ctx, param, value):
    """Refuse an unknown or absent device before any work starts, in one line."""
    if value is None or value == "auto" or ctx.resilient_parsing:
        return value  # auto always resolves; no torch import for it
    from musiclatent.model import DeviceError, select_device

    try:
        select_device(value)
    except DeviceError as exc:
        raise click.ClickException(f"--device: {exc}") from None
    return value


_DEVICE = {"default": "auto", "show_default": True, "help": DEVICE_HELP, "callback": _check_device}


def device_param() -> click.Option:
    """The ``--device`` option of every command that runs a model (same wording, default ``auto``)."""
    return click.Option(["--device"], **_DEVICE)


def device_option(func):
    """Decorator form of ``device_param``."""
    return click.option("--device", **_DEVICE)(func)
