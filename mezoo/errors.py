"""The one base class of bad input: every command exits with status 2 on it (1 on anything else).

A `BadInput` says in its message what the user gave that can't be used (a flag, a file, a line,
a field, a run directory) and what to do; the commands print it as one `error:` line. Errors of
the machine or of mezoo itself (a bug) are not `BadInput`.

Example:
>>> issubclass(DirectoryBusy, BadInput)
True
"""


class BadInput(Exception):
    """Input the user can fix (a file, a flag, a recipe, data, a run directory), said in the message."""


class UsageError(BadInput):
    """A command line that can't be run as given: a flag's value, missing or extra arguments."""


class MissingInput(BadInput, FileNotFoundError):
    """A file or directory the user named (or that a run, spec or export names) that is not there."""


class DirectoryBusy(BadInput):
    """A directory another live process is writing (a run directory, an export base, an output)."""


class DiskFull(BadInput):
    """The disk (or a quota) is full where a command writes: the message names the directory."""
