//! `unitgen render FILE... --out DIR`: the unit files only.

use std::path::{Path, PathBuf};

use super::{load, scope, Failure};
use crate::cli::Global;
use crate::compile::compile;
use crate::render::Renderer;
use crate::unit_dir::UnitDir;

/// Write every namespace's units into `out`.
pub fn run(g: &Global, files: &[PathBuf], out: &Path) -> Result<(), Failure> {
    let namespaces = load(g, files)?;
    let r = Renderer::new();
    let dir = UnitDir::new(out);
    for ns in &namespaces {
        for unit in compile(ns, scope(g), &r) {
            dir.write(&unit.name, &unit.content).map_err(|e| {
                anyhow::anyhow!("cannot write {}: {e}", dir.file(&unit.name).display())
            })?;
            if !g.quiet {
                println!("{}", dir.file(&unit.name).display());
            }
        }
    }
    Ok(())
}
