#!/usr/bin/env bash
# Makes the development CA and Kong's server certificate for the compose stack.
#
#   deploy/tls/make-dev-ca.sh [--name NAME]... [--out DIR] [--kong-uid UID] [--renew] [--force]
#
# Writes, under DIR (default deploy/env/tls, git-ignored like every deploy secret):
#   ca/ca.key  ca/ca.crt          the CA (ECDSA P-256, 10 years); ca/ is never mounted
#   kong/server.key kong/server.crt  Kong's certificate (825 days), mounted into Kong
#   trust/ca.crt                  the CA certificate alone: the nodes' FLEET_CA_FILE
# The server certificate names kong, localhost and 127.0.0.1, plus every --name (DNS name
# or IP address; also FLEET_TLS_NAMES, space- or comma-separated).
#
# Run it again at will: an existing CA is kept (--force makes a new one, and then a new
# server certificate too); the server certificate is re-issued only when it is missing,
# lacks a requested name, no longer verifies against the CA or expires within 30 days,
# or on --renew (give the same --names again). A server certificate the dev CA did not
# issue (a real one) is left alone: exit 1 unless --renew or --force.
#
# Keys are mode 0600. Kong reads its key as the container's kong user: run as root, this
# hands kong/server.key to --kong-uid (KONG_CONTAINER_UID, default 1000, the kong user of
# the kong:3.9 image); otherwise run it as that uid.
# Needs bash and the openssl CLI (1.1.1 or 3.x).
set -euo pipefail

me=make-dev-ca.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${FLEET_TLS_DIR:-$here/../env/tls}
kong_uid=${KONG_CONTAINER_UID:-1000}
force=0
renew=0
names=(kong localhost 127.0.0.1)
names_env=${FLEET_TLS_NAMES:-}
set -f   # split FLEET_TLS_NAMES on spaces and commas, but never glob a *.wildcard
# shellcheck disable=SC2206
extra=(${names_env//,/ })
set +f
names+=("${extra[@]}")

usage() { sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }
while [ "$#" -gt 0 ]; do
    case $1 in
        --name) [ "$#" -ge 2 ] || { echo "$me: --name needs a value" >&2; exit 2; }; names+=("$2"); shift ;;
        --name=*) names+=("${1#--name=}") ;;
        --out) [ "$#" -ge 2 ] || { echo "$me: --out needs a value" >&2; exit 2; }; out=$2; shift ;;
        --out=*) out=${1#--out=} ;;
        --kong-uid) [ "$#" -ge 2 ] || { echo "$me: --kong-uid needs a value" >&2; exit 2; }; kong_uid=$2; shift ;;
        --kong-uid=*) kong_uid=${1#--kong-uid=} ;;
        --renew) renew=1 ;;
        --force) force=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$me: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case $kong_uid in ''|*[!0-9]*) echo "$me: --kong-uid must be a number, got '$kong_uid'" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "$me: the openssl CLI is needed" >&2; exit 1; }

