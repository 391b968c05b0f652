"""The ``sentiment`` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 some inputs failed (everything that succeeded is written),
2 usage error. No traceback reaches the user: unexpected errors print one line
(set ``SENTIMENT_DEBUG=1`` to see the traceback).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(
    name="sentiment",
    help="Crypto market news → assets, price moves, causes, calibrated sentiment and a Fear & Greed index.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


# ============================================================ ingest / tag (issue 2)
# ============================================================ end ingest / tag

# ============================================================ classifier (issue 4)
# ============================================================ end classifier

# ============================================================ market (issue 6)
# ============================================================ end market


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the console script: runs the app, turns errors into one line."""
    try:
        app(args=argv, standalone_mode=False)
        return 0
    except SystemExit as exc:  # typer.Exit / sys.exit inside a command
        return int(exc.code or 0)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except UsageError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    except Exception as exc:  # click usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.Abort):
            err.print("aborted")
            return 130
        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code if exc.exit_code else 2
        if os.environ.get("SENTIMENT_DEBUG"):
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        return 1


def _run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _run()
