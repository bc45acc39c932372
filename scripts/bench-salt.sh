#!/usr/bin/env bash
# Starts or stops a local Salt master and N minions for scripts/bench-fanout.sh --salt: the peer
# measured side by side with Fleet in the same run, on loopback, with Salt's defaults otherwise.
# Usage: scripts/bench-salt.sh start DIR VENV N | scripts/bench-salt.sh stop DIR
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case $1 in
start)
    dir=$2 venv=$3 count=$4
    mkdir -p "$dir/etc"
    publish=$(free_port) ret=$(free_port)
    cat >"$dir/etc/master" <<CONF
root_dir: $dir/master
user: $(id -un)
interface: 127.0.0.1
publish_port: $publish
ret_port: $ret
auto_accept: True
log_level: warning
CONF
    "$venv/bin/salt-master" -c "$dir/etc" -d
    for i in $(seq "$count"); do
        mkdir -p "$dir/minion-$i/etc"
        cat >"$dir/minion-$i/etc/minion" <<CONF
root_dir: $dir/minion-$i
id: salt-$i
user: $(id -un)
master: 127.0.0.1
master_port: $ret
publish_port: $publish
acceptance_wait_time: 1
log_level: warning
CONF
        "$venv/bin/salt-minion" -c "$dir/minion-$i/etc" -d
    done
    echo "salt-master and $count salt-minions starting under $dir"
    ;;
stop)
    dir=$2
    for pidfile in $(find "$dir" -name '*.pid' 2>/dev/null); do
        kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 1
    pkill -KILL -f -- "-c $dir/" 2>/dev/null || true
    ;;
*) echo "usage: $0 start DIR VENV N | stop DIR" >&2; exit 2 ;;
esac
