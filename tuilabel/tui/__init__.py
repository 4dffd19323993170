"""The `tuilabel score` terminal UI (Textual).

Importing this package imports nothing heavy; `tuilabel.tui.run.run_score` is the entry point
the CLI calls, and `tuilabel.tui.factory.make_score_app` builds the app for the CLI and tests.
"""
