//! `unitgen plan FILE...`: what `apply` would do, with diffs, decided exactly as `apply`
//! decides it (the same [`crate::core::plan::plan`], from the files and systemd's state).

use std::path::PathBuf;

use super::{read_files, resolve, target, unit_dir, Failure};
use crate::adapters::systemd::{block_on, Systemd};
use crate::cli::{Global, PlanArgs};
use crate::ops::apply::{self, ApplyOptions};

/// Print the plan of every namespace, here or on each host.
pub fn run(global: &Global, args: &PlanArgs) -> Result<(), Failure> {
    let texts = read_files(&args.input.files, args.input.stdin_as.as_deref())?;
    let hosts = super::fleet::hosts_for(&args.input.remote, args.input.local, &texts)?;
    if !hosts.is_empty() {
        return super::fleet::plan(global, &args.input.remote, &texts, &hosts);
    }
    local(global, &texts)
}

/// Print the plan of every namespace on this machine.
pub fn local(global: &Global, texts: &[(PathBuf, String)]) -> Result<(), Failure> {
    let printer = global.printer();
    let namespaces = resolve(global, texts)?;
    let opts = ApplyOptions {
        target: target(global),
        dir: unit_dir(global),
        env_dir: crate::adapters::unit_dir::EnvDir::new(target(global).env_dir),
        default_dir: global.unit_dir.is_none(),
        start: true,
        timeout: std::time::Duration::from_secs(10),
        settle: std::time::Duration::ZERO,
    };
    let planned = match block_on(Systemd::connect_within(global.user, opts.timeout)) {
        Ok(sd) => apply::plan_all(Some(&sd), namespaces, &opts)?,
        // Without a manager (a build machine, a container): the files alone, said so.
        Err(e) => {
            printer.note(format!("note: {e}\n  the plan below compares files only"));
            apply::plan_all(None, namespaces, &opts)?
        }
    };
    let mut refusals = Vec::new();
    for p in &planned {
        printer.output(p.plan.describe(&opts.dir.path, &opts.env_dir.path));
        for app in &p.ns.apps {
            printer.output(format!(
                "  {}/{} runs as {}\n",
                p.ns.name,
                app.name,
                apply::user_of(app, opts.target.scope)
            ));
        }
        refusals.extend(p.plan.refusals.iter().map(|r| r.problem(&p.ns.name)));
    }
    if !refusals.is_empty() {
        return Err(Failure::Refused {
            problems: refusals,
            outcome: "apply would change nothing",
        });
    }
    Ok(())
}
