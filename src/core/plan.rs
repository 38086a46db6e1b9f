//! What `apply` does to reach the ecosystem file's state, decided in one pure function from
//! three inputs: the wanted units (compiled from the file), the unit directory as it is, and
//! systemd's own state (what is loaded, running, failed, and whether it runs what is on disk).
//! `plan` prints the result; `apply` carries it out. Deciding from systemd's state as well as
//! the files is what makes a second apply finish the work of one that was interrupted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::adapters::systemd::LoadedUnit;
use crate::adapters::unit_dir::{Entry, Installed, Shadow};
use crate::core::compile::UnitFile;
use crate::core::config::Namespace;
use crate::core::names;

/// One file's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file.
    Add(UnitFile),
    /// A file whose text changes: the old text and the new file.
    Update(String, UnitFile),
    /// A file of this namespace that the ecosystem file no longer names.
    Remove(String, String),
}

impl Change {
    /// The unit's file name.
    pub fn name(&self) -> &str {
        match self {
            Change::Add(f) | Change::Update(_, f) => &f.name,
            Change::Remove(n, _) => n,
        }
    }
}

/// Why apply will not touch a namespace: an admin's decision or a unit that is not its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A file at one of the namespace's unit names without its mark.
    Foreign(PathBuf),
    /// `systemctl mask`: a link to /dev/null at one of the names.
    Masked(PathBuf),
    /// `systemctl link`, or another link: the unit's file lives elsewhere.
    Linked(PathBuf, PathBuf),
}

impl Refusal {
    /// What is wrong and what to do, for the namespace `ns`.
    pub fn problem(&self, ns: &str) -> crate::error::Problem {
        use crate::error::Problem;
        let name = |p: &Path| {
            p.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        };
        match self {
            Refusal::Foreign(p) => Problem::new(format!(
                "namespace {ns}: {} has one of this namespace's unit names but is not unitgen's (no X-Unitgen-Namespace= mark of this namespace)",
                p.display()
            ))
            .help("rename the app, or remove that file if it is a leftover"),
            Refusal::Masked(p) => Problem::new(format!(
                "namespace {ns}: {} is masked (a link to /dev/null): an admin stopped this unit from running",
                p.display()
            ))
            .help(format!(
                "to run it again, `systemctl unmask {}`, then apply; or remove the app from the file",
                name(p)
            )),
            Refusal::Linked(p, to) => Problem::new(format!(
                "namespace {ns}: {} is a link to {}: the unit comes from a file unitgen does not manage",
                p.display(),
                to.display()
            ))
            .help(format!(
                "`systemctl disable {}` (or remove the link) if unitgen should manage it; else rename the app",
                name(p)
            )),
        }
    }
}

/// What is done to a unit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// Start it (after forgetting a failure, if it had one).
    Start,
    /// Restart it.
    Restart,
    /// Restart it as part of a rolling restart of its app: one instance after the other, a
    /// spare first when the app has one instance, so that its socket is always served.
    Roll,
    /// Stop it.
    Stop,
    /// Only forget its failed state: it does not run and is no longer wanted.
    Forget,
}

impl Verb {
    /// The word for plans and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Restart => "restart",
            Verb::Roll => "roll",
            Verb::Stop => "stop",
            Verb::Forget => "forget",
        }
    }
}

/// Why a unit is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its file is new.
    New,
    /// It is wanted and does not run.
    NotRunning,
    /// It is wanted and its last run failed.
    Failed,
    /// Its file changes now.
    Changed,
    /// Its file on disk is newer than what runs: an earlier apply was interrupted, or the file
    /// was written by other means.
    Stale,
    /// systemd has not read its file since it changed on disk (`NeedDaemonReload`).
    NotReloaded,
    /// The ecosystem file no longer names it.
    Removed,
    /// An instance past the app's count.
    Extra,
    /// It runs with the listening socket of its app's socket unit, which is down (failed
    /// after a crash loop, say): the socket cannot listen again while it holds the port.
    HoldsPort,
}

impl Reason {
    /// A few words for plans and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::NotRunning => "not running",
            Reason::Failed => "failed",
            Reason::Changed => "changed",
            Reason::Stale => "runs an older version of its unit file",
            Reason::NotReloaded => "systemd has not read its unit file since it changed",
            Reason::Removed => "no longer in the file",
            Reason::HoldsPort => "holds the port its socket must listen on again",
            Reason::Extra => "past the instance count",
        }
    }
}

/// One thing to do to one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The unit, such as `prod-api@2.service`.
    pub unit: String,
    /// The app it belongs to (none for the namespace's own units).
    pub app: Option<String>,
    /// What to do.
    pub verb: Verb,
    /// Why.
    pub reason: Reason,
}

/// Everything `apply` will do for one namespace, in order: write files, stop and forget what
/// is no longer wanted, remove its files, reload systemd, enable the target, start and restart.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The namespace.
    pub namespace: String,
    /// Reasons to change nothing at all.
    pub refusals: Vec<Refusal>,
    /// Unit files to write and remove.
    pub changes: Vec<Change>,
    /// Environment files to write and remove (named `NS/APP.env` under the environment
    /// directory).
    pub env_changes: Vec<Change>,
    /// Files that stay as they are.
    pub unchanged: Vec<String>,
    /// Whether systemd must read its unit files again.
    pub reload: bool,
    /// Whether the namespace target must be enabled for boot.
    pub enable: bool,
    /// Units to stop or forget before their files go.
    pub stops: Vec<Action>,
    /// Units to start or restart once the files are in place.
    pub starts: Vec<Action>,
}

