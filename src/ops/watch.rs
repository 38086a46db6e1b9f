//! Watch mode: what an app's watcher unit (`NS-APP-watch.service`) runs. It watches the app's
//! paths with inotify, one directory at a time (a directory that `ignore_watch` ignores is
//! never entered, so `node_modules` costs no inotify watch), and once a burst of changes has
//! settled ([`crate::watch::Debounce`]) restarts the app's instances: one after the other,
//! each ready before the next, when the app listens ([`crate::ops::roll`]); all at once when it
//! does not. Instances stopped on purpose stay stopped; failed ones are started again.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher};

use crate::adapters::systemd::{block_on, ActiveState, Systemd, Verb};
use crate::adapters::unit_dir::UnitDir;
use crate::ops::roll::{roll, Roll, RollOptions};
use crate::watch::{Debounce, Ignore};

/// The most directories one watcher watches: far past a real source tree, well within the
/// kernel's default `fs.inotify.max_user_watches`.
pub const MAX_DIRS: usize = 65_536;

/// What to watch and how.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// The paths (directories recursively, or single files), absolute.
    pub paths: Vec<PathBuf>,
    /// What to ignore.
    pub ignore: Ignore,
    /// How long changes must have settled (`watch_delay`).
    pub delay: Duration,
}

/// What the watcher has to say, for its log.
#[derive(Debug, Clone)]
pub enum Report {
    /// Watching began: so many directories.
    Watching(usize),
    /// Something could not be watched; the rest is.
    Warning(String),
    /// Changes settled: the first path that changed, and how many changes there were.
    Settled(PathBuf, usize),
}

/// Watch until the watcher fails, calling `restart` once per settled burst of changes.
pub fn watch(
    opts: &WatchOptions,
    report: &mut dyn FnMut(Report),
    restart: &mut dyn FnMut(),
) -> Result<(), String> {
    let (tx, rx) = channel();
    let mut w = notify::recommended_watcher(move |res| {
        let _ = tx.send(res);
    })
    .map_err(|e| format!("cannot start watching: {e}"))?;
    let mut tree = Tree::default();
    for p in &opts.paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(format!(
                "{} does not exist: nothing to watch there (create it, or change `watch`)",
                p.display()
            ));
        }
        tree.add(&mut w, p, p, opts, report)?;
    }
    report(Report::Watching(tree.dirs));
    let mut debounce = Debounce::new(opts.delay);
    let mut first: Option<PathBuf> = None;
    let mut count = 0usize;
    loop {
        let wait = debounce.due().map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
        });
        match rx.recv_timeout(wait) {
            Ok(Ok(ev)) => {
                let rename = matches!(ev.kind, EventKind::Modify(ModifyKind::Name(_)));
                let counts = matches!(
                    ev.kind,
                    EventKind::Create(_)
                        | EventKind::Modify(_)
                        | EventKind::Remove(_)
                        | EventKind::Any
                        | EventKind::Other
                );
                if !counts {
                    continue;
                }
                for path in &ev.paths {
                    let Some(root) = root_of(&opts.paths, path) else {
                        continue; // beside a watched file, in its directory
                    };
                    if opts.ignore.ignores(root, path) {
                        continue;
                    }
                    let created = matches!(ev.kind, EventKind::Create(_)) || rename;
                    if created && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
                        tree.add(&mut w, root, path, opts, report)?;
                    }
                    debounce.change(Instant::now());
                    count += 1;
                    first.get_or_insert_with(|| path.clone());
                }
                if ev.need_rescan() {
                    debounce.change(Instant::now());
                }
            }
            // The kernel's queue overflowed, or a watch went away: count it as a change.
            Ok(Err(e)) => {
                report(Report::Warning(e.to_string()));
                debounce.change(Instant::now());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err("inotify stopped".into()),
        }
        if debounce.due().is_some_and(|d| d <= Instant::now()) {
            debounce.fired();
            report(Report::Settled(
                first.take().unwrap_or_default(),
                std::mem::take(&mut count),
            ));
            restart();
        }
    }
}

/// The watched path a changed path belongs to: the longest one it is at or under (a watched
/// file's directory is watched for it, and its other files belong to no watched path).
fn root_of<'a>(roots: &'a [PathBuf], path: &Path) -> Option<&'a Path> {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .map(PathBuf::as_path)
}

/// The directories watched so far.
#[derive(Default)]
struct Tree {
    dirs: usize,
}

