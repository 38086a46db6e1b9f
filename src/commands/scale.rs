//! `unitgen scale NAME N [-n NS]`: change the number of instances in place.
//!
//! The ecosystem file stays the source of truth: scale rewrites only the namespace target's
//! list of instances, starts the new ones and stops the extra ones, and says which line of
//! the file to change; the next `apply` of the file resets the count to what it says.

use super::{unit_dir, Failure};
use crate::cli::{Global, ScaleArgs};
use crate::names;
use crate::selector::select;
use crate::systemd::{block_on, Systemd, Verb};

/// Scale one app.
pub fn run(g: &Global, a: &ScaleArgs) -> Result<(), Failure> {
    if a.count == 0 || a.count > 1024 {
        return Err(Failure::Usage("error: the number of instances is from 1 to 1024 (use `unitgen stop NAME` to stop an app)".into()));
    }
    if a.name == "all" || a.name.contains('@') {
        return Err(Failure::Usage(
            "error: scale takes one app, such as `unitgen scale api 4`".into(),
        ));
    }
    let dir = unit_dir(g);
    let first =
        select(&dir, Some(&a.name), a.namespace.as_deref(), true).map_err(Failure::Usage)?;
    let ns = first[0].namespace.clone();
    let _lock = crate::lock::namespace(&ns, g.user, std::time::Duration::from_secs(a.timeout))
        .map_err(|e| anyhow::anyhow!("cannot take the lock of namespace {ns}: {e}"))?;
    // Read again under the lock.
    let s = select(&dir, Some(&first[0].app), Some(&ns), true)
        .map_err(Failure::Usage)?
        .remove(0);
    let old = s.installed.instances.clone();
    let target = names::target(&ns);
    let text = dir
        .owned(&ns)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.path.display()))?
        .remove(&target)
        .ok_or_else(|| {
            Failure::Failed(format!(
                "the target {target} of namespace {ns} is missing: run `unitgen apply` first"
            ))
        })?;
    let prefix = format!("Wants={}-{}@", ns, s.app);
    let mut out = String::new();
    let mut placed = false;
    for line in text.lines() {
        if line.starts_with(&prefix) {
            if !placed {
                for i in 1..=a.count {
                    out.push_str(&format!("Wants={}\n", names::instance(&ns, &s.app, i)));
                }
                placed = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let source = crate::unit_dir::source_of(&text)
        .unwrap_or("the ecosystem file")
        .to_string();
    let note = write_instance_env(g, &ns, &s.app, a.count, &source);
    let sd = block_on(Systemd::connect_within(
        g.user,
        std::time::Duration::from_secs(a.timeout),
    ))?;
    dir.write(&target, &out)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", dir.file(&target).display()))?;
    block_on(sd.reload())?;
    let mut jobs: Vec<(String, Verb)> = (1..=a.count)
        .filter(|i| !old.contains(i))
        .map(|i| (names::instance(&ns, &s.app, i), Verb::Start))
        .collect();
    jobs.extend(
        old.iter()
            .filter(|&&i| i > a.count)
            .map(|&i| (names::instance(&ns, &s.app, i), Verb::Stop)),
    );
    let results = block_on(sd.run_jobs(&jobs, std::time::Duration::from_secs(a.timeout)))?;
    let bad: Vec<String> = results
        .iter()
        .filter(|r| !r.ok())
        .map(|r| format!("{} {}: job {}", r.verb.as_str(), r.unit, r.result))
        .collect();
    if !g.quiet {
        if let Some(note) = note {
            println!("  note: {note}");
        }
        println!("{ns}/{}: {} -> {} instances", s.app, old.len(), a.count);
        println!("  the next `unitgen apply` resets it to what the file says: to keep it, set `instances = {}` in [apps.{}] of {source}", a.count, s.app);
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!("error: {}", bad.join("\n  "))))
    }
}

/// Write the environment files of the app's instances for `count` instances, compiled from the
/// ecosystem file the units came from. When that file cannot be read any more, the new
/// instances run without their instance variables: say so.
fn write_instance_env(g: &Global, ns: &str, app: &str, count: u32, source: &str) -> Option<String> {
    let why = |e: String| {
        Some(format!(
            "the new instances get no instance variable (NODE_APP_INSTANCE): {source} {e}"
        ))
    };
    let text = match std::fs::read_to_string(source) {
        Ok(t) => t,
        Err(e) => return why(format!("cannot be read ({e})")),
    };
    let host = crate::host::SystemHost::new(Vec::new());
    let mut loaded = match crate::config::load(std::path::Path::new(source), &text, &host) {
        Ok(n) if n.name == ns => n,
        _ => return why("no longer describes this namespace as it is".into()),
    };
    loaded.apps.retain(|a| a.name == app);
    let Some(a) = loaded.apps.first_mut() else {
        return why(format!("no longer has the app {app}"));
    };
    a.instances = count;
    let env = crate::unit_dir::EnvDir::new(super::target(g).env_dir);
    let installed = env.scan(ns).unwrap_or_default();
    for f in crate::compile::env_files(&loaded, &super::target(g)) {
        let is_instance = f.name.starts_with(&format!("{ns}/{app}@"));
        if is_instance
            && installed
                .get(&f.name)
                .is_none_or(|old| old.text != f.content)
        {
            if let Err(e) = env.write(&f.name, &f.content) {
                return why(format!(
                    "(cannot write {}: {e})",
                    env.file(&f.name).display()
                ));
            }
        }
    }
    None
}
