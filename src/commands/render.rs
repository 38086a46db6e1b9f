//! `unitgen render FILE... --out DIR`: the unit files, and the environment files they read.

use std::path::{Path, PathBuf};

use super::{load, Failure};
use crate::adapters::unit_dir::{EnvDir, UnitDir};
use crate::cli::Global;
use crate::core::compile::{compile, env_files};
use crate::core::render::Renderer;

/// Write every namespace's units into `out`, and their environment files where those units
/// look for them (`/etc/unitgen/env` when `out` is systemd's own directory, else
/// `out/unitgen-env`).
pub fn run(global: &Global, files: &[PathBuf], out: &Path) -> Result<(), Failure> {
    let printer = global.printer();
    let namespaces = load(global, files)?;
    let r = Renderer::new();
    let dir = UnitDir::new(out);
    let target = super::target_for(global, out);
    let env_dir = EnvDir::new(target.env_dir.clone());
    for ns in &namespaces {
        for unit in compile(ns, &target, &r) {
            dir.write(&unit.name, &unit.content)
                .map_err(|e| Failure::io(&dir.file(&unit.name), e))?;
            printer.line(format!("{}", dir.file(&unit.name).display()));
        }
        for f in env_files(ns, &target) {
            env_dir
                .write(&f.name, &f.content)
                .map_err(|e| Failure::io(&env_dir.file(&f.name), e))?;
            printer.line(format!("{}", env_dir.file(&f.name).display()));
        }
    }
    Ok(())
}
