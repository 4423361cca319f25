"""Kernel-style failures: an errno, the message the kernel would give, the check that refused."""

from __future__ import annotations

import errno as _errno

ERRNO_TEXT = {
    "EINVAL": "Invalid argument",
    "EBUSY": "Device or resource busy",
    "ENOMEM": "Cannot allocate memory",
    "EEXIST": "File exists",
    "E2BIG": "Argument list too long",
    "EINTR": "Interrupted system call",
    "EPERM": "Operation not permitted",
    "ENODEV": "No such device",
    "EHWPOISON": "Memory page has hardware error",
    "ENOSPC": "No space left on device",
    "EIO": "Input/output error",
    "BUG": "kernel BUG: the machine has stopped",
    "EOPNOTSUPP": "Operation not supported",
    "ENOENT": "No such file or directory",
}


def errno_number(name: str) -> int:
    return getattr(_errno, name, 0)


class ConfigError(ValueError):
    """A machine configuration the selected profile or architecture cannot have."""


class OpFailed(Exception):
    """An operation refused by a kernel check; carries what the kernel would return."""

    def __init__(self, errno: str, message: str, check: str):
        super().__init__(f"-{errno}: {message}")
        self.errno = errno
        self.message = message
        self.check = check


class KernelBug(OpFailed):
    """A BUG()/BUG_ON() the operation ran into: the simulated kernel stops (oops), nothing more
    can be done on the machine until the operation is undone."""

    def __init__(self, where: str, check: str, message: str):
        super().__init__("BUG", f"kernel BUG at {where}! ({message})", check)
        self.where = where


class Cancelled(Exception):
    """The front end stopped a running operation (its progress hook raised this); the machine
    is rolled back to exactly where it was before the operation began."""
