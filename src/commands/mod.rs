//! One file per verb: each a short script over the modules of the crate.

mod completions;
mod import;
mod man;
mod plan;
mod render;
mod validate;

use std::path::PathBuf;

use crate::cli::{Cli, Command, Global};
use crate::config::{self, Namespace};
use crate::diagnostic::Diagnostics;
use crate::host::SystemHost;
use crate::unit_dir::{self, UnitDir};

/// How a command ended, as the exit status of CLI.md.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad usage or bad config; nothing changed (exit 2).
    #[error("{0}")]
    Config(Diagnostics),
    /// Bad usage (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Something did not reach its wanted state (exit 1).
    #[error("{0}")]
    Failed(String),
    /// An operating-system error (exit 1).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Failure {
    /// The process exit status.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Config(_) | Failure::Usage(_) => 2,
            Failure::Failed(_) | Failure::Other(_) => 1,
        }
    }
}

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match cli.command {
        Command::Validate(a) => validate::run(g, &a.files),
        Command::Render(a) => render::run(g, &a.files, &a.out),
        Command::Plan(a) => plan::run(g, &a.files),
        Command::Import(a) => import::run(g, &a),
        Command::Completions(a) => completions::run(a.shell),
        Command::Man(a) => man::run(&a.out),
    }
}

/// The unit directory the global options point at.
pub fn unit_dir(g: &Global) -> UnitDir {
    UnitDir::new(
        g.unit_dir
            .clone()
            .unwrap_or_else(|| unit_dir::default_dir(g.user)),
    )
}

/// The compile scope the global options ask for.
pub fn scope(g: &Global) -> crate::compile::Scope {
    if g.user {
        crate::compile::Scope::User
    } else {
        crate::compile::Scope::System
    }
}

/// Read and resolve ecosystem files against this machine and its unit directory.
pub fn load(g: &Global, files: &[PathBuf]) -> Result<Vec<Namespace>, Failure> {
    let mut texts = Vec::new();
    let mut diags = Diagnostics::default();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push((f.clone(), t)),
            Err(e) => diags.0.extend(config::unreadable(f, &e).0),
        }
    }
    if !diags.is_empty() {
        return Err(Failure::Config(diags));
    }
    let claims = unit_dir(g).claims().map_err(|e| {
        anyhow::anyhow!(
            "cannot read the unit directory {}: {e}",
            unit_dir(g).path.display()
        )
    })?;
    let host = SystemHost::new(claims);
    config::load_all(&texts, &host).map_err(Failure::Config)
}
