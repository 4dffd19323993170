"""tuilabel: measure, by human review, how well an image classifier labels real-world photos."""

__version__ = "0.1.0"
