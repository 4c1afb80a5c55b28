"""Errors meant for people: each names the file, record or key at fault and what was expected."""


class RevthinkError(Exception):
    """Base of every error the CLI prints as a message instead of a traceback."""


class ConfigError(RevthinkError):
    """A config file or override is wrong: names the file, key and expected type."""


class RecordError(RevthinkError):
    """A stored record is unreadable or invalid: names the file, line and field."""


class DataError(RevthinkError):
    """A dataset source is missing or malformed: names the file, record and field."""


class ModelError(RevthinkError):
    """A model cannot be found or loaded as configured."""


class ExportError(RevthinkError):
    """An export cannot be written, converted or uploaded as asked: says what to install or set."""
