"""Helpers shared by the command modules: turning user errors into clean one-line errors, and the
options every command spells the same way (``--device``)."""

from __future__ import annotations

import contextlib
import errno

import click


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


@contextlib.contextmanager
def one_line_errors():
    """The CLI's one rule for errors: a ``MusiclatentError`` (the user's to fix), a missing file or
    an OS error from ``os_error_message`` becomes ``click.ClickException`` (``Error: ...``, exit 1);
    any other exception is a bug and keeps its traceback."""
    from musiclatent.errors import MusiclatentError

    try:
        yield
    except (MusiclatentError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        message = os_error_message(exc)
        if message is None:
            raise
        raise click.ClickException(message) from None


def workspace(ctx: click.Context):
    return ctx.find_root().obj


DEVICE_HELP = "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps; an absent device is refused."


def _check_device(ctx, param, value):
    """Refuse an unknown or absent device before any work starts, in one line."""
    if value is None or value == "auto" or ctx.resilient_parsing:
        return value  # auto always resolves; no torch import for it
    from musiclatent.devices import DeviceError, select_device

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
