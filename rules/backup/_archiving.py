"""WAL archiving: whether point-in-time recovery is possible, whether archiving works, and
how much would be lost against the recovery-point objective.

What SQL cannot show (where base backups go, whether a restore was ever tested) is asked
as questions in the report, never guessed.
"""

from __future__ import annotations

from pgsage.analyzer.model.core import Model

NO_OP_COMMANDS = {"true", "/bin/true", "/usr/bin/true", ":", "exit 0", "/bin/true %p",
                  "true %p", "cd .", "echo %p", "/bin/echo %p"}
"""archive_command values that report success without keeping anything."""


STREAMING_ARCHIVERS = ("pg_receivewal", "barman_receive_wal", "barman-wal-archive")


def streaming_archiver(model: Model) -> str | None:
    for r in model.replicas:
        if (r.application_name or "").lower().startswith(STREAMING_ARCHIVERS):
            return r.application_name
    return None


def archive_command(model: Model) -> str:
    """archive_command as configured, empty when none is: from PostgreSQL 15 pg_settings
    shows `(disabled)` while archive_mode is off, which is no command."""
    command = (model.setting("archive_command") or "").strip()
    return "" if command == "(disabled)" else command


def archiving_configured(model: Model) -> bool:
    mode = model.setting("archive_mode") or "off"
    command = archive_command(model)
    library = (model.setting("archive_library") or "").strip()
    return mode in ("on", "always") and (bool(library) or (
        bool(command) and command not in NO_OP_COMMANDS))
