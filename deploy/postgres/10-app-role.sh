#!/bin/sh
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d),
# as the superuser, in the database POSTGRES_DB.
#
# The application connects as its own role, not the superuser: a login role that may not
# create roles or databases and owns one schema, `insights`, where the migrations put
# every table. The password comes from the secret file; psql's :'pw' quotes it, so any
# character is safe.
set -eu
password_file="${APP_PASSWORD_FILE:-/run/secrets/postgres_app_password}"
app_role="${APP_ROLE:-insights_app}"
password="$(cat "$password_file")"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v role="$app_role" -v pw="$password" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA insights AUTHORIZATION :"role";
ALTER ROLE :"role" IN DATABASE :"db" SET search_path = insights;
SQL
