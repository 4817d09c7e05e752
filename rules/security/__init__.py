"""Security rules (SE): who connects how, with which rights, and what is exposed."""

from pgsage.rules.security import (  # noqa: F401  (imported for registration)
    hba_trust,
    login_without_password,
    md5_passwords,
    password_in_statements,
    privileged_application_role,
    public_schema_create,
    superuser_sessions,
    tenant_without_rls,
    unchecked,
    unencrypted_connections,
)
