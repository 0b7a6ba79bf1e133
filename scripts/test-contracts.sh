#!/usr/bin/env bash
# Runs the forge tests of contracts/ (extra arguments go to `forge test`, e.g. -vvv or --gas-report).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

if [ ! -x "$FORGE" ]; then
    echo "test-contracts: $FORGE not found; run scripts/install-tools.sh first" >&2
    exit 1
fi

cd "$ROOT/contracts"
exec "$FORGE" test "$@"