# Subject alternative names: IPs as IP:, the rest as DNS: (after a basic sanity check,
# since a name with a comma or space would silently split the extension).
sans=()
declare -A seen=()
for name in "${names[@]}"; do
    [ -n "$name" ] || continue
    [ -z "${seen[$name]:-}" ] || continue
    seen[$name]=1
    if [[ $name =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $name == *:* ]]; then
        sans+=("IP:$name")
    elif [[ $name =~ ^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
        sans+=("DNS:$name")
    else
        echo "$me: '$name' is neither a DNS name nor an IP address" >&2; exit 2
    fi
done
san_list=$(IFS=,; echo "${sans[*]}")

ca_key=$out/ca/ca.key ca_crt=$out/ca/ca.crt
srv_key=$out/kong/server.key srv_crt=$out/kong/server.crt
trust=$out/trust/ca.crt

# A certificate the dev CA did not issue was put there by hand (a real one, with its root
# in trust/): leave all of it alone rather than swap in dev material behind the operator.
if [ "$force" = 0 ] && [ "$renew" = 0 ] && [ -s "$srv_crt" ] &&
    { [ ! -s "$ca_crt" ] || ! openssl verify -no_check_time -CAfile "$ca_crt" "$srv_crt" >/dev/null 2>&1; }; then
    echo "$me: $srv_crt was not issued by the dev CA in $out/ca (a real certificate?);" \
        "nothing written. --renew replaces it with one from the dev CA" >&2
    exit 1
fi

umask 077
mkdir -p "$out/ca" "$out/kong" "$out/trust"
chmod 755 "$out" "$out/kong" "$out/trust"   # Kong and the nodes read through these
chmod 700 "$out/ca"                          # the CA key is for this host only
work=$(mktemp -d "$out/.make-dev-ca.XXXXXX")
trap 'rm -rf "$work"' EXIT

wrote() { printf '%s: wrote %s (%s)\n' "$me" "$1" "$2"; }

# A 128-bit random serial: no serial file to keep, and no two certificates share one.
serial() { echo "0x$(openssl rand -hex 16)"; }

# --- CA -----------------------------------------------------------------------------------
if [ "$force" = 1 ] || [ ! -s "$ca_key" ] || [ ! -s "$ca_crt" ]; then
    cat >"$work/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = Fleet development CA
O = Fleet (development only)
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca.key" 2>/dev/null
    openssl req -new -x509 -config "$work/ca.cnf" -key "$work/ca.key" -sha256 -days 3650 \
        -set_serial "$(serial)" -out "$work/ca.crt"
    chmod 600 "$work/ca.key"
    chmod 644 "$work/ca.crt"
    mv -f "$work/ca.key" "$ca_key"
    mv -f "$work/ca.crt" "$ca_crt"
    wrote "$ca_key" "CA key, mode 0600; keep it on this host"
    wrote "$ca_crt" "CA certificate, valid 10 years"
    renew=1   # a certificate from the old CA would no longer verify
else
    echo "$me: kept the existing CA $ca_crt (--force makes a new one)"
fi

# The nodes' bundle is the CA certificate and nothing else, so FLEET_CA_FILE trusts
# only what this CA signed.
if ! cmp -s "$ca_crt" "$trust" 2>/dev/null; then
    cp "$ca_crt" "$work/trust.crt"
    chmod 644 "$work/trust.crt"
    mv -f "$work/trust.crt" "$trust"
    wrote "$trust" "the nodes' FLEET_CA_FILE"
fi

# --- Kong's server certificate -------------------------------------------------------------
server_is_current() {
    [ -s "$srv_key" ] && [ -s "$srv_crt" ] || return 1
    openssl verify -CAfile "$ca_crt" -purpose sslserver "$srv_crt" >/dev/null 2>&1 || return 1
    openssl x509 -in "$srv_crt" -noout -checkend $((30 * 86400)) >/dev/null || return 1
    local san
    for san in "${sans[@]}"; do
        case $san in
            IP:*) openssl x509 -in "$srv_crt" -noout -checkip "${san#IP:}" | grep -q ' does match' || return 1 ;;
            # A wildcard is matched by the names it covers, not by itself.
            DNS:\*.*) openssl x509 -in "$srv_crt" -noout -checkhost "probe.${san#DNS:\*.}" | grep -q ' does match' || return 1 ;;
            *) openssl x509 -in "$srv_crt" -noout -checkhost "${san#DNS:}" | grep -q ' does match' || return 1 ;;
        esac
    done
    # The key must be the certificate's (a half-replaced pair fails Kong at start).
    [ "$(openssl pkey -in "$srv_key" -pubout 2>/dev/null)" = "$(openssl x509 -in "$srv_crt" -noout -pubkey)" ]
}

if [ "$renew" = 1 ] || ! server_is_current; then
    # BoringSSL (swift-nio-ssl, on the nodes) wants a leaf that says it is one: CA:FALSE,
    # serverAuth, and the names in subjectAltName (the CN is not read for names).
    cat >"$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san_list
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/server.key" 2>/dev/null
    openssl req -new -key "$work/server.key" -subj "/O=Fleet (development only)/CN=kong" -out "$work/server.csr"
    openssl x509 -req -in "$work/server.csr" -CA "$ca_crt" -CAkey "$ca_key" -set_serial "$(serial)" \
        -sha256 -days 825 -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
    chmod 600 "$work/server.key"
    chmod 644 "$work/server.crt"
    mv -f "$work/server.key" "$srv_key"
    mv -f "$work/server.crt" "$srv_crt"
    wrote "$srv_key" "Kong's key, mode 0600"
    wrote "$srv_crt" "Kong's certificate for $san_list, valid 825 days"
else
    echo "$me: kept $srv_crt (valid for $san_list; --renew re-issues it)"
fi

# Kong opens its key as the image's kong user, not as whoever ran this script.
if [ "$(id -u)" = 0 ]; then
    if [ "$(stat -c %u "$srv_key")" != "$kong_uid" ]; then
        chown "$kong_uid" "$srv_key"
        echo "$me: $srv_key now belongs to uid $kong_uid (Kong's user in its container)"
    fi
elif [ "$(id -u)" != "$kong_uid" ]; then
    echo "$me: warning: Kong reads $srv_key as uid $kong_uid, but it belongs to uid $(id -u);" \
        "run: sudo chown $kong_uid $srv_key" >&2
fi
