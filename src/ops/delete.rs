//! `delete`: stop an app's units (or a whole namespace's), remove their unit and environment
//! files, reload, and make systemd forget what failed on its way down.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::adapters::systemd::{block_on, text, ActiveState, Props, Systemd, Verb};
use crate::adapters::unit_dir::{marked_namespace, values, EnvDir, UnitDir};
use crate::commands::Failure;
use crate::core::names::{self, UnitName};

/// What to delete.
pub struct DeleteOptions {
    /// The unit directory.
    pub dir: UnitDir,
    /// The environment files' directory.
    pub env_dir: EnvDir,
    /// The namespace.
    pub namespace: String,
    /// Its apps to delete (every app, with `whole`).
    pub apps: Vec<String>,
    /// The whole namespace: its target and slice too.
    pub whole: bool,
    /// How long systemd's jobs may take.
    pub timeout: Duration,
}

/// What was deleted.
#[derive(Debug, Default)]
pub struct DeleteReport {
    /// Units stopped.
    pub stopped: usize,
    /// Unit files removed.
    pub unit_files: usize,
    /// Environment files removed.
    pub env_files: usize,
    /// Failed units reset, so that systemd forgets them.
    pub reset: usize,
}

/// Stop, remove, reload, forget. Nothing is removed unless everything stopped.
pub fn delete(sd: &Systemd, opts: &DeleteOptions) -> Result<DeleteReport, Failure> {
    let (ns, dir) = (&opts.namespace, &opts.dir);
    let mut patterns: Vec<String> = Vec::new();
    // Each file once: with `whole`, the namespace's files include the apps' own.
    let mut files: BTreeSet<String> = BTreeSet::new();
    for app in &opts.apps {
        patterns.push(format!("{}@*.service", names::app_stem(ns, app)));
        for f in [
            names::template(ns, app),
            names::socket(ns, app),
            names::restart_timer(ns, app),
            names::restart_service(ns, app),
            names::watch_service(ns, app),
        ] {
            patterns.push(f.clone());
            files.insert(f);
        }
    }
    let owned = dir.owned(ns).map_err(|e| Failure::io(&dir.path, e))?;
    if opts.whole {
        patterns.push(names::target(ns));
        files.extend(owned.keys().cloned());
    }
    let mut report = DeleteReport {
        stopped: stop_all(sd, &patterns, opts)?,
        ..Default::default()
    };
    if opts.whole {
        block_on(sd.disable(&names::target(ns)))?;
    }
    // Only files that carry this namespace's mark.
    for f in files.iter().filter(|f| owned.contains_key(*f)) {
        dir.remove(f).map_err(|e| Failure::io(&dir.file(f), e))?;
        report.unit_files += 1;
    }
    // The environment files of the deleted apps (all of them with the namespace).
    let env = &opts.env_dir;
    for name in env.scan(ns).map_err(|e| Failure::io(&env.path, e))?.keys() {
        let file = name.strip_prefix(&format!("{ns}/")).unwrap_or(name);
        let app = file
            .strip_suffix(".env")
            .map(|f| f.split('@').next().unwrap_or(f));
        if opts.whole || opts.apps.iter().any(|a| Some(a.as_str()) == app) {
            env.remove(name)
                .map_err(|e| Failure::io(&env.file(name), e))?;
            report.env_files += 1;
        }
    }
    env.remove_namespace(ns)
        .map_err(|e| Failure::io(&env.path, e))?;
    if !opts.whole {
        // The target no longer wants the deleted apps.
        let target = names::target(ns);
        if let Some(text) = owned
            .get(&target)
            .filter(|t| marked_namespace(t) == Some(ns.as_str()))
        {
            let kept = without_wants_of(text, &opts.apps);
            dir.write(&target, &kept)
                .map_err(|e| Failure::io(&dir.file(&target), e))?;
        }
    }
    dir.sync().map_err(|e| Failure::io(&dir.path, e))?;
    block_on(sd.reload())?;
    // What failed (before, or on its way down) stays loaded as failed, file or not, until
    // its failure is reset: reset it, so that systemd forgets the deleted units.
    let left = block_on(sd.loaded(&patterns, &[]))?;
    let failed: Vec<String> = left
        .values()
        .filter(|u| u.is_failed())
        .map(|u| u.name.clone())
        .collect();
    block_on(sd.reset_failed(&failed));
    report.reset = failed.len();
    Ok(report)
}

/// Stop what runs of `patterns` and, for a whole namespace, its slice once nothing else runs
/// in it. Returns how many units it stopped; an error, with nothing removed, when any failed.
fn stop_all(sd: &Systemd, patterns: &[String], opts: &DeleteOptions) -> Result<usize, Failure> {
    let loaded = block_on(sd.loaded(patterns, &[]))?;
    let mut jobs: Vec<(String, Verb)> = loaded
        .values()
        .filter(|u| u.is_running() || u.active == ActiveState::Deactivating)
        .map(|u| (u.name.clone(), Verb::Stop))
        .collect();
    let mut results = block_on(sd.run_jobs(&jobs, opts.timeout))?;
    if opts.whole && results.iter().all(|r| r.ok()) {
        // Stopping a slice stops what it holds, and a unit someone else put there is not
        // unitgen's to stop.
        let slice = names::slice(&opts.namespace);
        let p = block_on(sd.unit(&slice)).unwrap_or_default();
        let active = text(&p, "ActiveState").map(|a| ActiveState::parse(&a));
        if active.is_some_and(ActiveState::is_running) && holds_nothing(&p) {
            let stop = [(slice, Verb::Stop)];
            results.extend(block_on(sd.run_jobs(&stop, opts.timeout))?);
            jobs.extend(stop);
        }
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("stop {}: {}", r.unit, r.result))
        .collect();
    if !failed.is_empty() {
        return Err(Failure::failed(format!(
            "could not stop everything; no file was removed:\n  {}",
            failed.join("\n  ")
        )));
    }
    Ok(jobs.len())
}

/// The target's text without the `Wants=` of `apps`' units.
fn without_wants_of(target: &str, apps: &[String]) -> String {
    target
        .lines()
        .filter(|l| {
            let wanted = values(l, "Wants").next().and_then(UnitName::parse);
            !wanted.is_some_and(|u| u.app.is_some_and(|a| apps.contains(&a)))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// No process runs in the unit's cgroup (the kernel's `populated 0`, which counts the
/// cgroups below too), or it has none.
fn holds_nothing(p: &Props) -> bool {
    let cgroup = text(p, "ControlGroup").unwrap_or_default();
    if cgroup.is_empty() {
        return true;
    }
    match std::fs::read_to_string(format!("/sys/fs/cgroup{cgroup}/cgroup.events")) {
        Ok(events) => events.lines().any(|l| l.trim() == "populated 0"),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_forgets_the_deleted_apps_only() {
        let target = "[Unit]\nX-Unitgen-Namespace=prod\nWants=prod-api@1.service\nWants=prod-api@2.service\nWants=prod-api.socket\nWants=prod-api-restart.timer\nWants=prod-api2@1.service\nWants=network-online.target\n";
        assert_eq!(
            without_wants_of(target, &["api".to_string()]),
            "[Unit]\nX-Unitgen-Namespace=prod\nWants=prod-api2@1.service\nWants=network-online.target\n"
        );
    }
}
