//! `unitgen plan FILE...`: what `apply` would do, with diffs.

use std::path::PathBuf;

use super::{load, scope, unit_dir, Failure};
use crate::cli::Global;
use crate::compile::compile;
use crate::plan::{plan, Change};
use crate::render::Renderer;

/// Print the plan of every namespace.
pub fn run(g: &Global, files: &[PathBuf]) -> Result<(), Failure> {
    let namespaces = load(g, files)?;
    let r = Renderer::new();
    let dir = unit_dir(g);
    let installed = dir
        .read_all()
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.path.display()))?;
    let mut foreign = Vec::new();
    for ns in &namespaces {
        let units = compile(ns, scope(g), &r);
        let p = plan(&ns.name, &units, &installed);
        print!("{}", p.describe(&dir.path));
        for c in &p.changes {
            let name = c.name();
            if let Some(stem) = name.strip_suffix("@.service") {
                let app = ns
                    .apps
                    .iter()
                    .find(|a| format!("{}-{}", ns.name, a.name) == stem);
                let n = app.map_or(0, |a| a.instances);
                let verb = match c {
                    Change::Add(_) => "start",
                    Change::Update(..) => "restart",
                    Change::Remove(..) => "stop",
                };
                if n > 0 {
                    println!("  then {verb} {stem}@1..{n}");
                } else {
                    println!("  then {verb} {stem}@*");
                }
            }
        }
        foreign.extend(p.foreign.iter().map(|f| dir.file(f).display().to_string()));
    }
    if !foreign.is_empty() {
        return Err(Failure::Usage(format!(
            "these files have unitgen's unit names but are not marked as its own, and would not be touched: {}\n  = help: rename the app, or move the file away if it is a leftover",
            foreign.join(", ")
        )));
    }
    Ok(())
}
