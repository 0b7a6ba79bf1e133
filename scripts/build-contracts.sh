#!/usr/bin/env bash
# Builds the contracts with forge and writes the committed artifacts contracts/artifacts/<Name>.json
# (abi, bytecode.object, deployedBytecode.object) that the Rust crates embed.
#
#   scripts/build-contracts.sh           build and (re)write contracts/artifacts/*.json
#   scripts/build-contracts.sh --check   build into a temporary folder and fail if the committed
#                                        artifacts differ from that fresh build (nothing is written)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh"

# Contracts whose artifacts are committed; each lives in a file named <Name>.sol.
NAMES=(L1Rollup L1Bridge DevToken StepVerifier Adjudicator ZkRollup Groth16Verifier)
ARTIFACTS="$ROOT/contracts/artifacts"

check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: $0 [--check]" >&2; exit 2; }

if [ ! -x "$FORGE" ]; then
    echo "build-contracts: $FORGE not found; run scripts/install-tools.sh first" >&2
    exit 1
fi

cd "$ROOT/contracts"

if [ "$check" = 0 ]; then
    "$FORGE" build
    node "$ROOT/scripts/export-artifacts.js" out "$ARTIFACTS" "${NAMES[@]}"
    echo "build-contracts: wrote ${NAMES[*]/%/.json} to contracts/artifacts/"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Fresh build in a temporary out/cache: same sources and settings, so the same bytecode.
"$FORGE" build --out "$tmp/out" --cache-path "$tmp/cache"
node "$ROOT/scripts/export-artifacts.js" "$tmp/out" "$tmp/artifacts" "${NAMES[@]}"

stale=()
for name in "${NAMES[@]}"; do
    if ! cmp -s "$tmp/artifacts/$name.json" "$ARTIFACTS/$name.json"; then
        stale+=("contracts/artifacts/$name.json")
    fi
done
if [ ${#stale[@]} -ne 0 ]; then
    echo "build-contracts: STALE artifact(s), they differ from a fresh build of contracts/src:" >&2
    for f in "${stale[@]}"; do
        if [ -f "$ROOT/$f" ]; then echo "  $f" >&2; else echo "  $f (missing)" >&2; fi
    done
    echo "Run scripts/build-contracts.sh and commit the result." >&2
    exit 1
fi
echo "build-contracts: contracts/artifacts are up to date (${NAMES[*]})"