/// The facts a plan is decided from.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The resolved ecosystem file.
    pub ns: &'a Namespace,
    /// Its compiled units.
    pub units: &'a [UnitFile],
    /// The unit directory's path (named in refusals).
    pub dir: &'a Path,
    /// The unit directory as it is.
    pub installed: &'a Installed,
    /// The namespace's environment files.
    pub env: &'a [UnitFile],
    /// The namespace's environment files as they are.
    pub installed_env: &'a BTreeMap<String, crate::adapters::unit_dir::InstalledFile>,
    /// Files with the wanted names elsewhere in systemd's search path.
    pub shadows: &'a [Shadow],
    /// What systemd has loaded (see [`patterns`] for which units to ask for).
    pub loaded: &'a BTreeMap<String, LoadedUnit>,
    /// Whether the namespace target is enabled.
    pub target_enabled: bool,
    /// Whether to start and restart (false: `--no-start`).
    pub start: bool,
}

/// The name of the file a unit comes from (`prod-api@2.service` → `prod-api@.service`).
pub fn file_of(unit: &str) -> String {
    match unit.split_once('@') {
        Some((stem, rest)) => match rest.rfind('.') {
            Some(dot) => format!("{stem}@{}", &rest[dot..]),
            None => unit.to_string(),
        },
        None => unit.to_string(),
    }
}

/// The unit-name patterns whose loaded state a plan for `ns` needs: every unit of the
/// namespace, and every unit of a file marked as the namespace's, whatever its name.
pub fn patterns(ns: &str, installed: &Installed) -> Vec<String> {
    let mut p = vec![format!("{ns}-*"), names::target(ns), names::slice(ns)];
    for (name, e) in installed {
        if let Entry::File(f) = e {
            if f.namespace() == Some(ns) {
                match name.strip_suffix("@.service") {
                    Some(stem) => p.push(format!("{stem}@*.service")),
                    None => p.push(name.clone()),
                }
            }
        }
    }
    p.sort();
    p.dedup();
    p
}

/// A unit that should run, with the files it is made of: its unit file first, then the
/// environment files it reads (keys `env:NS/APP.env`).
struct Wanted {
    unit: String,
    app: Option<String>,
    files: Vec<String>,
}

/// The key of an environment file among a unit's files.
fn env_key(name: &str) -> String {
    format!("env:{name}")
}

/// The units that should run: every instance, socket and timer, then the target.
fn wanted_units(ns: &Namespace) -> Vec<Wanted> {
    let mut out = Vec::new();
    for app in &ns.apps {
        let mut add = |unit: String, files: Vec<String>| {
            out.push(Wanted {
                unit,
                app: Some(app.name.clone()),
                files,
            })
        };
        if !app.listen.is_empty() {
            let s = names::socket(&ns.name, &app.name);
            add(s.clone(), vec![s]);
        }
        for i in 1..=app.instances {
            add(
                names::instance(&ns.name, &app.name, i),
                vec![
                    names::template(&ns.name, &app.name),
                    env_key(&crate::core::compile::env_file_name(ns, app, None)),
                    env_key(&crate::core::compile::env_file_name(
                        ns,
                        app,
                        Some(&i.to_string()),
                    )),
                ],
            );
        }
        if app.cron_restart.is_some() {
            let t = names::restart_timer(&ns.name, &app.name);
            add(t.clone(), vec![t]);
        }
        if app.watch.is_some() {
            let w = names::watch_service(&ns.name, &app.name);
            add(w.clone(), vec![w]);
        }
    }
    let target = names::target(&ns.name);
    out.push(Wanted {
        unit: target.clone(),
        app: None,
        files: vec![target],
    });
    out
}

/// The names systemd must not have masked, linked or shadowed: every file and every unit
/// (instances included) of the namespace.
pub fn names_to_check(ns: &Namespace, units: &[UnitFile]) -> Vec<String> {
    let mut v: Vec<String> = units.iter().map(|u| u.name.clone()).collect();
    v.extend(wanted_units(ns).into_iter().map(|w| w.unit));
    v.sort();
    v.dedup();
    v
}

/// Decide what `apply` does. Pure: the same facts always give the same plan.
pub fn plan(input: Input<'_>) -> Plan {
    let ns = input.ns.name.as_str();
    let mut p = Plan {
        namespace: ns.to_string(),
        ..Default::default()
    };
    files(&input, &mut p);
    p.refusals.extend(refusals(&input));
    if !p.refusals.is_empty() {
        p.changes.clear();
        p.env_changes.clear();
        return p;
    }
    let wanted = wanted_units(input.ns);
    let wanted_set: BTreeSet<&str> = wanted.iter().map(|w| w.unit.as_str()).collect();
    // The apps of files this plan removes.
    let removed: BTreeMap<&str, Option<String>> = p
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::Remove(name, text) => Some((
                name.as_str(),
                crate::adapters::unit_dir::app_of(text).map(str::to_string),
            )),
            _ => None,
        })
        .collect();
    let stops = stops(&input, &wanted_set, &removed);
    p.reload = !p.changes.is_empty()
        || input.loaded.iter().any(|(u, l)| {
            l.need_daemon_reload
                && (wanted_set.contains(u.as_str()) || removed.contains_key(file_of(u).as_str()))
        });
    p.stops = stops;
    p.enable = !input.target_enabled;
    if input.start {
        p.starts = starts(&input, &p, &wanted);
        free_ports(&input, &mut p);
    }
    p
}

