"""The one exception tree pgsage raises; the CLI maps each family to an exit code.

Messages are complete one-line sentences meant for a DBA's terminal: the CLI prints them
as they are, without a traceback.
"""


class PgsageError(Exception):
    """Base of every error pgsage reports to its user."""

    exit_code = 2


class UsageError(PgsageError):
    """A flag, option or argument the user gave cannot be used."""


class ConfigError(PgsageError):
    """The configuration (file, environment, flags) is invalid."""


class SnapshotFileError(PgsageError):
    """A snapshot file is missing, corrupt or of a format this pgsage cannot read."""


class ConnectionFailed(PgsageError):
    """The server cannot be reached or refused the session (auth, missing database)."""

    exit_code = 3


class ServerError(PgsageError):
    """The server answered with an error pgsage cannot work around."""

    exit_code = 3
