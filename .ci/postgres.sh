# Source this: a throwaway Postgres server on loopback for the tests that need one.
# Installs Debian's postgresql when missing, makes a cluster in a temp dir owned by the
# postgres user, starts it on a free port, creates a database, exports
# CODECREW_TEST_POSTGRES_URL, and stops the server and removes the cluster on exit.

start_test_postgres() {
    if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    fi
    local bin
    bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    TEST_PG_DIR="$(mktemp -d /tmp/codecrew-pg.XXXXXX)"
    local as_postgres=()
    if [ "$(id -u)" = 0 ]; then  # initdb refuses root: the cluster belongs to postgres
        chown postgres "$TEST_PG_DIR"
        as_postgres=(runuser -u postgres --)
    fi
    "${as_postgres[@]}" "$bin/initdb" -D "$TEST_PG_DIR/data" -U postgres -A trust >/dev/null
    "${as_postgres[@]}" "$bin/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $TEST_PG_DIR -c max_connections=200" start >/dev/null
    "${as_postgres[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres codecrew_test
    TEST_PG_STOP=("${as_postgres[@]}" "$bin/pg_ctl" -D "$TEST_PG_DIR/data" -m fast stop)
    export CODECREW_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/codecrew_test"
    echo "test Postgres: $CODECREW_TEST_POSTGRES_URL"
}

stop_test_postgres() {
    if [ -n "${TEST_PG_DIR:-}" ]; then
        "${TEST_PG_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$TEST_PG_DIR"
    fi
}
