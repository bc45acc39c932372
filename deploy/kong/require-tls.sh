#!/bin/sh
# Refuses to start Kong without a readable TLS certificate and key, then execs Kong.
#
#   require-tls.sh COMMAND ARGS...
#
# Checks KONG_SSL_CERT and KONG_SSL_CERT_KEY (paths) as the user Kong runs as. Without
# this, a missing deploy/env/tls shows up as an empty directory docker created for the
# bind mount and a Kong error that does not say which script makes the files, or that a
# key the container user cannot read is the problem. Exit 78 (EX_CONFIG), like the
# images' fleet-entrypoint.sh. Plain POSIX sh: the Kong image has nothing more.
set -eu

me=require-tls.sh
if [ "$#" -eq 0 ]; then
    echo "$me: no command given" >&2
    exit 2
fi
bad=0
for name in KONG_SSL_CERT KONG_SSL_CERT_KEY; do
    path=
    eval "path=\${$name-}"
    if [ -z "$path" ]; then
        echo "$me: $name is not set" >&2
        bad=1
    elif [ ! -e "$path" ]; then
        echo "$me: $name: $path does not exist; run deploy/tls/make-dev-ca.sh once" \
            "(or put a real certificate there, see deploy/TLS.md)" >&2
        bad=1
    elif [ ! -r "$path" ] || [ ! -s "$path" ]; then
        echo "$me: $name: $path is empty or not readable by uid $(id -u), the user Kong runs as;" \
            "on the host: chown $(id -u) deploy/env/tls/kong/$(basename "$path")" \
            "(make-dev-ca.sh does it when run as root)" >&2
        bad=1
    fi
done
[ "$bad" -eq 0 ] || exit 78
exec "$@"
