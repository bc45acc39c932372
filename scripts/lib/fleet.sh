# Helpers to run a local fleet (agent-svc + node-agents over a private Postgres cluster).
# Source after scripts/lib/postgres.sh. Used by scripts/dev-fleet.sh and scripts/screenshots.sh.

# fleet_apt_install: installs the apt packages this machine is missing (root or sudo).
fleet_apt_install() {
    local missing=() pkg
    for pkg in postgresql libsqlite3-dev libncursesw5-dev tmux curl python3; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing ${missing[*]}"
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# fleet_build CONFIG: builds the four binaries; sets FLEET_BIN to their directory.
fleet_build() {
    local config=${1:-debug} product
    for product in agent-svc node-agent fleet-tui fleet; do
        swift build -c "$config" --product "$product" 2>&1 | grep -E "error:|Build of" || true
        [ "${PIPESTATUS[0]}" = 0 ] || { echo "build of $product failed" >&2; return 1; }
    done
    FLEET_BIN=$(swift build -c "$config" --show-bin-path)
}

# fleet_port_free PORT: true when nothing listens on 127.0.0.1:PORT.
fleet_port_free() {
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$1" 2>/dev/null
}

# fleet_secrets FILE: creates FILE (mode 0600) with fresh secrets unless it exists; sources it.
fleet_secrets() {
    local file=$1
    if [ ! -s "$file" ]; then
        (umask 077; {
            echo "JWT_SIGNING_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
            echo "ENROLLMENT_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
        } >"$file")
    fi
    chmod 600 "$file"
    set -a; . "$file"; set +a
}

# fleet_createdb NAME: creates the database on $PGHOST:$PGPORT unless it exists.
fleet_createdb() {
    local name=$1
    psql -qAt -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 \
        || psql -q -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE \"$name\"" >/dev/null
}

# fleet_start_svc PORT LOGFILE: starts agent-svc in the background (pid in SVC_PID) and
# waits for /readyz. Needs JWT_SIGNING_SECRET, ENROLLMENT_TOKEN, PGPORT, FLEET_BIN.
fleet_start_svc() {
    local port=$1 log=$2
    # Exported, not only passed: `agent-svc operator-token` run later from the same shell
    # records the tokens it mints in this database.
    export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=${FLEET_DB:-fleet} \
        MIGRATIONS_DIR=${FLEET_ROOT:-$PWD}/migrations
    DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=${FLEET_DB:-fleet} PORT=$port HOST=127.0.0.1 \
        MIGRATIONS_DIR=${FLEET_ROOT:-$PWD}/migrations LOG_LEVEL=${FLEET_LOG_LEVEL:-info} ONLINE_WINDOW_SEC=${ONLINE_WINDOW_SEC:-60} \
        "$FLEET_BIN/agent-svc" >>"$log" 2>&1 &
    SVC_PID=$!
    local _
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$SVC_PID" 2>/dev/null || { echo "agent-svc exited; last log lines:" >&2; tail -20 "$log" >&2; return 1; }
        sleep 0.2
    done
    echo "agent-svc did not become ready in 60 s (log: $log)" >&2
    return 1
}

# fleet_start_node ID ATTRS STATEDIR LOGFILE URL: starts one node-agent; appends its pid to NODE_PIDS.
fleet_start_node() {
    local id=$1 attrs=$2 dir=$3 log=$4 url=$5
    mkdir -p "$dir"; chmod 700 "$dir"
    AGENT_SVC_URL=$url NODE_ID=$id NODE_ATTRS=$attrs STATE_DIR=$dir LOG_LEVEL=${FLEET_LOG_LEVEL:-info} \
        "$FLEET_BIN/node-agent" >>"$log" 2>&1 &
    NODE_PIDS+=($!)
}

# fleet_stop_pids PID...: SIGTERM, wait up to 10 s, then SIGKILL.
fleet_stop_pids() {
    local pid _
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