/// A socket that starts again while instances of its app still run on its old listening
/// socket would find its port taken: those instances stop first and start after it.
fn free_ports(input: &Input<'_>, p: &mut Plan) {
    let ns = input.ns.name.as_str();
    for app in input.ns.apps.iter().filter(|a| !a.listen.is_empty()) {
        let socket = names::socket(ns, &app.name);
        if !p
            .starts
            .iter()
            .any(|a| a.unit == socket && a.verb == Verb::Start)
        {
            continue;
        }
        for (unit, l) in input.loaded {
            let Some(i) = names::UnitName::instance_of(unit, ns, &app.name) else {
                continue;
            };
            if !l.is_running() || p.stops.iter().any(|a| &a.unit == unit) {
                continue;
            }
            let action = |verb| Action {
                unit: unit.clone(),
                app: Some(app.name.clone()),
                verb,
                reason: Reason::HoldsPort,
            };
            p.stops.push(action(Verb::Stop));
            if i <= app.instances {
                p.starts.retain(|a| &a.unit != unit);
                p.starts.push(action(Verb::Start));
            }
        }
    }
}

/// Reasons to change nothing: a unit the plan wants that an admin masked or linked, or a file
/// of another owner that shadows it (here or anywhere systemd looks).
fn refusals(input: &Input<'_>) -> Vec<Refusal> {
    let ns = input.ns.name.as_str();
    let mut out = Vec::new();
    let wanted_names: BTreeSet<&str> = input.units.iter().map(|u| u.name.as_str()).collect();
    let wanted = wanted_units(input.ns);
    let wanted_units_set: BTreeSet<&str> = wanted.iter().map(|w| w.unit.as_str()).collect();
    for s in input.shadows {
        if wanted_names.contains(s.name.as_str()) || wanted_units_set.contains(s.name.as_str()) {
            match &s.link {
                Some(to) if to == Path::new("/dev/null") => {
                    out.push(Refusal::Masked(s.path.clone()))
                }
                _ if s.namespace.as_deref() == Some(ns) => {}
                Some(to) => out.push(Refusal::Linked(s.path.clone(), to.clone())),
                None => out.push(Refusal::Foreign(s.path.clone())),
            }
        }
    }
    for w in &wanted {
        if wanted_names.contains(w.unit.as_str()) {
            continue;
        }
        match input.installed.get(&w.unit) {
            Some(Entry::Link(to)) if to == Path::new("/dev/null") => {
                out.push(Refusal::Masked(input.dir.join(&w.unit)))
            }
            Some(Entry::Link(to)) => out.push(Refusal::Linked(input.dir.join(&w.unit), to.clone())),
            _ => {
                if input
                    .loaded
                    .get(&w.unit)
                    .is_some_and(|l| l.load == crate::adapters::systemd::LoadState::Masked)
                    && !input.shadows.iter().any(|s| s.name == w.unit)
                {
                    let at = input.loaded[&w.unit]
                        .fragment
                        .clone()
                        .unwrap_or_else(|| input.dir.join(&w.unit));
                    out.push(Refusal::Masked(at));
                }
            }
        }
    }
    out
}

/// What runs but is no longer wanted: units of removed files, instances past the count.
fn stops(
    input: &Input<'_>,
    wanted_set: &BTreeSet<&str>,
    removed: &BTreeMap<&str, Option<String>>,
) -> Vec<Action> {
    let ns = input.ns.name.as_str();
    let wanted_names: BTreeSet<&str> = input.units.iter().map(|u| u.name.as_str()).collect();
    let mut out = Vec::new();
    for (unit, l) in input.loaded {
        if wanted_set.contains(unit.as_str()) || *unit == names::target(ns) {
            continue;
        }
        let file = file_of(unit);
        let (reason, app) = if let Some(app) = removed.get(file.as_str()) {
            (Reason::Removed, app.clone())
        } else if wanted_names.contains(file.as_str()) && unit.ends_with(".service") {
            let app = input
                .ns
                .apps
                .iter()
                .find(|a| names::template(ns, &a.name) == file)
                .map(|a| a.name.clone());
            match app {
                Some(app) => (Reason::Extra, Some(app)),
                // The scheduled-restart service: started by its timer, never by apply.
                None => continue,
            }
        } else {
            continue;
        };
        let verb = if l.is_running() {
            Verb::Stop
        } else if l.is_failed() {
            Verb::Forget
        } else {
            continue;
        };
        out.push(Action {
            unit: unit.clone(),
            app,
            verb,
            reason,
        });
    }
    out
}

