//! `unitgen __man DIR`: the man pages of the command line, generated from the clap definitions
//! so that they never drift from it.

use std::path::Path;

use clap::CommandFactory;

use super::Failure;
use crate::cli::Cli;

/// Write `unitgen.1` and one `unitgen-VERB.1` per command into `out`.
pub fn run(out: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, out)
        .map_err(|e| anyhow::anyhow!("cannot write man pages: {e}"))?;
    Ok(())
}
