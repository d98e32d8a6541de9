"""sanitizer: refresh staging from production with no personal data in it."""

__version__ = "0.1.0"

