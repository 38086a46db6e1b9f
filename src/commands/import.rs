//! `unitgen import FILE`: PM2 ecosystem file to unitgen TOML.

use super::Failure;
use crate::cli::{Global, ImportArgs};

/// Import a PM2 ecosystem file.
pub fn run(_g: &Global, a: &ImportArgs) -> Result<(), Failure> {
    Err(Failure::Usage(format!("import of {} is not built yet", a.file.display())))
}
