#!/bin/sh
# First start: initdb into the volume, then a role and a database `textbook` owned by it,
# password from POSTGRES_PASSWORD. Every start: postgres on $PGLISTEN:$PGPORT (host network).
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
BIN=/usr/lib/postgresql/15/bin

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    "$BIN/initdb" --pgdata "$PGDATA" --username postgres --encoding UTF8 --locale C.UTF-8 \
        --auth-local peer --auth-host scram-sha-256 >/dev/null
    "$BIN/pg_ctl" --pgdata "$PGDATA" --wait --silent \
        --options "-c listen_addresses='' -c unix_socket_directories=/tmp" start
    printf "CREATE ROLE textbook LOGIN PASSWORD :'password';\nCREATE DATABASE textbook OWNER textbook;\n" \
        | psql --quiet --host /tmp --username postgres --dbname postgres --set ON_ERROR_STOP=1 \
               --set password="$POSTGRES_PASSWORD"
    "$BIN/pg_ctl" --pgdata "$PGDATA" --wait --silent stop
fi

exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses="$PGLISTEN" -p "$PGPORT" \
    -c unix_socket_directories=/tmp -c max_connections=100
