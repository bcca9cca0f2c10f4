#!/bin/sh
# First start of the database container (/docker-entrypoint-initdb.d): two roles.
#   ledger_owner  owns the database and its schema; `ledger migrate` runs as it.
#   ledger_app    what the API and workers connect as: read/write on read models and keys,
#                 but only SELECT and INSERT on stored_events and checkpoints (migration 0051
#                 revokes the rest; a trigger refuses UPDATE/DELETE/TRUNCATE to everyone).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     --set=owner_password="$LEDGER_OWNER_PASSWORD" --set=app_password="$LEDGER_APP_PASSWORD" <<'SQL'
CREATE ROLE ledger_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE ledger_app LOGIN PASSWORD :'app_password';
CREATE DATABASE ledger OWNER ledger_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname ledger <<'SQL'
ALTER SCHEMA public OWNER TO ledger_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ledger_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_owner
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ledger_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_owner
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ledger_app;
SQL