/// What to start or restart once the files are in place: each wanted unit from the facts of
/// its files (changed, added, newer than its process) and of systemd's state.
fn starts(input: &Input<'_>, p: &Plan, wanted: &[Wanted]) -> Vec<Action> {
    let keyed = |c: &Change, env: bool| {
        if env {
            env_key(c.name())
        } else {
            c.name().to_string()
        }
    };
    let all_changes = || {
        p.changes
            .iter()
            .map(|c| (c, false))
            .chain(p.env_changes.iter().map(|c| (c, true)))
    };
    let changed: BTreeSet<String> = all_changes()
        .filter(|(c, _)| !matches!(c, Change::Remove(..)))
        .map(|(c, env)| keyed(c, env))
        .collect();
    let added: BTreeSet<String> = all_changes()
        .filter(|(c, _)| matches!(c, Change::Add(..)))
        .map(|(c, env)| keyed(c, env))
        .collect();
    let modified = |file: &str| -> Option<u64> {
        if changed.contains(file) {
            return None;
        }
        match file.strip_prefix("env:") {
            Some(name) => input.installed_env.get(name).map(|f| f.modified_us),
            None => match input.installed.get(file) {
                Some(Entry::File(f)) => Some(f.modified_us),
                _ => None,
            },
        }
    };
    let mut starts = Vec::new();
    for w in wanted {
        let facts = Facts {
            loaded: input.loaded.get(&w.unit),
            changed: w.files.iter().any(|f| changed.contains(f)),
            added: added.contains(&w.files[0]),
            file_modified_us: w.files.iter().filter_map(|f| modified(f)).max(),
        };
        if let Some(a) = start_action(w, facts) {
            starts.push(a);
        }
    }
    roll_listening_apps(input.ns, starts)
}

/// The instances of an app with a socket restart one after the other, not at once: its socket
/// is always served. Not when the socket itself restarts (its instances go with it).
fn roll_listening_apps(ns: &Namespace, mut starts: Vec<Action>) -> Vec<Action> {
    for app in ns.apps.iter().filter(|a| !a.listen.is_empty()) {
        let socket = names::socket(&ns.name, &app.name);
        if starts.iter().any(|a| a.unit == socket) {
            continue;
        }
        let stem = format!("{}@", names::app_stem(&ns.name, &app.name));
        for a in starts.iter_mut() {
            if a.verb == Verb::Restart && a.unit.starts_with(&stem) && a.unit.ends_with(".service")
            {
                a.verb = Verb::Roll;
            }
        }
    }
    starts
}

/// Compare the wanted files with the unit directory.
fn files(input: &Input<'_>, p: &mut Plan) {
    let ns = input.ns.name.as_str();
    for f in input.units {
        match input.installed.get(&f.name) {
            None => p.changes.push(Change::Add(f.clone())),
            Some(Entry::Link(to)) if to == Path::new("/dev/null") => {
                p.refusals.push(Refusal::Masked(input.dir.join(&f.name)))
            }
            Some(Entry::Link(to)) => p
                .refusals
                .push(Refusal::Linked(input.dir.join(&f.name), to.clone())),
            Some(Entry::File(old)) if old.namespace() != Some(ns) => {
                p.refusals.push(Refusal::Foreign(input.dir.join(&f.name)))
            }
            Some(Entry::File(old)) if old.text == f.content => p.unchanged.push(f.name.clone()),
            Some(Entry::File(old)) => p.changes.push(Change::Update(old.text.clone(), f.clone())),
        }
    }
    for (name, e) in input.installed {
        if let Entry::File(old) = e {
            if old.namespace() == Some(ns) && !input.units.iter().any(|f| &f.name == name) {
                p.changes
                    .push(Change::Remove(name.clone(), old.text.clone()));
            }
        }
    }
    for f in input.env {
        match input.installed_env.get(&f.name) {
            None => p.env_changes.push(Change::Add(f.clone())),
            Some(old) if old.text == f.content => {}
            Some(old) => p
                .env_changes
                .push(Change::Update(old.text.clone(), f.clone())),
        }
    }
    for (name, old) in input.installed_env {
        if !input.env.iter().any(|f| &f.name == name) {
            p.env_changes
                .push(Change::Remove(name.clone(), old.text.clone()));
        }
    }
}

/// What is known of one wanted unit.
struct Facts<'a> {
    loaded: Option<&'a LoadedUnit>,
    /// Its file is written now.
    changed: bool,
    /// Its file is new.
    added: bool,
    /// When its file (unchanged now) was written.
    file_modified_us: Option<u64>,
}

/// What to do to one wanted unit, if anything.
fn start_action(w: &Wanted, f: Facts<'_>) -> Option<Action> {
    let target = w.app.is_none();
    let (verb, reason) = match f.loaded {
        Some(l) if l.is_running() => {
            if target {
                return None;
            } else if f.changed {
                (Verb::Restart, Reason::Changed)
            } else if l.need_daemon_reload {
                (Verb::Restart, Reason::NotReloaded)
            } else if matches!((l.started_us, f.file_modified_us), (Some(s), Some(m)) if m > s) {
                (Verb::Restart, Reason::Stale)
            } else {
                return None;
            }
        }
        Some(l) if l.is_failed() => (Verb::Start, Reason::Failed),
        _ if f.added => (Verb::Start, Reason::New),
        _ => (Verb::Start, Reason::NotRunning),
    };
    Some(Action {
        unit: w.unit.clone(),
        app: w.app.clone(),
        verb,
        reason,
    })
}

