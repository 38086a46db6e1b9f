//! `unitgen apply FILE...`: make systemd run exactly what the files say.
//!
//! Under the namespaces' locks, and the machine's lock while ports are checked and files
//! written: plan from the files and systemd's state ([`crate::core::plan`]), carry it out
//! ([`crate::ops::apply`]), print one line per app. A second apply of the same file only reads
//! state; an apply after an interrupted one finishes its work.

use std::time::Duration;

use super::{read_files, resolve, target, unit_dir, Failure};
use crate::cli::{ApplyArgs, Global};
use crate::ops::apply::{self, ApplyOptions, Report};

/// Apply every file; exit 1 if any unit did not reach its wanted state.
pub fn run(global: &Global, args: &ApplyArgs) -> Result<(), Failure> {
    let printer = global.printer();
    let texts = read_files(&args.input.files, args.input.stdin_as.as_deref())?;
    let hosts = super::fleet::hosts_for(&args.input.remote, args.input.local, &texts)?;
    if !hosts.is_empty() {
        return super::fleet::apply(global, args, &texts, &hosts);
    }
    if args.dry_run {
        return super::plan::local(global, &texts);
    }
    let limit = Duration::from_secs(args.timeout);
    // Check the files before waiting for any lock: a bad file is said at once.
    let mut names: Vec<String> = resolve(global, &texts)?
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    let _locks = names
        .iter()
        .map(|n| crate::adapters::lock::namespace(n, global.user, limit))
        .collect::<Result<Vec<_>, _>>()?;
    let claims = crate::adapters::lock::claims(global.user, limit)?;
    // Again under the lock: the ports other namespaces claim are now what is on disk.
    let namespaces = resolve(global, &texts)?;
    let opts = ApplyOptions {
        target: target(global),
        dir: unit_dir(global),
        env_dir: crate::adapters::unit_dir::EnvDir::new(target(global).env_dir),
        default_dir: global.unit_dir.is_none(),
        start: !args.no_start,
        timeout: limit,
        settle: Duration::from_millis(args.settle),
    };
    let sd = super::connect(global, limit)?;
    let planned = apply::plan_all(Some(&sd), namespaces, &opts)?;
    let reports = apply::apply(&sd, &planned, &opts, Some(claims))?;
    if args.json {
        printer.json(&reports)?;
    }
    let mut failures = Vec::new();
    for r in &reports {
        if !args.json {
            printer.text(describe(r));
        }
        failures.extend(Failure::units(&r.namespace, &r.failures));
    }
    Failure::all(failures)
}

/// One line for the namespace, one per app.
pub(crate) fn describe(r: &Report) -> String {
    let mut s = format!(
        "{}: {} unit file{} written, {} removed{}\n",
        r.namespace,
        r.written,
        if r.written == 1 { "" } else { "s" },
        r.removed,
        if r.reloaded { ", systemd reloaded" } else { "" }
    );
    if r.cleaned > 0 {
        s.push_str(&format!(
            "  removed {} temporary file(s) an interrupted apply left\n",
            r.cleaned
        ));
    }
    for app in &r.apps {
        let failed = r
            .failures
            .iter()
            .filter(|f| f.app.as_deref() == Some(&app.name))
            .count();
        let mut did = Vec::new();
        if app.started > 0 {
            did.push(format!("started {}", app.started));
        }
        if app.restarted > 0 {
            did.push(format!("restarted {}", app.restarted));
        }
        if failed > 0 {
            did.push(format!("FAILED {failed}"));
        }
        let what = if did.is_empty() {
            "unchanged".to_string()
        } else {
            did.join(", ")
        };
        s.push_str(&format!(
            "  {}/{}: {what} ({} instance{}, as {})\n",
            r.namespace,
            app.name,
            app.instances,
            if app.instances == 1 { "" } else { "s" },
            app.user
        ));
    }
    for gone in &r.gone {
        s.push_str(&format!("  {}/{gone}: stopped and removed\n", r.namespace));
    }
    for extra in &r.extra {
        s.push_str(&format!("  {extra}: stopped (past the instance count)\n"));
    }
    s
}
