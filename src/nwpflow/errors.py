"""Exceptions with messages that tell the user which file, which field and what is wrong."""

from __future__ import annotations

import os


class NwpflowError(Exception):
    """Base class of every error nwpflow raises on purpose."""


class InputError(NwpflowError, ValueError):
    """An input file cannot be used: missing field, corrupt message, inconsistent grid, ...

    The message always names the file (or files) and, where one is involved, the field.
    """

    def __init__(self, what: str, *, path: str | os.PathLike | None = None, field: str | None = None):
        self.path = None if path is None else os.fspath(path)
        self.field = field
        where = []
        if self.path is not None:
            where.append(f"file {self.path!r}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {what}" if prefix else what)


class UnknownProductError(NwpflowError, KeyError):
    """A product name that is not in the registry."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        super().__init__(f"unknown product {name!r}; known products: {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class OptionError(NwpflowError, ValueError):
    """A product option that the product does not accept, or a value outside its allowed set."""


class ConfigError(NwpflowError, ValueError):
    """A workflow config value that cannot be used; the message names the key and the allowed values."""

    def __init__(self, key: str, what: str):
        self.key = key
        super().__init__(f"config key {key!r}: {what}")
