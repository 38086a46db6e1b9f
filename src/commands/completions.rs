//! `unitgen completions SHELL`.

use clap::CommandFactory;

use super::Failure;
use crate::cli::Cli;

/// Print the completion script for `shell` to standard output.
pub fn run(shell: clap_complete::Shell) -> Result<(), Failure> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "unitgen",
        &mut std::io::stdout(),
    );
    Ok(())
}
