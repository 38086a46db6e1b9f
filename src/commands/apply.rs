//! `unitgen apply FILE...`: make systemd run exactly what the files say.
//!
//! Under the namespace's lock: compare the compiled units with the unit directory; stop what
//! the file no longer names; write what changed (atomically) and remove what is gone; enable
//! the namespace target for boot; reload once if any file changed; then start what is not
//! running and restart what changed, and wait for every job. A second apply of the same file
//! only reads state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{load, scope, unit_dir, Failure};
use crate::cli::{ApplyArgs, Global};
use crate::compile::compile;
use crate::config::Namespace;
use crate::names;
use crate::plan::{plan, Change};
use crate::render::Renderer;
use crate::systemd::{block_on, JobResult, Systemd, Verb};
use crate::unit_dir::{foreign_elsewhere, marked_namespace, UnitDir};

/// Apply every file; exit 1 if any unit did not reach its wanted state.
pub fn run(g: &Global, a: &ApplyArgs) -> Result<(), Failure> {
    if a.dry_run {
        return super::plan::run(g, &a.files);
    }
    let namespaces = load(g, &a.files)?;
    let sd = block_on(Systemd::connect(g.user)).map_err(|e| Failure::Failed(e.to_string()))?;
    let dir = unit_dir(g);
    let mut failures = Vec::new();
    for ns in &namespaces {
        let _lock = crate::lock::namespace(&ns.name, g.user)
            .map_err(|e| anyhow::anyhow!("cannot take the lock of namespace {}: {e}", ns.name))?;
        let outcome = block_on(apply_one(g, &sd, &dir, ns, a))?;
        failures.extend(outcome);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(failures.join("\n\n")))
    }
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> Failure {
    move |e| Failure::Other(anyhow::anyhow!("{what}: {e}"))
}

/// The name of the file a loaded unit comes from (`prod-api@2.service` → `prod-api@.service`).
fn file_of(unit: &str) -> String {
    match unit.split_once('@') {
        Some((stem, rest)) => format!("{stem}@{}", &rest[rest.find('.').unwrap_or(rest.len())..]),
        None => unit.to_string(),
    }
}

async fn apply_one(
    g: &Global,
    sd: &Systemd,
    dir: &UnitDir,
    ns: &Namespace,
    a: &ApplyArgs,
) -> Result<Vec<String>, Failure> {
    let installed = dir
        .read_all()
        .map_err(io(format!("cannot read {}", dir.path.display())))?;
    let units = compile(ns, scope(g), &Renderer::new());
    let p = plan(&ns.name, &units, &installed);
    let names: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    let mut foreign: Vec<String> = p
        .foreign
        .iter()
        .map(|f| dir.file(f).display().to_string())
        .collect();
    foreign.extend(
        foreign_elsewhere(&names, &ns.name, &dir.path, g.user)
            .iter()
            .map(|p| p.display().to_string()),
    );
    if !foreign.is_empty() {
        return Err(Failure::Usage(format!(
            "error: units with the names of namespace {} exist but are not unitgen's own; nothing was changed:\n  {}\n  = help: rename the apps, or remove those files if they are leftovers",
            ns.name,
            foreign.join("\n  ")
        )));
    }
    let owned_before: BTreeSet<String> = installed
        .iter()
        .filter(|(_, t)| marked_namespace(t) == Some(ns.name.as_str()))
        .map(|(n, _)| n.clone())
        .collect();
    let changed: BTreeSet<String> = p
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Update(..)))
        .map(|c| c.name().to_string())
        .collect();
    let added: BTreeSet<String> = p
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Add(..)))
        .map(|c| c.name().to_string())
        .collect();

    // The units that should run: every instance, socket and timer.
    let mut wanted: Vec<(String, String)> = Vec::new(); // (unit, file it comes from)
    for app in &ns.apps {
        for i in 1..=app.instances {
            wanted.push((
                names::instance(&ns.name, &app.name, i),
                names::template(&ns.name, &app.name),
            ));
        }
        if !app.listen.is_empty() {
            let s = names::socket(&ns.name, &app.name);
            wanted.push((s.clone(), s));
        }
        if app.cron_restart.is_some() {
            let t = names::restart_timer(&ns.name, &app.name);
            wanted.push((t.clone(), t));
        }
    }
    let wanted_set: BTreeSet<&str> = wanted.iter().map(|w| w.0.as_str()).collect();
    let target = names::target(&ns.name);
    let loaded = sd
        .list(&[format!("{}-*", ns.name), target.clone()])
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;
    let active = |u: &str| {
        loaded
            .get(u)
            .is_some_and(|(a, _, _)| a == "active" || a == "activating" || a == "reloading")
    };

    // 1. Stop what is ours but no longer wanted (removed apps, instances past the count).
    let stops: Vec<(String, Verb)> = loaded
        .iter()
        .filter(|(u, (a, _, _))| {
            owned_before.contains(&file_of(u))
                && !wanted_set.contains(u.as_str())
                && u.as_str() != target
                && a != "inactive"
        })
        .map(|(u, _)| (u.clone(), Verb::Stop))
        .collect();
    let limit = Duration::from_secs(a.timeout);
    let mut results: Vec<JobResult> = sd
        .run_jobs(&stops, limit)
        .await
        .map_err(|e| Failure::Failed(e.to_string()))?;

    // 2. Write what changed and remove what is gone: each file old or new, never torn.
    for c in &p.changes {
        match c {
            Change::Add(f) | Change::Update(_, f) => dir
                .write(&f.name, &f.content)
                .map_err(io(format!("cannot write {}", dir.file(&f.name).display())))?,
            Change::Remove(name, _) => dir
                .remove(name)
                .map_err(io(format!("cannot remove {}", dir.file(name).display())))?,
        }
    }
    if !p.changes.is_empty() {
        dir.sync()
            .map_err(io(format!("cannot sync {}", dir.path.display())))?;
    }

    // 3. Enable the namespace target for boot, and reload once if anything changed.
    let default_dir = g.unit_dir.is_none();
    let enable_name = if default_dir {
        target.clone()
    } else {
        dir.file(&target).display().to_string()
    };
    if !sd.is_enabled(&target).await {
        sd.enable(&enable_name)
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
    }
    if !p.changes.is_empty() {
        sd.reload()
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?;
    }

    // 4. Start what is not running, restart what changed.
    let mut jobs: Vec<(String, Verb)> = Vec::new();
    if !a.no_start {
        for (unit, file) in &wanted {
            let verb = if !active(unit) {
                Verb::Start
            } else if changed.contains(file) || added.contains(file) {
                Verb::Restart
            } else {
                continue;
            };
            jobs.push((unit.clone(), verb));
        }
        if !active(&target) {
            jobs.push((target.clone(), Verb::Start));
        }
        let failed: Vec<String> = jobs
            .iter()
            .filter(|(u, v)| *v == Verb::Start && loaded.get(u).is_some_and(|l| l.0 == "failed"))
            .map(|(u, _)| u.clone())
            .collect();
        sd.reset_failed(&failed).await;
    }
    results.extend(
        sd.run_jobs(&jobs, limit)
            .await
            .map_err(|e| Failure::Failed(e.to_string()))?,
    );

    Ok(report(g, sd, ns, &p.changes, &results).await)
}

