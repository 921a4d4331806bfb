"""`letters version`."""

from .. import __version__
from .app import app, out


@app.command()
def version() -> None:
    """Показать версию программы."""
    out.print(f"letters {__version__}")
