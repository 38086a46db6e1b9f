//! `unitgen validate FILE...`: every check, nothing touched.

use std::path::PathBuf;

use super::{load, Failure};
use crate::cli::Global;

/// Check the files and say so.
pub fn run(global: &Global, files: &[PathBuf]) -> Result<(), Failure> {
    let printer = global.printer();
    let namespaces = load(global, files)?;
    for ns in &namespaces {
        let instances: u32 = ns.apps.iter().map(|args| args.instances).sum();
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