/// Print one line per app and return a message per failure (with the last log lines).
async fn report(
    g: &Global,
    sd: &Systemd,
    ns: &Namespace,
    changes: &[Change],
    results: &[JobResult],
) -> Vec<String> {
    let mut by_app: BTreeMap<String, Vec<&JobResult>> = BTreeMap::new();
    for r in results {
        let app = r.unit.strip_prefix(&format!("{}-", ns.name)).map(|rest| {
            rest.split(['@', '.'])
                .next()
                .unwrap_or(rest)
                .trim_end_matches("-restart")
                .to_string()
        });
        by_app
            .entry(app.unwrap_or_else(|| "(namespace)".into()))
            .or_default()
            .push(r);
    }
    let mut failures = Vec::new();
    if !g.quiet {
        let files = changes.len();
        println!(
            "{}: {} unit file{} written or removed{}",
            ns.name,
            files,
            if files == 1 { "" } else { "s" },
            if files > 0 { ", systemd reloaded" } else { "" }
        );
    }
    for app in &ns.apps {
        let rs = by_app.remove(&app.name).unwrap_or_default();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rs.iter().filter(|r| r.ok() && r.unit.contains('@')) {
            *counts.entry(r.verb.past()).or_default() += 1;
        }
        let did: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let bad: Vec<&&JobResult> = rs.iter().filter(|r| !r.ok()).collect();
        if !g.quiet {
            let what = if did.is_empty() {
                "unchanged".to_string()
            } else {
                did.join(", ")
            };
            println!(
                "  {}/{}: {what} ({} instance{})",
                ns.name,
                app.name,
                app.instances,
                if app.instances == 1 { "" } else { "s" }
            );
        }
        for r in bad {
            let props = sd.unit(&r.unit).await.unwrap_or_default();
            let result = crate::systemd::text(&props, "Result").unwrap_or_default();
            let logs = crate::journal::last_lines(std::slice::from_ref(&r.unit), 10, g.user);
            failures.push(format!(
                "error: {} {} of {}: job {}{}\n  last log lines:\n{}",
                ns.name,
                r.verb.as_str(),
                r.unit,
                r.result,
                if result.is_empty() || result == "success" {
                    String::new()
                } else {
                    format!(", unit result {result}")
                },
                logs.lines()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    for (app, rs) in by_app {
        for r in rs.iter().filter(|r| !r.ok()) {
            failures.push(format!(
                "error: {} {} of {} ({app}): job {}",
                ns.name,
                r.verb.as_str(),
                r.unit,
                r.result
            ));
        }
        if !g.quiet && app != "(namespace)" && rs.iter().any(|r| r.verb == Verb::Stop) {
            println!("  {}/{app}: stopped and removed", ns.name);
        }
    }
    failures
}