impl Plan {
    /// Nothing to write, remove, stop, start or reload.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.env_changes.is_empty()
            && self.stops.is_empty()
            && self.starts.is_empty()
            && !self.reload
            && !self.enable
    }

    /// A human-readable report with unified diffs of the unit files, the names (never the
    /// values) of the variables that change, then what runs and stops.
    pub fn describe(&self, dir: &Path, env_dir: &Path) -> String {
        let mut s = String::new();
        if self.is_empty() {
            let _ = writeln!(
                s,
                "{}: up to date ({} units)",
                self.namespace,
                self.unchanged.len()
            );
            return s;
        }
        let _ = writeln!(s, "{}:", self.namespace);
        for c in &self.changes {
            let path = dir.join(c.name());
            match c {
                Change::Add(f) => {
                    let _ = writeln!(s, "  + add     {}", f.name);
                    let _ = write!(s, "{}", diff("", &f.content, &path));
                }
                Change::Update(old, f) => {
                    let _ = writeln!(s, "  ~ change  {}", f.name);
                    let _ = write!(s, "{}", diff(old, &f.content, &path));
                }
                Change::Remove(name, old) => {
                    let _ = writeln!(s, "  - remove  {name}");
                    let _ = write!(s, "{}", diff(old, "", &path));
                }
            }
        }
        for c in &self.env_changes {
            let _ = writeln!(s, "{}", env_change_line(c, env_dir));
        }
        if self.reload {
            let _ = writeln!(s, "  then reload systemd");
        }
        if self.enable {
            let _ = writeln!(
                s,
                "  then enable {} for boot",
                names::target(&self.namespace)
            );
        }
        for a in self.stops.iter().chain(&self.starts) {
            let _ = writeln!(
                s,
                "  then {:<7} {} ({})",
                a.verb.as_str(),
                a.unit,
                a.reason.as_str()
            );
        }
        s
    }
}

/// One line for a changed environment file: which variables are added, changed or removed.
fn env_change_line(c: &Change, env_dir: &Path) -> String {
    let vars = |text: &str| -> BTreeMap<String, String> {
        crate::core::quote::parse_env_file(text)
            .into_iter()
            .collect()
    };
    let (sign, word, old, new) = match c {
        Change::Add(f) => ("+", "add", BTreeMap::new(), vars(&f.content)),
        Change::Update(old, f) => ("~", "change", vars(old), vars(&f.content)),
        Change::Remove(_, old) => ("-", "remove", vars(old), BTreeMap::new()),
    };
    let mut what = Vec::new();
    for (k, v) in &new {
        match old.get(k) {
            None => what.push(format!("{k} added")),
            Some(o) if o != v => what.push(format!("{k} changed")),
            _ => {}
        }
    }
    what.extend(
        old.keys()
            .filter(|k| !new.contains_key(*k))
            .map(|k| format!("{k} removed")),
    );
    let path = env_dir.join(c.name());
    if what.is_empty() {
        format!("  {sign} {word:<7} {}", path.display())
    } else {
        format!(
            "  {sign} {word:<7} {} ({})",
            path.display(),
            what.join(", ")
        )
    }
}

