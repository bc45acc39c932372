#!/bin/sh
# Renders Kong's declarative config from its template, then (optionally) execs Kong.
#
#   render.sh TEMPLATE OUTPUT [-- COMMAND ARGS...]
#
# Every ${NAME} in TEMPLATE (comment lines excepted) becomes the value of the environment
# variable NAME. Rendering fails loudly (exit 1, one line per problem, nothing written)
# when a variable is unset or empty, is still the CHANGE_ME placeholder from
# env/.env.example, or holds a character outside [A-Za-z0-9._~+/=@%:-] (values are pasted
# into YAML as they are; `openssl rand -hex 32` always fits). JWT_SIGNING_SECRET must be
# at least 32 bytes, as agent-svc requires.
#
# OUTPUT is written with mode 0600 (it holds the signing secret); in compose it lives on
# a tmpfs, so the secret never reaches a disk. After `--`, COMMAND replaces this shell:
# the kong container runs `render.sh ... -- /docker-entrypoint.sh kong docker-start`.
#
# Plain POSIX sh and awk: the official Kong image has nothing more.
set -eu

me=render.sh
if [ "$#" -lt 2 ]; then
    echo "usage: $me TEMPLATE OUTPUT [-- COMMAND ARGS...]" >&2
    exit 2
fi
template=$1
output=$2
shift 2
if [ "$#" -gt 0 ]; then
    if [ "$1" != "--" ]; then
        echo "$me: expected -- before the command, got '$1'" >&2
        exit 2
    fi
    shift
fi
if [ ! -r "$template" ]; then
    echo "$me: cannot read template $template" >&2
    exit 1
fi

outdir=$(dirname "$output")
mkdir -p "$outdir"
tmp="$output.tmp.$$"
trap 'rm -f "$tmp"' EXIT
umask 077

# awk reads the variables through ENVIRON; it reports every problem before failing.
if ! awk -v me="$me" -v template="$template" '
    function problem(text) { print me ": " text > "/dev/stderr"; failed = 1 }
    /^[ \t]*#/ { print; next }   # comments are copied as they are
    {
        line = $0
        out = ""
        while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
            name = substr(line, RSTART + 2, RLENGTH - 3)
            value = (name in ENVIRON) ? ENVIRON[name] : ""
            if (!(name in checked)) {
                checked[name] = 1
                if (value == "") {
                    problem(name " is unset or empty (needed by " template "); set it in deploy/env/.env")
                } else if (value ~ /CHANGE_ME/) {
                    problem(name " is still the CHANGE_ME placeholder; generate one: openssl rand -hex 32")
                } else if (value !~ /^[A-Za-z0-9._~+\/=@%:-]+$/) {
                    problem(name " contains characters outside [A-Za-z0-9._~+/=@%:-]; generate one: openssl rand -hex 32")
                } else if (name == "JWT_SIGNING_SECRET" && length(value) < 32) {
                    problem(name " must be at least 32 bytes (got " length(value) ")")
                }
            }
            out = out substr(line, 1, RSTART - 1) value
            line = substr(line, RSTART + RLENGTH)
        }
        print out line
    }
    END { exit failed }
' "$template" >"$tmp"; then
    echo "$me: refusing to render $template" >&2
    exit 1
fi
if grep -v '^[[:space:]]*#' "$tmp" | grep -q '\${'; then
    echo "$me: $output would still contain a \${...} placeholder (malformed name in $template)" >&2
    exit 1
fi
chmod 600 "$tmp"
mv -f "$tmp" "$output"
trap - EXIT
echo "$me: rendered $output from $template" >&2

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
