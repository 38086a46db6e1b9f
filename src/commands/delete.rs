//! `unitgen delete NAME|all -n NS`: stop and remove units. `all` removes the namespace.

use super::{unit_dir, Failure};
use crate::cli::{Global, TargetArgs};
use crate::names;
use crate::selector::select;
use crate::systemd::{block_on, Systemd, Verb};
use crate::unit_dir::marked_namespace;

/// Stop the selected apps' units, remove their files and reload.
pub fn run(g: &Global, a: &TargetArgs) -> Result<(), Failure> {
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
    let mut files: Vec<String> = Vec::new();
    for s in &selected {
        patterns.push(format!("{}-{}@*.service", ns, s.app));
        for f in [
            names::template(&ns, &s.app),
            names::socket(&ns, &s.app),
            names::restart_timer(&ns, &s.app),
            names::restart_service(&ns, &s.app),
        ] {
            patterns.push(f.clone());
            files.push(f);
        }
    }
    let owned = dir
        .owned(&ns)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.path.display()))?;
    if whole {
        patterns.push(names::target(&ns));
        files.extend(owned.keys().cloned());
    }
    let loaded = block_on(sd.list(&patterns)).map_err(|e| Failure::Failed(e.to_string()))?;
    let jobs: Vec<(String, Verb)> = loaded
        .iter()
        .filter(|(u, (active, _, _))| active != "inactive" && !u.ends_with(".slice"))
        .map(|(u, _)| (u.clone(), Verb::Stop))
        .collect();
    let results = block_on(sd.run_jobs(&jobs, std::time::Duration::from_secs(a.timeout)))
        .map_err(|e| Failure::Failed(e.to_string()))?;
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
    let mut removed = 0;
    for f in &files {
        // Only files that carry this namespace's mark.
        if owned.contains_key(f) {
            dir.remove(f)
                .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", dir.file(f).display()))?;
            removed += 1;
        }
    }
    // The environment files of the deleted apps (all of them with the namespace).
    let env = crate::unit_dir::EnvDir::new(super::target(g).env_dir);
    for name in env.scan(&ns).map_err(|e| Failure::io(&env.path, e))?.keys() {
        let file = name.strip_prefix(&format!("{ns}/")).unwrap_or(name);
        let app = file
            .strip_suffix(".env")
            .map(|f| f.split('@').next().unwrap_or(f));
        if whole || selected.iter().any(|s| Some(s.app.as_str()) == app) {
            env.remove(name)
                .map_err(|e| Failure::io(&env.file(name), e))?;
            removed += 1;
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
        println!(
            "deleted {what}: stopped {} unit{}, removed {removed} file{}",
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            if removed == 1 { "" } else { "s" }
        );
        if !whole {
            println!(
                "  (the ecosystem file still names it: the next `unitgen apply` brings it back)"
            );
        }
    }
    Ok(())
}