/// A unified diff between two texts, indented to sit under its plan line.
pub fn diff(old: &str, new: &str, path: &Path) -> String {
    let p = path.display().to_string();
    let d = similar::TextDiff::from_lines(old, new);
    let text = d
        .unified_diff()
        .context_radius(2)
        .header(
            if old.is_empty() { "/dev/null" } else { &p },
            if new.is_empty() { "/dev/null" } else { &p },
        )
        .to_string();
    text.lines().map(|l| format!("      {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::host::FixedHost;
    use crate::adapters::systemd::ActiveState;
    use crate::adapters::unit_dir::InstalledFile;
    use crate::core::compile::{compile, env_files, Target};

    const FILE: &str = r#"
namespace = "prod"
[apps.api]
command = "/usr/bin/node server.js"
instances = 2
listen = [3000]
[apps."web.v2"]
command = "/usr/bin/node web.js"
"#;

    fn ns(text: &str) -> Namespace {
        crate::core::config::load(Path::new("/srv/prod.toml"), text, &FixedHost::default())
            .expect("a valid file")
    }

    /// The units of `text` as installed, written at `mtime`.
    fn installed(text: &str, mtime: u64) -> Installed {
        compile(
            &ns(text),
            &Target::system(),
            &crate::core::render::Renderer::new(),
        )
        .into_iter()
        .map(|u| {
            (
                u.name,
                Entry::File(InstalledFile {
                    text: u.content,
                    modified_us: mtime,
                }),
            )
        })
        .collect()
    }

    /// The environment files of `text` as installed, written at `mtime`.
    fn env_of(text: &str, mtime: u64) -> BTreeMap<String, InstalledFile> {
        env_files(&ns(text), &Target::system())
            .into_iter()
            .map(|f| {
                (
                    f.name,
                    InstalledFile {
                        text: f.content,
                        modified_us: mtime,
                    },
                )
            })
            .collect()
    }

    fn running(name: &str, started: u64) -> (String, LoadedUnit) {
        (
            name.to_string(),
            LoadedUnit {
                name: name.to_string(),
                active: ActiveState::Active,
                sub: "running".into(),
                started_us: Some(started),
                main_pid: Some(100),
                ..Default::default()
            },
        )
    }

    /// Every wanted unit of FILE running since `started`.
    fn all_running(started: u64) -> BTreeMap<String, LoadedUnit> {
        [
            "prod-api.socket",
            "prod-api@1.service",
            "prod-api@2.service",
            "prod-web.v2@1.service",
            "unitgen-prod.target",
        ]
        .iter()
        .map(|n| running(n, started))
        .collect()
    }

    fn decide(
        text: &str,
        inst: &Installed,
        shadows: &[Shadow],
        loaded: &BTreeMap<String, LoadedUnit>,
    ) -> Plan {
        decide_env(text, inst, &env_of(text, 100), shadows, loaded)
    }

    fn decide_env(
        text: &str,
        inst: &Installed,
        installed_env: &BTreeMap<String, InstalledFile>,
        shadows: &[Shadow],
        loaded: &BTreeMap<String, LoadedUnit>,
    ) -> Plan {
        let n = ns(text);
        let units = compile(&n, &Target::system(), &crate::core::render::Renderer::new());
        let env = env_files(&n, &Target::system());
        plan(Input {
            ns: &n,
            units: &units,
            dir: Path::new("/etc/systemd/system"),
            installed: inst,
            env: &env,
            installed_env,
            shadows,
            loaded,
            target_enabled: true,
            start: true,
        })
    }

    fn starts(p: &Plan) -> Vec<(String, Verb, Reason)> {
        p.starts
            .iter()
            .map(|a| (a.unit.clone(), a.verb, a.reason))
            .collect()
    }

    #[test]
    fn a_fresh_namespace_is_written_and_started() {
        let p = decide_env(
            FILE,
            &Installed::new(),
            &BTreeMap::new(),
            &[],
            &BTreeMap::new(),
        );
        assert!(p.env_changes.iter().all(|c| matches!(c, Change::Add(_))));
        assert!(
            p.env_changes.iter().any(|c| c.name() == "prod/api@3.env"),
            "the spare instance's file"
        );
        assert!(p.changes.iter().all(|c| matches!(c, Change::Add(_))));
        assert!(p.reload);
        let s = starts(&p);
        assert!(s.contains(&("prod-api@2.service".into(), Verb::Start, Reason::New)));
        assert!(s.contains(&("prod-web.v2@1.service".into(), Verb::Start, Reason::New)));
        assert_eq!(s.last().unwrap().0, "unitgen-prod.target");
        assert_eq!(
            p.starts
                .iter()
                .find(|a| a.unit == "prod-web.v2@1.service")
                .unwrap()
                .app
                .as_deref(),
            Some("web.v2")
        );
    }

    #[test]
    fn an_applied_namespace_needs_nothing() {
        let p = decide(FILE, &installed(FILE, 100), &[], &all_running(200));
        assert!(p.is_empty(), "{p:#?}");
    }

    #[test]
    fn files_written_behind_apply_s_back_restart_what_runs() {
        // `unitgen render v2.toml --out /etc/systemd/system`, then apply v2: the files are
        // already right, but systemd runs what it read before.
        let v2 = FILE.replace("server.js", "server2.js");
        let mut loaded = all_running(200);
        for l in loaded.values_mut() {
            l.need_daemon_reload = true;
        }
        let p = decide_env(&v2, &installed(&v2, 300), &env_of(&v2, 300), &[], &loaded);
        assert!(p.changes.is_empty());
        assert!(p.reload);
        assert!(starts(&p).contains(&(
            "prod-api@1.service".into(),
            Verb::Restart,
            Reason::NotReloaded
        )));
        // Killed after the reload, before the restarts: the files are newer than the processes.
        for l in loaded.values_mut() {
            l.need_daemon_reload = false;
        }
        let p = decide_env(&v2, &installed(&v2, 300), &env_of(&v2, 300), &[], &loaded);
        assert!(!p.reload);
        let s = starts(&p);
        assert!(s.contains(&("prod-api@2.service".into(), Verb::Restart, Reason::Stale)));
        assert!(s.contains(&("prod-web.v2@1.service".into(), Verb::Restart, Reason::Stale)));
        assert!(!s.iter().any(|a| a.0 == "unitgen-prod.target"));
    }

    #[test]
    fn removed_apps_and_extra_instances_are_stopped_and_named() {
        let old = format!("{FILE}[apps.gone]\ncommand = \"/usr/bin/node gone.js\"\n");
        let mut loaded = all_running(200);
        loaded.extend([
            running("prod-gone@1.service", 200),
            running("prod-api@3.service", 200),
        ]);
        let mut failed = running("prod-web.v2@2.service", 200).1;
        failed.active = ActiveState::Failed;
        loaded.insert(failed.name.clone(), failed);
        let p = decide(FILE, &installed(&old, 100), &[], &loaded);
        let stops: Vec<(&str, Verb, Reason, Option<&str>)> = p
            .stops
            .iter()
            .map(|a| (a.unit.as_str(), a.verb, a.reason, a.app.as_deref()))
            .collect();
        assert!(stops.contains(&(
            "prod-gone@1.service",
            Verb::Stop,
            Reason::Removed,
            Some("gone")
        )));
        assert!(stops.contains(&("prod-api@3.service", Verb::Stop, Reason::Extra, Some("api"))));
        assert!(stops.contains(&(
            "prod-web.v2@2.service",
            Verb::Forget,
            Reason::Extra,
            Some("web.v2")
        )));
        assert!(p
            .changes
            .iter()
            .any(|c| matches!(c, Change::Remove(n, _) if n == "prod-gone@.service")));
    }

    #[test]
    fn a_file_with_a_forged_mark_is_stopped_before_it_goes() {
        let mut inst = installed(FILE, 100);
        let forged = "[Unit]\nX-Unitgen-Namespace=prod\n[Service]\nExecStart=/bin/sleep 1\n";
        inst.insert(
            "evil.service".into(),
            Entry::File(InstalledFile {
                text: forged.into(),
                modified_us: 100,
            }),
        );
        assert!(patterns("prod", &inst).contains(&"evil.service".to_string()));
        let mut loaded = all_running(200);
        loaded.extend([running("evil.service", 200)]);
        let p = decide(FILE, &inst, &[], &loaded);
        assert!(p
            .stops
            .iter()
            .any(|a| a.unit == "evil.service" && a.verb == Verb::Stop));
        assert!(p.changes.iter().any(|c| c.name() == "evil.service"));
    }

    #[test]
    fn masks_links_and_foreign_files_change_nothing() {
        let mut inst = installed(FILE, 100);
        inst.insert(
            "prod-api@.service".into(),
            Entry::Link(PathBuf::from("/dev/null")),
        );
        let p = decide(FILE, &inst, &[], &all_running(200));
        assert!(
            matches!(&p.refusals[..], [Refusal::Masked(path)] if path.ends_with("prod-api@.service"))
        );
        assert!(p.changes.is_empty() && p.starts.is_empty() && p.stops.is_empty());
        assert!(p.refusals[0]
            .problem("prod")
            .to_string()
            .contains("systemctl unmask"));

        let mut inst = installed(FILE, 100);
        inst.insert(
            "prod-api.socket".into(),
            Entry::Link(PathBuf::from("/opt/x/prod-api.socket")),
        );
        let p = decide(FILE, &inst, &[], &all_running(200));
        assert!(matches!(&p.refusals[..], [Refusal::Linked(..)]));

        let shadow = Shadow {
            name: "prod-web.v2@.service".into(),
            path: PathBuf::from("/run/systemd/system/prod-web.v2@.service"),
            link: Some(PathBuf::from("/dev/null")),
            namespace: None,
        };
        let p = decide(FILE, &installed(FILE, 100), &[shadow], &all_running(200));
        assert!(matches!(&p.refusals[..], [Refusal::Masked(_)]));

        let mut inst = installed(FILE, 100);
        inst.insert(
            "prod-api@.service".into(),
            Entry::File(InstalledFile {
                text: "[Service]\nExecStart=/bin/true\n".into(),
                modified_us: 1,
            }),
        );
        let p = decide(FILE, &inst, &[], &all_running(200));
        assert!(matches!(&p.refusals[..], [Refusal::Foreign(_)]));
    }

    #[test]
    fn a_masked_instance_changes_nothing() {
        let mut inst = installed(FILE, 100);
        inst.insert(
            "prod-api@2.service".into(),
            Entry::Link(PathBuf::from("/dev/null")),
        );
        let p = decide(FILE, &inst, &[], &all_running(200));
        assert!(
            matches!(&p.refusals[..], [Refusal::Masked(path)] if path.ends_with("prod-api@2.service"))
        );
        let mut loaded = all_running(200);
        loaded.get_mut("prod-api@1.service").unwrap().load =
            crate::adapters::systemd::LoadState::Masked;
        let p = decide(FILE, &installed(FILE, 100), &[], &loaded);
        assert_eq!(p.refusals.len(), 1);
        assert!(p.starts.is_empty());
    }

    #[test]
    fn failed_and_stopped_instances_are_started() {
        let mut loaded = all_running(200);
        loaded.get_mut("prod-api@1.service").unwrap().active = ActiveState::Failed;
        loaded.remove("prod-api@2.service");
        let p = decide(FILE, &installed(FILE, 100), &[], &loaded);
        assert_eq!(
            starts(&p),
            vec![
                ("prod-api@1.service".into(), Verb::Start, Reason::Failed),
                ("prod-api@2.service".into(), Verb::Start, Reason::NotRunning),
            ]
        );
    }

    #[test]
    fn instances_holding_the_port_of_a_failed_socket_stop_before_it_starts() {
        let mut loaded = all_running(200);
        loaded.get_mut("prod-api.socket").unwrap().active = ActiveState::Failed;
        loaded.get_mut("prod-api@1.service").unwrap().active = ActiveState::Failed;
        let p = decide(FILE, &installed(FILE, 100), &[], &loaded);
        let stops: Vec<(&str, Verb, Reason)> = p
            .stops
            .iter()
            .map(|a| (a.unit.as_str(), a.verb, a.reason))
            .collect();
        assert_eq!(
            stops,
            [("prod-api@2.service", Verb::Stop, Reason::HoldsPort)]
        );
        let s = starts(&p);
        assert!(s.contains(&("prod-api.socket".into(), Verb::Start, Reason::Failed)));
        assert!(s.contains(&("prod-api@1.service".into(), Verb::Start, Reason::Failed)));
        assert!(s.contains(&("prod-api@2.service".into(), Verb::Start, Reason::HoldsPort)));
        // A running socket: nothing to free.
        let p = decide(FILE, &installed(FILE, 100), &[], &all_running(200));
        assert!(p.stops.is_empty());
    }

    #[test]
    fn an_app_with_a_socket_rolls_unless_its_socket_changes() {
        let v2 = FILE.replace("server.js", "server2.js");
        let p = decide(&v2, &installed(FILE, 100), &[], &all_running(200));
        assert_eq!(
            starts(&p),
            vec![
                ("prod-api@1.service".into(), Verb::Roll, Reason::Changed),
                ("prod-api@2.service".into(), Verb::Roll, Reason::Changed),
            ]
        );
        let v3 = FILE.replace("listen = [3000]", "listen = [3001]");
        let p = decide(&v3, &installed(FILE, 100), &[], &all_running(200));
        let s = starts(&p);
        assert!(s.contains(&("prod-api.socket".into(), Verb::Restart, Reason::Changed)));
        assert!(s
            .iter()
            .all(|(u, v, _)| !u.starts_with("prod-api@") || *v == Verb::Restart));
    }

    #[test]
    fn a_changed_file_restarts_only_its_app() {
        let v2 = FILE.replace("web.js", "web2.js");
        let p = decide(&v2, &installed(FILE, 100), &[], &all_running(200));
        assert_eq!(
            starts(&p),
            vec![(
                "prod-web.v2@1.service".into(),
                Verb::Restart,
                Reason::Changed
            )]
        );
        assert!(p.reload);
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn a_changed_variable_restarts_its_app_and_the_plan_names_it_not_its_value() {
        let file = "namespace = \"prod\"\n[apps.api]\ncommand = \"/usr/bin/node s.js\"\ninstances = 2\nenv = { SECRET = \"old-secret\" }\n[apps.other]\ncommand = \"/usr/bin/node o.js\"\n";
        let n = crate::core::config::load(
            Path::new("/srv/prod.toml"),
            file,
            &crate::adapters::host::FixedHost::default(),
        )
        .unwrap();
        let units = crate::core::compile::compile(
            &n,
            &crate::core::compile::Target::system(),
            &crate::core::render::Renderer::new(),
        );
        let installed: Installed = units
            .iter()
            .map(|u| {
                (
                    u.name.clone(),
                    Entry::File(crate::adapters::unit_dir::InstalledFile {
                        text: u.content.clone(),
                        modified_us: 1,
                    }),
                )
            })
            .collect();
        let old_env: BTreeMap<String, crate::adapters::unit_dir::InstalledFile> =
            crate::core::compile::env_files(&n, &crate::core::compile::Target::system())
                .into_iter()
                .map(|f| {
                    (
                        f.name,
                        crate::adapters::unit_dir::InstalledFile {
                            text: f.content,
                            modified_us: 1,
                        },
                    )
                })
                .collect();
        let new_file = file.replace("old-secret", "new-secret");
        let n2 = crate::core::config::load(
            Path::new("/srv/prod.toml"),
            &new_file,
            &crate::adapters::host::FixedHost::default(),
        )
        .unwrap();
        let env = crate::core::compile::env_files(&n2, &crate::core::compile::Target::system());
        let loaded: BTreeMap<String, LoadedUnit> = [
            "prod-api@1.service",
            "prod-api@2.service",
            "prod-other@1.service",
            "unitgen-prod.target",
        ]
        .iter()
        .map(|u| {
            (
                u.to_string(),
                LoadedUnit {
                    name: u.to_string(),
                    active: crate::adapters::systemd::ActiveState::Active,
                    started_us: Some(2),
                    ..Default::default()
                },
            )
        })
        .collect();
        let p = plan(Input {
            ns: &n2,
            units: &units,
            dir: Path::new("/etc/systemd/system"),
            installed: &installed,
            env: &env,
            installed_env: &old_env,
            shadows: &[],
            loaded: &loaded,
            target_enabled: true,
            start: true,
        });
        assert!(p.changes.is_empty());
        assert_eq!(p.env_changes.len(), 1);
        assert!(!p.reload, "an environment file needs no daemon-reload");
        let restarted: Vec<&str> = p.starts.iter().map(|a| a.unit.as_str()).collect();
        assert_eq!(restarted, ["prod-api@1.service", "prod-api@2.service"]);
        let text = p.describe(
            Path::new("/etc/systemd/system"),
            Path::new("/etc/unitgen/env"),
        );
        assert!(
            text.contains("/etc/unitgen/env/prod/api.env (SECRET changed)"),
            "{text}"
        );
        assert!(!text.contains("secret\""), "a value is shown: {text}");
    }
}
