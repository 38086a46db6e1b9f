//! `unitgen validate FILE...`: every check, nothing touched.

use std::path::PathBuf;

use super::{load, Failure};
use crate::cli::Global;

/// Check the files and say so.
pub fn run(g: &Global, files: &[PathBuf]) -> Result<(), Failure> {
    let printer = g.printer();
    let namespaces = load(g, files)?;
    for ns in &namespaces {
        let instances: u32 = ns.apps.iter().map(|a| a.instances).sum();
        printer.line(format!(
            "{}: ok (namespace {}, {} app{}, {} instance{})",
            ns.source.display(),
            ns.name,
            ns.apps.len(),
            if ns.apps.len() == 1 { "" } else { "s" },
            instances,
            if instances == 1 { "" } else { "s" }
        ));
    }

    Ok(())
}
