//! Naming an L1 revert for people: the rollup's custom error when the data is one.

use alloy::sol_types::SolInterface;
use loft_contracts::L1Rollup;
use loft_l1::L1Error;

/// For a revert, the rollup's error it carries (`OperatorLive(...)`), or the node's reason when
/// the data is not one of the rollup's errors; `None` when `e` is not a revert.
pub(crate) fn rollup_revert(e: &L1Error) -> Option<String> {
    let L1Error::Reverted { data, reason, .. } = e else {
        return None;
    };
    Some(
        L1Rollup::L1RollupErrors::abi_decode(data)
            .map(|err| format!("{err:?}"))
            .unwrap_or_else(|_| reason.clone()),
    )
}
