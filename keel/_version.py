"""keel's version: the one place it is written (pyproject.toml reads it for the wheel)."""

__version__ = "0.1.0"
