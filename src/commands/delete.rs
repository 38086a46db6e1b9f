//! `unitgen delete NAME|all -n NS`: stop and remove units. `all` removes the namespace.

use super::{unit_dir, Failure};
use crate::cli::{Global, TargetArgs};
use crate::names;
use crate::selector::select;
use crate::systemd::{block_on, text, ActiveState, Props, Systemd, Verb};
use crate::unit_dir::marked_namespace;

/// Stop the selected apps' units, remove their files and reload.
pub fn run(g: &Global, a: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&a.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(g, "delete", a, &hosts);
    }
    if a.namespace.is_none() && !a.name.contains('/') {
        return Err(Failure::Usage(format!(
            "error: delete needs the namespace, so that it never hits another environment's apps\n  = help: unitgen delete {} -n NS",
            a.name
        )));
    }
    let dir = unit_dir(g);
    let selected =
        select(&dir, Some(&a.name), a.namespace.as_deref(), true).map_err(Failure::Usage)?;
    let ns = match (&a.namespace, a.name.split_once('/')) {
        (_, Some((n, _))) => n.to_string(),
        (Some(n), None) => n.clone(),
        (None, None) => unreachable!("checked above"),
    };
    let whole = a.name == "all" || a.name.ends_with("/all");
    let _lock = crate::lock::namespace(&ns, g.user, std::time::Duration::from_secs(a.timeout))
        .map_err(|e| anyhow::anyhow!("cannot take the lock of namespace {ns}: {e}"))?;
    let sd = block_on(Systemd::connect_within(
        g.user,
        std::time::Duration::from_secs(a.timeout),
    ))?;

    let mut patterns: Vec<String> = Vec::new();
    // Each file once: with `all`, the namespace's files include the apps' own.
    let mut files: std::collections::BTreeSet<String> = Default::default();
    for s in &selected {
        patterns.push(format!("{}-{}@*.service", ns, s.app));
        for f in [
            names::template(&ns, &s.app),
            names::socket(&ns, &s.app),
            names::restart_timer(&ns, &s.app),
            names::restart_service(&ns, &s.app),
        ] {
            patterns.push(f.clone());
            files.insert(f);
        }
    }
    let owned = dir
        .owned(&ns)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.path.display()))?;
    if whole {
        patterns.push(names::target(&ns));
        files.extend(owned.keys().cloned());
    }
    let limit = std::time::Duration::from_secs(a.timeout);
    let loaded = block_on(sd.loaded(&patterns, &[])).map_err(|e| Failure::Failed(e.to_string()))?;
    let mut jobs: Vec<(String, Verb)> = loaded
        .values()
        .filter(|u| u.is_running() || u.active == ActiveState::Deactivating)
        .map(|u| (u.name.clone(), Verb::Stop))
        .collect();
    let mut results =
        block_on(sd.run_jobs(&jobs, limit)).map_err(|e| Failure::Failed(e.to_string()))?;
    if whole && results.iter().all(|r| r.ok()) {
        // The namespace's slice too, once nothing runs in it: stopping a slice stops what it
        // holds, and a unit someone else put there is not unitgen's to stop.
        let slice = names::slice(&ns);
        let p = block_on(sd.unit(&slice)).unwrap_or_default();
        let active = text(&p, "ActiveState").map(|a| ActiveState::parse(&a));
        if active.is_some_and(ActiveState::is_running) && holds_nothing(&p) {
            let stop = [(slice, Verb::Stop)];
            results.extend(
                block_on(sd.run_jobs(&stop, limit)).map_err(|e| Failure::Failed(e.to_string()))?,
            );
            jobs.extend(stop);
        }
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("stop {}: {}", r.unit, r.result))
        .collect();
    if !failed.is_empty() {
        return Err(Failure::Failed(format!(
            "error: could not stop everything; no file was removed:\n  {}",
            failed.join("\n  ")
        )));
    }
    if whole {
        block_on(sd.disable(&names::target(&ns))).map_err(|e| Failure::Failed(e.to_string()))?;
    }
    let mut unit_files = 0;
    for f in &files {
        // Only files that carry this namespace's mark.
        if owned.contains_key(f) {
            dir.remove(f)
                .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", dir.file(f).display()))?;
            unit_files += 1;
        }
    }
    // The environment files of the deleted apps (all of them with the namespace).
    let env = crate::unit_dir::EnvDir::new(super::target(g).env_dir);
    let mut env_files = 0;
    for name in env.scan(&ns).map_err(|e| Failure::io(&env.path, e))?.keys() {
        let file = name.strip_prefix(&format!("{ns}/")).unwrap_or(name);
        let app = file
            .strip_suffix(".env")
            .map(|f| f.split('@').next().unwrap_or(f));
        if whole || selected.iter().any(|s| Some(s.app.as_str()) == app) {
            env.remove(name)
                .map_err(|e| Failure::io(&env.file(name), e))?;
            env_files += 1;
        }
    }
    env.remove_namespace(&ns)
        .map_err(|e| Failure::io(&env.path, e))?;
    if !whole {
        // The target no longer wants the deleted apps.
        let target = names::target(&ns);
        if let Some(text) = owned
            .get(&target)
            .filter(|t| marked_namespace(t) == Some(ns.as_str()))
        {
            let gone: Vec<&str> = selected.iter().map(|s| s.app.as_str()).collect();
            let kept: String = text
                .lines()
                .filter(|l| {
                    !l.strip_prefix("Wants=").is_some_and(|w| {
                        gone.iter().any(|app| {
                            w.starts_with(&format!("{}@", names::app_stem(&ns, app)))
                                || w == names::socket(&ns, app)
                                || w == names::restart_timer(&ns, app)
                        })
                    })
                })
                .map(|l| format!("{l}\n"))
                .collect();
            dir.write(&target, &kept).map_err(|e| {
                anyhow::anyhow!("cannot write {}: {e}", dir.file(&target).display())
            })?;
        }
    }
    dir.sync()
        .map_err(|e| anyhow::anyhow!("cannot sync {}: {e}", dir.path.display()))?;
    block_on(sd.reload()).map_err(|e| Failure::Failed(e.to_string()))?;
    // What failed (before, or on its way down) stays loaded as failed, file or not, until
    // its failure is reset: reset it, so that systemd forgets the deleted units.
    let left = block_on(sd.loaded(&patterns, &[])).map_err(|e| Failure::Failed(e.to_string()))?;
    let failed_units: Vec<String> = left
        .values()
        .filter(|u| u.is_failed())
        .map(|u| u.name.clone())
        .collect();
    block_on(sd.reset_failed(&failed_units));
    if !g.quiet {
        let what = if whole {
            format!("namespace {ns}")
        } else {
            selected
                .iter()
                .map(|s| format!("{ns}/{}", s.app))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut done = vec![
            format!("stopped {}", plural(jobs.len(), "unit")),
            format!(
                "removed {} and {}",
                plural(unit_files, "unit file"),
                plural(env_files, "environment file")
            ),
        ];
        if !failed_units.is_empty() {
            done.push(format!(
                "reset {} (systemd forgets them)",
                plural(failed_units.len(), "failed unit")
            ));
        }
        println!("deleted {what}: {}", done.join(", "));
        if !whole {
            println!(
                "  (the ecosystem file still names it: the next `unitgen apply` brings it back)"
            );
        }
    }
    Ok(())
}

/// `3 units`, `1 unit file`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
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
