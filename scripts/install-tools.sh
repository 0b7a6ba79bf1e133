#!/usr/bin/env bash
# Installs the pinned Ethereum toolchain (anvil, forge, cast, solc-js, OpenZeppelin) into
# contracts/node_modules with `npm ci`, unless that was already done for the current
# package-lock.json, then checks that anvil, forge and cast run.
#
# The stamp contracts/node_modules/.loft-install-stamp holds the sha256 of package-lock.json
# from the last successful install. Set LOFT_FORCE_INSTALL=1 to reinstall anyway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CONTRACTS="$ROOT/contracts"
LOCK="$CONTRACTS/package-lock.json"
STAMP="$CONTRACTS/node_modules/.loft-install-stamp"

command -v node >/dev/null || { echo "install-tools: node is required (Node 20+)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-tools: npm is required" >&2; exit 1; }
[ -f "$LOCK" ] || { echo "install-tools: missing $LOCK" >&2; exit 1; }

want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
have=""
[ -f "$STAMP" ] && have="$(cat "$STAMP")"

if [ "${LOFT_FORCE_INSTALL:-0}" != "1" ] && [ "$want" = "$have" ]; then
    echo "install-tools: contracts/node_modules is up to date (package-lock.json sha256 $want)"
else
    echo "install-tools: running npm ci in contracts/"
    (cd "$CONTRACTS" && npm ci --no-audit --no-fund)
    printf '%s\n' "$want" > "$STAMP"
fi

# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

for tool in "$ANVIL" "$FORGE" "$CAST"; do
    if [ ! -x "$tool" ]; then
        echo "install-tools: $tool is missing or not executable; rerun with LOFT_FORCE_INSTALL=1" >&2
        exit 1
    fi
    "$tool" --version | head -n 1
done
node "$ROOT/scripts/solc" --version | grep Version:
