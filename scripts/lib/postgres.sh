# Throwaway Postgres clusters for tests, benchmarks and the local fleet.
# Source this file; it defines pg_start DIR and pg_stop DIR. Works as root (runs the
# server as the `postgres` user, since initdb refuses root) and as an ordinary user.

pg_bindir() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir; return 0
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    echo "postgres: initdb not found (install the postgresql package)" >&2
    return 1
}

pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# pg_as CMD...: run as the postgres user when we are root.
pg_as() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR [PORT]: initialise DIR if needed, start on PORT (free one by default),
# and export PGHOST/PGPORT/PGUSER for the caller.
pg_start() {
    local dir=$1 port=${2:-}
    local bin; bin=$(pg_bindir) || return 1
    [ -n "$port" ] || port=$(pg_free_port)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
    fi
    # Loopback only; fsync off: this cluster is disposable, never a real deployment. The Swift
    # tests run their suites in parallel, each app with its own pool and listener (and each
    # host-side token mint with one more): 300 connections were seen to run out.
    pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000 ${PG_EXTRA_OPTS:-}" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
}

pg_stop() {
    local dir=$1
    local bin; bin=$(pg_bindir) || return 0
    [ -f "$dir/data/postmaster.pid" ] && pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
