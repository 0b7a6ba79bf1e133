# shellcheck shell=bash
# Source this file (bash or zsh) to put the project's pinned anvil, forge and cast on PATH.
# It exports ANVIL, FORGE, CAST (absolute binary paths) and LOFT_CONTRACTS_DIR.
# The binaries come from contracts/node_modules; run scripts/install-tools.sh first.

if [ -n "${BASH_SOURCE[0]:-}" ]; then
    _loft_env_src="${BASH_SOURCE[0]}"
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296
    _loft_env_src="${(%):-%x}"
else
    _loft_env_src="$0"
fi
LOFT_ROOT="$(cd "$(dirname "$_loft_env_src")/.." && pwd -P)"
unset _loft_env_src
LOFT_CONTRACTS_DIR="$LOFT_ROOT/contracts"
_loft_fr="$LOFT_CONTRACTS_DIR/node_modules/@foundry-rs"

ANVIL="$_loft_fr/anvil-linux-amd64/bin/anvil"
FORGE="$_loft_fr/forge-linux-amd64/bin/forge"
CAST="$_loft_fr/cast-linux-amd64/bin/cast"
export LOFT_ROOT LOFT_CONTRACTS_DIR ANVIL FORGE CAST

for _loft_dir in "$_loft_fr/anvil-linux-amd64/bin" "$_loft_fr/forge-linux-amd64/bin" "$_loft_fr/cast-linux-amd64/bin"; do
    case ":$PATH:" in
        *":$_loft_dir:"*) ;;
        *) PATH="$_loft_dir:$PATH" ;;
    esac
done
export PATH
unset _loft_dir _loft_fr
