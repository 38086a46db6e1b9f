//! `unitgen validate FILE...`: every check, nothing touched.

use std::path::PathBuf;

use super::{load, Failure};
use crate::cli::Global;

/// Check the files and say so.
pub fn run(g: &Global, files: &[PathBuf]) -> Result<(), Failure> {
    let namespaces = load(g, files)?;
    if !g.quiet {
        for ns in &namespaces {
            let instances: u32 = ns.apps.iter().map(|a| a.instances).sum();
            println!(
                "{}: ok (namespace {}, {} app{}, {} instance{})",
                ns.source.display(),
                ns.name,
                ns.apps.len(),
                if ns.apps.len() == 1 { "" } else { "s" },
                instances,
                if instances == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}
