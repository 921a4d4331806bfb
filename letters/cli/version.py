"""`letters version`."""

from .. import __version__
from .app import app, out


@app.command(epilog="""Пример:
  letters version
Называйте версию, когда сообщаете об ошибке программы.""")
def version() -> None:
    """Показать версию программы."""
    out.print(f"letters {__version__}")
