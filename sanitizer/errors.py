"""The exception tree; the CLI maps each branch to one exit code.

    SanitizerError
    ├── ConfigError          exit 2  a user mistake: bad rules, bad option, unknown table.column
    ├── FindingsError        exit 1  the run found something: validation findings, uncovered columns
    │   ├── ValidationFailed
    │   └── UncoveredColumns
    └── RuntimeFailure       exit 3  the machinery failed: database unreachable, load failed
        ├── SourceError
        ├── LoadError
        └── Busy             another run holds the target

Messages say *where: what; fix* on one line and never carry a raw data value or a secret.
"""

from __future__ import annotations


class SanitizerError(Exception):
    """Base of every error sanitizer raises on purpose."""

    exit_code = 3


class ConfigError(SanitizerError):
    """A user mistake the user can fix: the message names file, path or table.column and the fix."""

    exit_code = 2


class NotImplementedYet(ConfigError):
    """A command of the contract whose stage is not built yet."""


class FindingsError(SanitizerError):
    """The run completed its checks and found problems; staging was not touched."""

    exit_code = 1

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class ValidationFailed(FindingsError):
    """Sanitized output still holds something it must not."""


class UncoveredColumns(FindingsError):
    """Columns that no rule names, with unknown_columns: fail."""


class RuntimeFailure(SanitizerError):
    """The machinery failed; staging was left as it was."""

    exit_code = 3


class SourceError(RuntimeFailure):
    """The source database could not be read."""


class LoadError(RuntimeFailure):
    """The target database could not be written."""


class Busy(RuntimeFailure):
    """Another run holds the target's lock."""
