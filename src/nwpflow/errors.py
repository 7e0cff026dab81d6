"""Exceptions with messages that tell the user which file, which field and what is wrong, and the one line
a user sees for each failure they can cause (:func:`user_message`)."""

from __future__ import annotations

import errno
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


class ImplausibleValuesError(InputError):
    """Decoded values outside the physical range of their field (``FieldInfo.valid_range`` in
    :data:`nwpflow.io.datamodel.FIELDS`), or not finite.

    Attributes: ``path``, ``field``, ``where`` (the message, e.g. ``"message 12"``), ``count`` (bad values),
    ``valid_range``.
    """

    def __init__(self, what: str, *, path, field: str, where: str, count: int, valid_range):
        self.where = where
        self.count = count
        self.valid_range = valid_range
        super().__init__(what, path=path, field=field)


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


class OutputError(NwpflowError, OSError):
    """An output file cannot be written: its folder is a file, the file system is read-only or full, no
    permission. The message names the file and what to do; nothing is left under the file's name."""

    def __init__(self, what: str, *, path: str | os.PathLike):
        self.path = os.fspath(path)
        super().__init__(f"output {self.path!r}: {what}")

    def __str__(self) -> str:  # OSError would format (errno, strerror)
        return self.args[0]


OS_ERROR_HINTS: dict[int, str] = {
    errno.ENOSPC: "no space left on the device: free space there or choose another output folder",
    errno.EDQUOT: "disk quota exceeded: free space or choose another output folder",
    errno.EROFS: "the file system is read-only: choose an output folder on a writable one",
    errno.EACCES: "permission denied: choose a folder you may write to, or change its permissions",
    errno.EPERM: "operation not permitted: choose a folder you may write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder: remove it or choose another path",
    errno.EEXIST: "a file is in the way of a folder: remove it or choose another path",
    errno.EISDIR: "the path is a folder: give a file name",
    errno.ENOENT: "no such file or folder: check the path",
    errno.ENAMETOOLONG: "the file name is too long: choose a shorter path",
}
"""What to do about the operating-system errors a user can cause, by ``errno``."""


def os_error_hint(error: OSError) -> str | None:
    """The one-line description of an operating-system error a user can cause (:data:`OS_ERROR_HINTS`),
    or ``None`` for another one."""
    return OS_ERROR_HINTS.get(error.errno) if isinstance(error, OSError) else None


def user_message(error: BaseException) -> str | None:
    """The one line that tells a user what failed and what to do, for every failure a user can cause:
    an error nwpflow raises on purpose (:class:`NwpflowError`), an operating-system error of
    :data:`OS_ERROR_HINTS` (naming its file), memory exhausted, an interrupt. ``None`` for anything
    else: a bug, whose traceback is what a report needs.

    Examples
    --------
    >>> user_message(ConfigError("threads", "0 is less than the minimum of 1"))
    "config key 'threads': 0 is less than the minimum of 1"
    >>> user_message(ZeroDivisionError("division by zero")) is None
    True
    """
    if isinstance(error, NwpflowError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted: outputs that were being written are not left behind; run again to finish"
    if isinstance(error, MemoryError):
        return ("out of memory: give the job more memory (config resources.mem_safety_factor, "
                "resources.mem_base_mb), fewer threads, or fewer products per bundle")
    hint = os_error_hint(error) if isinstance(error, OSError) else None
    if hint is None:
        return None
    name = error.filename if error.filename is not None else ""
    return f"{name!r}: {hint}" if name else hint


def one_line(error: BaseException) -> str | None:
    """``nwpflow: error: <user_message>``: what the CLI prints and a job's log starts its failure with;
    ``None`` where :func:`user_message` is ``None``."""
    message = user_message(error)
    return None if message is None else "nwpflow: error: " + " ".join(message.split())
