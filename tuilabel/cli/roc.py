"""`tuilabel roc` (being written)."""

from tuilabel.cli.app import app  # noqa: F401
