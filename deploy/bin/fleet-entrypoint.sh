#!/bin/sh
# Entrypoint of the agent-svc and node-agent images: refuses to start with a secret that
# is still the placeholder of deploy/env/.env.example, then becomes the real command.
#
#   fleet-entrypoint.sh COMMAND ARGS...
#
# Only variables that are set are checked; whether a required one is missing is for the
# binary to say (agent-svc refuses to start without JWT_SIGNING_SECRET, for example).
# Exit 78 (EX_CONFIG) on a placeholder, like node-agent's "configuration refused".
set -eu

if [ "$#" -eq 0 ]; then
    echo "fleet-entrypoint: no command given" >&2
    exit 2
fi
bad=0
for name in JWT_SIGNING_SECRET ENROLLMENT_TOKEN DB_PASSWORD; do
    value=
    eval "value=\${$name-}"
    case $value in
        *CHANGE_ME*)
            echo "fleet-entrypoint: $name is still the CHANGE_ME placeholder from env/.env.example;" \
                "generate one with: openssl rand -hex 32" >&2
            bad=1
            ;;
    esac
done
[ "$bad" -eq 0 ] || exit 78
exec "$@"
