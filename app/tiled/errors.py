"""Typed errors of the tiled app; each carries a one-line message and the CLI exit code it maps to."""

from __future__ import annotations


class TiledError(Exception):
    """Base class: a clear one-line problem with the app's inputs or environment."""

    exit_code = 1


class ConfigError(TiledError, ValueError):
    """A parameter (tile size, overlap, threshold) is outside its valid range."""

    exit_code = 2


class InputVideoError(TiledError):
    """The input video is missing, unreadable, corrupt or has no frames."""

    exit_code = 3


class OutputError(TiledError):
    """An output path cannot be written."""

    exit_code = 4


class EngineError(TiledError):
    """The engine file is missing or cannot be loaded."""

    exit_code = 5


class EngineLayoutError(EngineError):
    """The engine's batch, input size or output layout does not match what the app expects."""


class LabelsError(TiledError):
    """The labels file is missing, unreadable or empty."""

    exit_code = 6
