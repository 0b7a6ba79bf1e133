//! `loft scenario operator-failover`: placeholder replaced below.
use eyre::{Result, bail};

use super::StoryArgs;

pub(super) async fn run(_args: StoryArgs) -> Result<()> {
    bail!("not yet")
}
