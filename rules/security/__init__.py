"""Security rules (SE): who connects how, with which rights, and what is exposed."""

from pgsage.rules.security import access, data, roles  # noqa: F401
