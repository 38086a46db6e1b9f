//! `scale`: one app's instance count changed through the same path as `apply` — the ecosystem
//! file the units came from, compiled with the new count, planned against systemd's state and
//! carried out — so the target, the environment files and the jobs come from `compile` and
//! [`crate::core::plan`], never from editing unit text.

use std::path::PathBuf;

use crate::adapters::lock::Lock;
use crate::adapters::systemd::Systemd;
use crate::commands::Failure;
use crate::core::config::Namespace;
use crate::ops::apply::{self, ApplyOptions, Report};

/// What to scale.
pub struct ScaleOptions {
    /// How to apply (unit and environment directories, timeouts).
    pub apply: ApplyOptions,
    /// The ecosystem file the installed units name as their source.
    pub source: PathBuf,
    /// The app.
    pub app: String,
    /// Instances installed now.
    pub from: u32,
    /// Instances wanted.
    pub to: u32,
}

/// Scale the app of `ns` (the source file as loaded now): the report of the apply at the new
/// count. Refused, with nothing changed, when
/// the file no longer compiles to what is installed at the current count: scaling must not
/// deploy other edits of the file behind the user's back.
pub fn scale(
    sd: &Systemd,
    mut ns: Namespace,
    opts: &ScaleOptions,
    claims: Option<Lock>,
) -> Result<Report, Failure> {
    let source = opts.source.display();
    let Some(i) = ns.apps.iter().position(|a| a.name == opts.app) else {
        return Err(Failure::failed(format!(
            "{source} no longer has the app {}: edit `instances` there and run `unitgen apply {source}`",
            opts.app
        )));
    };
    ns.apps[i].instances = opts.from;
    let now = apply::plan_all(Some(sd), vec![ns.clone()], &opts.apply)?;
    let drift: Vec<&str> = now
        .iter()
        .flat_map(|p| p.plan.changes.iter().chain(&p.plan.env_changes))
        .map(|c| c.name())
        .collect();
    if !drift.is_empty() {
        return Err(Failure::failed(format!(
            "{source} changed since it was applied ({} would change): apply it first (`unitgen apply {source}`), or set `instances = {}` in [apps.{}] and apply",
            drift.join(", "),
            opts.to,
            opts.app
        )));
    }
    ns.apps[i].instances = opts.to;
    let planned = apply::plan_all(Some(sd), vec![ns], &opts.apply)?;
    Ok(apply::apply(sd, &planned, &opts.apply, claims)?
        .pop()
        .expect("one namespace planned, one report"))
}