impl Tree {
    /// Watch `start` (under the watched path `root`) and every directory below it that is not
    /// ignored; a file is watched through its directory (an editor that saves by renaming
    /// replaces the file, and a watch on the file itself would end there).
    fn add(
        &mut self,
        w: &mut notify::RecommendedWatcher,
        root: &Path,
        start: &Path,
        opts: &WatchOptions,
        report: &mut dyn FnMut(Report),
    ) -> Result<(), String> {
        let is_dir = std::fs::metadata(start).is_ok_and(|m| m.is_dir());
        if !is_dir {
            let dir = start.parent().unwrap_or(Path::new("/"));
            return w
                .watch(dir, RecursiveMode::NonRecursive)
                .map_err(|e| format!("cannot watch {}: {e}", dir.display()));
        }
        let mut stack = vec![start.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if dir != root && opts.ignore.ignores(root, &dir) {
                continue;
            }
            if self.dirs >= MAX_DIRS {
                report(Report::Warning(format!(
                    "more than {MAX_DIRS} directories under {}: the rest is not watched (add the large ones to ignore_watch)",
                    root.display()
                )));
                return Ok(());
            }
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.dirs += 1,
                Err(e) if matches!(&e.kind, notify::ErrorKind::MaxFilesWatch) => {
                    return Err(format!(
                        "the kernel's inotify limit is reached at {} ({} directories watched): raise fs.inotify.max_user_watches, or add the large directories to ignore_watch",
                        dir.display(),
                        self.dirs
                    ));
                }
                Err(e) => {
                    report(Report::Warning(format!(
                        "cannot watch {}: {e}",
                        dir.display()
                    )));
                    continue;
                }
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                // Not through symlinks: a link to / would be a walk of the machine.
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
        Ok(())
    }
}

/// What a restart did: one line per instance.
pub type Restarted = Vec<String>;

/// Restart an app because its files changed: the instances that run or failed (not those
/// stopped on purpose), rolling when the app has a socket. Waits for the namespace's lock, as
/// `reload` does: never while `apply` or `scale` works on the namespace.
pub fn restart(
    user: bool,
    dir: &UnitDir,
    ns: &str,
    app: &str,
    limit: Duration,
) -> Result<Restarted, String> {
    let selected = crate::selector::select(dir, Some(&format!("{ns}/{app}")), None, false)?;
    let Some(s) = selected.into_iter().next() else {
        return Err(format!("{ns}/{app} is not installed"));
    };
    let _lock = crate::adapters::lock::namespace(ns, user, limit)
        .map_err(|e| format!("cannot take the lock of namespace {ns}: {e}"))?;
    let sd = block_on(Systemd::connect_within(user, limit)).map_err(|e| e.to_string())?;
    let units = s.instance_units();
    let loaded = block_on(sd.loaded(&[], &units)).map_err(|e| e.to_string())?;
    let wanted: Vec<u32> = s
        .installed
        .instances
        .iter()
        .copied()
        .filter(|&i| {
            loaded
                .get(&crate::core::names::instance(ns, app, i))
                .is_some_and(|l| l.active != ActiveState::Inactive)
        })
        .collect();
    if wanted.is_empty() {
        return Ok(vec![
            "no instance runs (stopped on purpose): nothing restarted".into(),
        ]);
    }
    if s.installed.socket.is_some() {
        let r = Roll {
            namespace: ns.to_string(),
            app: app.to_string(),
            instances: wanted,
            all_instances: s.installed.instances.clone(),
            socket: true,
            in_place: false,
        };
        let opts = RollOptions {
            timeout: limit,
            settle: Duration::from_millis(500),
        };
        let report = roll(&sd, &r, opts).map_err(|e| e.to_string())?;
        let mut out: Vec<String> = report
            .done
            .iter()
            .map(|d| line(&d.unit, d.spare, d.verb, d.pids))
            .collect();
        if let Some(f) = report.failure {
            out.push(format!(
                "{} {} failed: {}; serving now: {}",
                f.verb.as_str(),
                f.unit,
                f.what,
                if f.serving.is_empty() {
                    "nothing".to_string()
                } else {
                    f.serving.join(", ")
                }
            ));
            return Err(out.join("\n"));
        }
        return Ok(out);
    }
    let names: Vec<String> = wanted
        .iter()
        .map(|&i| crate::core::names::instance(ns, app, i))
        .collect();
    let before = loaded;
    block_on(sd.reset_failed(&names));
    let jobs: Vec<(String, Verb)> = names.iter().map(|u| (u.clone(), Verb::Restart)).collect();
    let results = block_on(sd.run_jobs(&jobs, limit)).map_err(|e| e.to_string())?;
    let after = block_on(sd.loaded(&[], &names)).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut failed = false;
    for r in results {
        let pids = (
            before.get(&r.unit).and_then(|l| l.main_pid),
            after.get(&r.unit).and_then(|l| l.main_pid),
        );
        if r.ok() {
            out.push(line(&r.unit, false, Verb::Restart, pids));
        } else {
            failed = true;
            out.push(format!("restart {}: job {}", r.unit, r.result));
        }
    }
    if failed {
        Err(out.join("\n"))
    } else {
        Ok(out)
    }
}

fn line(unit: &str, spare: bool, verb: Verb, pids: (Option<u32>, Option<u32>)) -> String {
    let what = if spare {
        "started the spare"
    } else {
        verb.past()
    };
    match pids {
        (Some(a), Some(b)) if a != b => format!("{what} {unit}: pid {a} -> {b}"),
        (_, Some(b)) => format!("{what} {unit}: pid {b}"),
        _ => format!("{what} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_belongs_to_the_longest_watched_path_it_is_under() {
        let roots = [
            PathBuf::from("/srv/app"),
            PathBuf::from("/srv/app/src"),
            PathBuf::from("/srv/shared/config.json"),
        ];
        assert_eq!(
            root_of(&roots, Path::new("/srv/app/src/a.js")),
            Some(Path::new("/srv/app/src"))
        );
        assert_eq!(
            root_of(&roots, Path::new("/srv/app/b.js")),
            Some(Path::new("/srv/app"))
        );
        assert_eq!(
            root_of(&roots, Path::new("/srv/shared/config.json")),
            Some(Path::new("/srv/shared/config.json"))
        );
        assert_eq!(root_of(&roots, Path::new("/srv/shared/other.json")), None);
    }
}
