"""The command line, one module per command (as pipx has it): each parses its options,
calls one function of the package and shows the result it returns. `app` holds what they
share and `main()`, the entry point."""

from .app import app, err, main, out
from . import build, journal, verify, mail, audit, report, status, version  # noqa: E402,F401 — each registers its commands

__all__ = ["app", "err", "main", "out"]
