"""How the command line fails: one line on stderr, always.

- A usage error (an unknown option, a value out of range, a missing argument)
  is one line and exit 2, not click's usage block: `error: run: --concurrency:
  ... (coscientist run --help)`.
- Arguments must be text: bytes that are not UTF-8 arrive as lone surrogates
  and are refused up front, exit 2, instead of failing later inside SQLite or
  the terminal.
- An unexpected error is one line and exit 1, naming a log file (in the user
  log directory) that holds the traceback, secrets masked.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import platformdirs
import typer
from rich.console import Console

from coscientist.config import APP_NAME
from coscientist.errors import CoscientistError
from coscientist.redact import scrub
from coscientist.safe_text import printable

_SPACES = re.compile(r"\s+")
err = Console(stderr=True)


def one_line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def usage_message(exc: BaseException) -> str:
    """A click usage error as one line: the command, what is wrong, where help is."""
    format_message = getattr(exc, "format_message", None)
    message = one_line(str(format_message() if callable(format_message) else exc))
    ctx = getattr(exc, "ctx", None)
    command = " ".join(ctx.command_path.split()[1:]) if ctx is not None else ""
    hint = f"coscientist {command} --help" if command else "coscientist --help"
    return f"{command}: {message} ({hint})" if command else f"{message} ({hint})"


def undecodable_argument(argv: list[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (decoded as surrogates), shown safely."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return (
                f"argument '{scrub(shown)}' is not valid UTF-8 text: "
                "retype it or fix the terminal's encoding"
            )
    return None


def log_dir() -> Path:
    override = os.environ.get("COSCIENTIST_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir(APP_NAME))


def env_secrets() -> list[str | None]:
    """API keys this process may hold: masked wherever they appear in what we print or log."""
    return [os.environ.get("COSCIENTIST_API_KEY"), os.environ.get("OPENAI_API_KEY")]


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """The traceback of an unexpected error, with secrets masked; None if it cannot be written."""
    secrets = env_secrets()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = "".join(
        [
            f"coscientist crash at {stamp}, pid {os.getpid()}\n",
            f"python {sys.version.split()[0]}\n",
            "argv: "
            + " ".join(a.encode("utf-8", "backslashreplace").decode() for a in argv)
            + "\n\n",
            *traceback.format_exception(exc),
        ]
    )
    try:
        directory = log_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"crash-{stamp}-{os.getpid()}.log"
        path.write_text(scrub(body, *secrets), encoding="utf-8", errors="backslashreplace")
    except OSError:
        return None
    return path


def unexpected_message(exc: BaseException, log: Path | None) -> str:
    what = one_line(scrub(f"{type(exc).__name__}: {exc}", *env_secrets()))[:300]
    where = f"the traceback is in {log}" if log else "no log could be written"
    return f"unexpected {what} ({where}; please report it)"


def say_error(message: str) -> None:
    """One line on stderr: secrets masked, control characters shown, never markup."""
    line = printable(one_line(scrub(message, *env_secrets())))
    err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)


def fail(message: str) -> NoReturn:
    say_error(message)
    raise typer.Exit(2)


def fail_run(error: str, session_id: str) -> NoReturn:
    say_error(
        f"the run stopped early: {error}; fix the cause, then `coscientist resume {session_id}`"
    )
    raise typer.Exit(1)


def _first_user_error(group: BaseExceptionGroup[BaseException]) -> CoscientistError | None:
    for exc in group.exceptions:
        if isinstance(exc, CoscientistError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = _first_user_error(exc)
            if found is not None:
                return found
    return None


def _unexpected(exc: BaseException, argv: list[str]) -> NoReturn:
    say_error(unexpected_message(exc, write_crash_log(exc, argv)))
    sys.exit(1)


def run_app(app: Any, argv: list[str]) -> NoReturn:
    """Run the typer app on `argv` and exit with its code, every failure as one line."""
    bad = undecodable_argument(argv)
    if bad is not None:
        say_error(bad)
        sys.exit(2)
    try:
        code = app(args=argv, prog_name="coscientist", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except CoscientistError as exc:
        say_error(str(exc))
        sys.exit(2)
    except BaseExceptionGroup as group:  # an error inside the run's task group
        inner = _first_user_error(group)
        if inner is None:
            _unexpected(group, argv)
        say_error(str(inner))
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted: committed work is kept; `coscientist resume` continues")
        sys.exit(130)
    except Exception as exc:
        # Errors of typer's (vendored) click: usage errors (bad option values, missing
        # arguments, unknown options or commands) exit 2, as one line.
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in names:  # bare `coscientist`: the help, already printed
            sys.exit(0)
        if "UsageError" in names:
            say_error(usage_message(exc))
            sys.exit(2)
        if "ClickException" in names:
            say_error(usage_message(exc))
            sys.exit(int(getattr(exc, "exit_code", 1) or 1))
        if "Abort" in names:
            sys.exit(130)
        _unexpected(exc, argv)
