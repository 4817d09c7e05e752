-- Runs once, on the first start of the compose PostgreSQL (docker-entrypoint-initdb.d).
-- The monitoring role pgsage connects as: pg_monitor and nothing else (read-only).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE ROLE pgsage LOGIN PASSWORD 'pgsage-demo-password' CONNECTION LIMIT 3;
GRANT pg_monitor TO pgsage;
GRANT CONNECT ON DATABASE app TO pgsage;
