"""`tuilabel load`, `export` and `stats` (being written)."""

from tuilabel.cli.app import app  # noqa: F401
