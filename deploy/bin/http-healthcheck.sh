#!/bin/bash
# Docker healthcheck without curl: exit 0 when URL answers HTTP 200, 1 otherwise.
#
#   http-healthcheck.sh [URL]      (default http://127.0.0.1:${PORT:-8080}/readyz)
#
# Plain http:// only, through bash's /dev/tcp; the runtime image needs no HTTP client.
set -u
url=${1:-http://127.0.0.1:${PORT:-8080}/readyz}
case $url in
    http://*) rest=${url#http://} ;;
    *) echo "http-healthcheck: only http:// URLs are supported: $url" >&2; exit 2 ;;
esac
hostport=${rest%%/*}
if [ "$hostport" = "$rest" ]; then path=/; else path=/${rest#*/}; fi
host=${hostport%:*}
port=${hostport##*:}
[ "$host" = "$hostport" ] && port=80

if ! exec 3<>"/dev/tcp/$host/$port"; then
    echo "http-healthcheck: cannot connect to $host:$port" >&2
    exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fleet-healthcheck\r\nConnection: close\r\n\r\n' \
    "$path" "$hostport" >&3
if ! IFS= read -r -t 5 status <&3; then
    echo "http-healthcheck: no answer from $url" >&2
    exit 1
fi
status=${status%$'\r'}
case $status in
    "HTTP/1."[01]" 200"*) exit 0 ;;
esac
echo "http-healthcheck: $url answered '$status'" >&2
exit 1
