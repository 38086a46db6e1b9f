//! PM2 migration: a PM2 ecosystem file (`.js`, `.cjs`, `.mjs`, `.json`, `.yaml`) becomes one
//! unitgen TOML file per namespace. Every PM2 option becomes a key or a comment that says
//! what it was and what to do instead; see `doc/migrating-from-pm2.md`.
//!
//! This module is pure apart from reading the PM2 file (and running `node` for JavaScript):
//! it returns the TOML texts; `commands/import.rs` validates and writes them.

pub mod map;
pub mod opts;
pub mod read;
pub mod server;
pub mod value;

use std::path::{Path, PathBuf};

use map::AppOut;
use value::Js;

/// The long help of `unitgen import`, ready for the man page.
pub const LONG_HELP: &str = "\
Turn a PM2 ecosystem file into unitgen ecosystem files: one TOML file per PM2 namespace, \
written as NAMESPACE.toml beside the PM2 file (or into the directory given with -o DIR/, or \
to the file -o OUT when there is one namespace, or to stdout with -o -).

JSON and YAML files are read directly. A .js, .cjs or .mjs file is code: it is evaluated by \
the machine's `node`, as PM2 evaluates it, so it sees the environment unitgen import runs in \
(run `NODE_ENV=production unitgen import ...` if the file branches on it). Functions and \
undefined values cannot be carried over and are named in comments.

--env NAME merges each app's env_NAME block over its env, as `pm2 start --env NAME` does; \
the other env_* blocks are listed in comments. An app's namespace is its PM2 `namespace`, \
else --namespace, else a top-level `namespace` of the file, else the --env name, else \
\"default\"; names that unitgen cannot use (my-app) are converted (my_app), and said so.

Every PM2 option becomes a key, or a comment at the app that says what it was and what to \
do instead (log files, watch, PM2 Plus...); a summary goes to stderr. Options are read as \
PM2 reads them: under their camelCase names too, in cluster mode whenever `instances` is set \
for a Node app. An app with a port that systemd can hold gets `listen`, so that a restart \
refuses no connection and instances share the port, with no change to the app: a Node app \
(in cluster or fork mode) through unitgen's Node preload, which hands the socket to its own \
listen(); gunicorn, which takes the socket itself; uvicorn, whose --host and --port become \
--fd 3. The address the app bound (HOST, -b, --host) is kept when the file tells it.

The result is validated on this machine as `unitgen validate` would, and each script an \
interpreter runs must exist. When that fails (a script that is not deployed here yet, a \
port another namespace holds), the file is still written, so that it can be fixed, and the \
problems are printed; the exit status is then 1. \
An existing file is replaced only when it was written by unitgen import, or named with -o.

Exit status: 0 written and valid; 1 written, but it does not validate here yet; 2 bad \
input (not a PM2 file, a syntax error, a .js that throws, an app without a script, no \
node for a .js file): nothing written.";

/// Why an import cannot go on. Nothing has been written when one is returned.
pub type Error = crate::error::Problem;

/// Why a PM2 file cannot be imported: one problem, or one for each app that cannot be.
#[derive(Debug)]
pub struct Errors(pub Vec<Error>);

impl From<Error> for Errors {
    fn from(e: Error) -> Self {
        Errors(vec![e])
    }
}

/// What to import and where the result will live.
pub struct Request<'a> {
    /// The PM2 file, as the user named it.
    pub file: &'a Path,
    /// `--env NAME`.
    pub env: Option<&'a str>,
    /// `--namespace NS`.
    pub namespace: Option<&'a str>,
    /// The directory the TOML files will be written to, absolute: relative paths of the PM2
    /// file keep their meaning only when it is the PM2 file's own.
    pub out_dir: &'a Path,
    /// Where is a program in `PATH`? (PM2 runs a script it does not find in cwd from PATH,
    /// and chooses `python` or `python3` by what is there)
    pub which: &'a dyn Fn(&str) -> Option<PathBuf>,
    /// Who runs the apps, and why, for `user` in `[defaults]`; none: the file says how to choose.
    pub run_as: Option<(&'a str, &'a str)>,
}

/// One TOML file to write.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Its unitgen namespace.
    pub namespace: String,
    /// Its text.
    pub toml: String,
    /// `(PM2 name, unitgen name)` of each app.
    pub apps: Vec<(String, String)>,
    /// What the user should know, one line each, for stderr.
    pub summary: Vec<String>,
    /// What will keep an app from running here that validation does not check, one line
    /// each, naming the app.
    pub problems: Vec<String>,
}

/// The whole result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// One file per namespace, in the order the PM2 file first names them.
    pub files: Vec<Imported>,
    /// Remarks about the PM2 file as a whole.
    pub remarks: Vec<String>,
}

/// A namespace name unitgen accepts: `[a-z][a-z0-9_]{0,31}`.
pub fn namespace_name(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_ascii_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if out.is_empty() {
        return "default".into();
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out = format!("ns_{out}");
    }
    out.truncate(32);
    out.trim_end_matches('_').to_string()
}

/// An app name unitgen accepts: `[A-Za-z0-9][A-Za-z0-9_.-]*`, at most 64 characters.
pub fn app_name(s: &str) -> String {
    let mapped: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in mapped.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let mut out = out
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches('-')
        .to_string();
    out.truncate(64);
    if out.is_empty() {
        "app".into()
    } else {
        out
    }
}

/// Where the app list is, and what else the top of the file holds.
struct Top<'a> {
    apps: Vec<&'a Js>,
    /// `apps` was one object rather than an array.
    single: bool,
    /// The key that held the apps (`apps`, `pm2`), for paths in messages.
    key: Option<&'static str>,
    namespace: Option<String>,
    deploy: Option<&'a Js>,
    others: Vec<(&'a str, &'a Js)>,
}

fn is_app(v: &Js) -> bool {
    ["script", "exec", "cmd", "command"]
        .iter()
        .any(|k| v.get(k).is_some())
}

fn top<'a>(file: &str, v: &'a Js) -> Result<Top<'a>, Error> {
    let not_pm2 = |found: String| {
        Error::new(format!("{file} is not a PM2 ecosystem file: {found}"))
            .help("a PM2 ecosystem file holds { apps: [ { name, script, ... } ] }, or an array of such apps")
    };
    let mut t = Top {
        apps: Vec::new(),
        single: false,
        key: None,
        namespace: None,
        deploy: None,
        others: Vec::new(),
    };
    match v {
        Js::Arr(a) => t.apps = a.iter().collect(),
        Js::Obj(o) => {
            let key = if v.get("apps").is_some() {
                Some("apps")
            } else if v.get("pm2").is_some() {
                Some("pm2")
            } else {
                None
            };
            match key.and_then(|k| v.get(k)) {
                Some(Js::Arr(a)) => t.apps = a.iter().collect(),
                Some(app @ Js::Obj(_)) => {
                    t.apps = vec![app];
                    t.single = true;
                }
                Some(other) => {
                    return Err(not_pm2(format!(
                        "`{}` is {}, expected an array of apps",
                        key.unwrap_or("apps"),
                        other.kind()
                    )))
                }
                None if is_app(v) => {
                    t.apps = vec![v];
                    t.single = true;
                }
                None => {
                    let keys: Vec<&str> = o.iter().take(6).map(|(k, _)| k.as_str()).collect();
                    return Err(not_pm2(if keys.is_empty() {
                        "it is an empty object".into()
                    } else {
                        format!("it has no `apps` (its keys: {})", keys.join(", "))
                    }));
                }
            }
            t.key = key;
            for (k, val) in o {
                match k.as_str() {
                    "apps" | "pm2" if key == Some(k.as_str()) => {}
                    "namespace" if key.is_some() => t.namespace = Some(val.to_env_text()),
                    "deploy" if key.is_some() => t.deploy = Some(val),
                    _ if key.is_some() => t.others.push((k.as_str(), val)),
                    _ => {}
                }
            }
        }
        Js::Null => {
            return Err(not_pm2(
                "it exports nothing (module.exports is undefined or null)".into(),
            ))
        }
        other => return Err(not_pm2(format!("it holds {}", other.kind()))),
    }
    if t.apps.is_empty() {
        return Err(Error::new(format!("{file} has no apps"))
            .help("PM2 would start nothing either: add apps, or import another file"));
    }
    Ok(t)
}

/// The app index a path from node's walk points into (`apps[2].env.X` is app 2).
fn app_of_path(path: &str, t: &Top<'_>) -> Option<usize> {
    let rest = match t.key {
        Some(k) => path.strip_prefix(k)?,
        None => path,
    };
    if t.single {
        return (rest.is_empty() || rest.starts_with('.')).then_some(0);
    }
    let rest = rest.strip_prefix('[')?;
    rest[..rest.find(']')?].parse().ok()
}

/// Read the PM2 file and make the TOML files. Nothing is written here.
pub fn import(req: &Request<'_>) -> Result<Outcome, Errors> {
    let shown = req.file.display().to_string();
    let loaded = read::load(req.file)?;
    let t = top(&shown, &loaded.value)?;
    let abs = std::path::absolute(req.file).unwrap_or_else(|_| req.file.to_path_buf());
    let pm2_dir = abs
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let same_dir = same_dir(&pm2_dir, req.out_dir);
    let deploy_env = match (t.deploy, req.env) {
        (Some(d), Some(e)) => d.get(e).and_then(|x| x.get("env")),
        _ => None,
    };
    let ctx = map::Ctx {
        env: req.env,
        deploy_env,
        pm2_dir: &pm2_dir,
        same_dir,
        which: req.which,
    };
    let mut notes = FileNotes {
        notes: Vec::new(),
        remarks: loaded.remarks.clone(),
    };
    let (mut apps, skipped_serve) = convert_apps(&t, &ctx, &shown, &mut notes)?;
    let mut deploy_dropped: Vec<String> = Vec::new();
    for d in &loaded.dropped {
        // Undefined values of deploy targets PM2 does not merge are said at the deploy note.
        let merged = req.env.map(|e| format!("deploy.{e}.env."));
        if d.starts_with("deploy.") && !merged.is_some_and(|m| d.starts_with(&m)) {
            deploy_dropped.push(d.clone());
        } else {
            dropped_value(d, &t, skipped_serve, &mut apps, &mut notes);
        }
    }
    let (hosts, hosts_note) = t
        .deploy
        .map(|d| deploy_hosts_for(d, req.env))
        .unwrap_or_default();
    if let Some(d) = t.deploy {
        deploy_note(
            d,
            !hosts.is_empty(),
            deploy_env.is_some(),
            req.env,
            &deploy_dropped,
            &mut notes,
        );
    }
    other_top_keys(&t.others, &mut notes);

    let label = if same_dir {
        abs.file_name()
            .map_or_else(|| shown.clone(), |f| f.to_string_lossy().into_owned())
    } else {
        abs.display().to_string()
    };
    let files: Vec<Imported> = by_namespace(apps, req, t.namespace.as_deref())
        .into_iter()
        .map(|g| {
            make_file(
                g,
                &label,
                req.env,
                (!same_dir).then_some(pm2_dir.as_path()),
                &notes.notes,
                req.run_as,
                (&hosts, hosts_note.as_deref()),
            )
        })
        .collect();
    if files.is_empty() {
        return Err(Error::new(format!("{shown}: no app could be imported"))
            .help("see the notes above")
            .into());
    }
    Ok(Outcome {
        files,
        remarks: notes.remarks,
    })
}

/// What is said about the PM2 file as a whole: comments at the top of every file written,
/// and remarks for the summary.
struct FileNotes {
    notes: Vec<String>,
    remarks: Vec<String>,
}

impl FileNotes {
    /// A comment for the top of the files, and its line in the summary.
    fn add(&mut self, note: String, remark: String) {
        self.notes.push(note);
        self.remarks.push(remark);
    }
}

/// Convert every app, reporting every bad one at once (as validate does). PM2's static file
/// server (`script: "serve"`) is not an app here. Returns the apps, and whether any app was
/// left out (then app indices no longer match).
fn convert_apps(
    t: &Top<'_>,
    ctx: &map::Ctx<'_>,
    shown: &str,
    notes: &mut FileNotes,
) -> Result<(Vec<AppOut>, bool), Errors> {
    let mut apps: Vec<AppOut> = Vec::new();
    let mut errors: Vec<Error> = Vec::new();
    let mut serve: Vec<String> = Vec::new();
    for (i, app) in t.apps.iter().enumerate() {
        if let Some(Js::Str(s)) = app.get("script") {
            if s == "serve" {
                let name = app
                    .get("name")
                    .map_or_else(|| format!("#{}", i + 1), Js::to_env_text);
                serve.push(format!("{name} ({})", app.brief(120)));
                continue;
            }
        }
        match map::convert(app, i, ctx) {
            Ok(a) => apps.push(a),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        let at = format!("--> {shown}");
        return Err(Errors(
            errors.into_iter().map(|e| e.detail(at.clone())).collect(),
        ));
    }
    if !serve.is_empty() {
        notes.add(
            format!(
                "Not imported: PM2's built-in static file server (script = \"serve\"): {}. Serve those files with your web server (nginx, caddy), or add an app that runs one, e.g. command = \"npx serve -l 8080 dist\".",
                serve.join("; ")
            ),
            format!(
                "{} static server app(s) (script \"serve\") not imported: see the comment at the top",
                serve.len()
            ),
        );
    }
    Ok((apps, !serve.is_empty()))
}

/// A value JSON cannot carry: said at its app if it belongs to one, else at the top.
fn dropped_value(d: &str, t: &Top<'_>, skipped: bool, apps: &mut [AppOut], notes: &mut FileNotes) {
    let why = if d.ends_with("(undefined)") {
        " (a process.env variable that is not set here?)"
    } else {
        ""
    };
    let note = format!("not imported: {d}{why}.");
    let idx = app_of_path(d, t).filter(|_| !skipped);
    match idx.and_then(|i| apps.get_mut(i)) {
        Some(a) => {
            if d.contains(".env") {
                a.env_notes.push(note);
            } else {
                a.notes.push(note);
            }
            a.summary.push(format!("{d}: not imported"));
        }
        None => {
            notes.add(note, format!("{d}: not imported"));
        }
    }
}

/// The hosts a deploy target names: `host` is a string or a list (pm2-deploy, deployForEnv).
fn deploy_hosts(target: &Js) -> String {
    let one = |h: &Js| match h {
        Js::Obj(_) => h.get("host").map_or_else(|| h.brief(30), Js::to_env_text),
        other => other.to_env_text(),
    };
    match target.get("host") {
        Some(Js::Arr(hs)) if !hs.is_empty() => {
            format!(" on {}", hs.iter().map(one).collect::<Vec<_>>().join(", "))
        }
        Some(h @ (Js::Str(_) | Js::Obj(_))) => format!(" on {}", one(h)),
        _ => String::new(),
    }
}

/// The hosts of the PM2 deploy target this import is for: the one `--env NAME` names
/// (`deploy.NAME`), or the only one. Each `user@host` as ssh takes it; what stays with git (the
/// checkout in `path`) is said in a comment above them.
fn deploy_hosts_for(d: &Js, env: Option<&str>) -> (Vec<String>, Option<String>) {
    let targets: Vec<(String, &Js)> = match d {
        Js::Obj(o) => o.iter().map(|(k, v)| (k.clone(), v)).collect(),
        _ => return (Vec::new(), None),
    };
    let chosen = match (env, targets.as_slice()) {
        (Some(e), _) => targets.iter().find(|(n, _)| n == e),
        (None, [one]) => Some(one),
        (None, _) => {
            let names: Vec<&str> = targets.iter().map(|(n, _)| n.as_str()).collect();
            let note = format!(
                "PM2 deploy has several targets ({}): import with --env NAME to take the hosts of one as `hosts`.",
                names.join(", ")
            );
            return (Vec::new(), Some(note));
        }
    };
    let Some((name, t)) = chosen else {
        return (Vec::new(), None);
    };
    let user = t.get("user").map(Js::to_env_text);
    let one = |h: &Js| match h {
        Js::Obj(_) => h.get("host").map(Js::to_env_text),
        Js::Str(_) => Some(h.to_env_text()),
        _ => None,
    };
    let names: Vec<String> = match t.get("host") {
        Some(Js::Arr(hs)) => hs.iter().filter_map(one).collect(),
        Some(h) => one(h).into_iter().collect(),
        None => Vec::new(),
    };
    let hosts: Vec<String> = names
        .into_iter()
        .map(|h| match &user {
            Some(u) if !h.contains('@') => format!("{u}@{h}"),
            _ => h,
        })
        .filter(|h| crate::core::fleet::Host::parse(h).is_ok())
        .collect();
    if hosts.is_empty() {
        return (Vec::new(), None);
    }
    let mut note = format!(
        "PM2 deploy.{name}: its hosts, one after the other (`unitgen apply FILE` runs unitgen on each over ssh; install unitgen there). The code stays with git: deploy it as before (pm2-deploy's git steps, CI, rsync), then apply."
    );
    if let Some(path) = t.get("path").map(Js::to_env_text) {
        note.push_str(&format!(
            " PM2 ran the apps in {path}/current on each host: put this file there (relative paths start from its directory), or give cwd = \"{path}/current\"."
        ));
    }
    (hosts, Some(note))
}

/// PM2's `deploy` section (lib/API/Deploy.js, with pm2-deploy): git checkouts over ssh, then
/// a post-deploy command. That stays with git or CI; only `deploy.NAME.env` reaches the apps
/// (merged under their env with --env NAME, Common.mergeEnvironmentVariables).
fn deploy_note(
    d: &Js,
    hosts_taken: bool,
    merged: bool,
    env: Option<&str>,
    dropped: &[String],
    notes: &mut FileNotes,
) {
    let targets: Vec<(String, &Js)> = match d {
        Js::Obj(o) => o.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Js::Arr(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = v
                    .get("name")
                    .map_or_else(|| format!("#{}", i + 1), Js::to_env_text);
                (name, v)
            })
            .collect(),
        _ => Vec::new(),
    };
    let described: Vec<String> = targets
        .iter()
        .map(|(n, t)| format!("{n}{}", deploy_hosts(t)))
        .collect();
    let what = if described.is_empty() {
        d.brief(60)
    } else {
        described.join("; ")
    };
    let mut text = if hosts_taken {
        format!("PM2 deploy ({what}): its hosts are `hosts` below; the rest (git checkouts, hooks) stays with git: deploy the code with your CI, or git as before, then run `unitgen apply` on this file.")
    } else {
        format!("Not imported: PM2 deploy ({what}). That stays with git: deploy the code with your CI, or git as before, then run `unitgen apply` on this file.")
    };
    if matches!(d, Js::Arr(_)) {
        text.push_str(" (This deploy is a list; `pm2 deploy FILE NAME` looks its target up by name, deploy.NAME, so it found none of these.)");
    }
    let runs_pm2 = targets.iter().any(|(_, t)| {
        t.get("post-deploy")
            .is_some_and(|p| p.to_env_text().contains("pm2 "))
    });
    if runs_pm2 {
        text.push_str(
            " Its post-deploy runs `pm2 …`: make it run `unitgen apply` on this file instead.",
        );
    }
    if let (true, Some(e)) = (merged, env) {
        text.push_str(&format!(
            " Its {e} env was merged under each app's env, as PM2 does."
        ));
    }
    if !dropped.is_empty() {
        let what: Vec<&str> = dropped
            .iter()
            .map(|s| s.strip_suffix(" (undefined)").unwrap_or(s))
            .collect();
        text.push_str(&format!(
            " Not set when the file was read: {}.",
            what.join(", ")
        ));
    }
    notes.add(
        text,
        "deploy section not imported: see the comment at the top".into(),
    );
}

/// Top-level keys besides apps, deploy and namespace: PM2's static servers, or nothing PM2
/// reads.
fn other_top_keys(others: &[(&str, &Js)], notes: &mut FileNotes) {
    let mut unknown: Vec<String> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    for (k, v) in others {
        if *k == "static" {
            notes.add(
                format!(
                    "Not imported: PM2 static = {}: PM2's built-in static file servers. Serve those files with your web server (nginx, caddy).",
                    v.brief(80)
                ),
                "static servers not imported: see the comment at the top".into(),
            );
        } else {
            unknown.push(format!("{k} = {}", v.brief(40)));
            keys.push(k);
        }
    }
    if !unknown.is_empty() {
        notes.add(
            format!(
                "Not imported, not PM2 keys (PM2 ignores them too): {}.",
                unknown.join(", ")
            ),
            format!(
                "top-level {} {}: not imported",
                if keys.len() == 1 { "key" } else { "keys" },
                keys.join(", ")
            ),
        );
    }
}

/// The apps of one namespace: (unitgen name, PM2 name, where the name came from, apps).
struct Group {
    ns: String,
    pm2_ns: String,
    why: String,
    apps: Vec<AppOut>,
}

/// Namespaces: the app's own, --namespace, the file's top-level one, --env, "default".
fn by_namespace(apps: Vec<AppOut>, req: &Request<'_>, top_ns: Option<&str>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for a in apps {
        // `why`: where the name came from, as the start of a sentence.
        let (pm2_ns, why) = if let Some(n) = &a.namespace {
            (n.clone(), "its PM2 namespace".to_string())
        } else if let Some(n) = req.namespace {
            (n.to_string(), "from --namespace".to_string())
        } else if let Some(n) = top_ns {
            (
                n.to_string(),
                "the PM2 file's top-level namespace; PM2 itself ignores it there and uses --namespace or \"default\"".to_string(),
            )
        } else if let Some(e) = req.env {
            (
                e.to_string(),
                "from --env: the apps name no namespace, and PM2 put them in \"default\""
                    .to_string(),
            )
        } else {
            ("default".to_string(), String::new())
        };
        match groups.iter_mut().find(|g| g.pm2_ns == pm2_ns) {
            Some(g) => g.apps.push(a),
            None => {
                // Two PM2 namespaces that convert to one name get told apart.
                let ns = namespace_name(&pm2_ns);
                let mut name = ns.clone();
                let mut n = 2;
                while groups.iter().any(|g| g.ns == name) {
                    let suffix = format!("_{n}");
                    let mut base = ns.clone();
                    base.truncate(32 - suffix.len());
                    name = format!("{base}{suffix}");
                    n += 1;
                }
                groups.push(Group {
                    ns: name,
                    pm2_ns,
                    why,
                    apps: vec![a],
                });
            }
        }
    }
    groups
}

/// What the file says about its namespace, and the summary line when its name changed.
fn namespace_comment(g: &Group, summary: &mut Vec<String>) -> Option<String> {
    let (ns, pm2_ns, why) = (&g.ns, &g.pm2_ns, &g.why);
    if ns != pm2_ns {
        summary.push(format!(
            "namespace {pm2_ns:?} became {ns:?} (a namespace is [a-z][a-z0-9_]{{0,31}})"
        ));
        let from = if why.is_empty() {
            "PM2's namespace for apps that name none"
        } else {
            why.as_str()
        };
        Some(format!(
            "{pm2_ns:?} ({from}), made a unitgen name: lower-case letters, digits and '_' (systemd reads a dash in a slice name as nesting)."
        ))
    } else if why.is_empty() {
        Some("PM2 puts apps that name no namespace in \"default\"; import with --namespace NS to choose another.".to_string())
    } else if why == "its PM2 namespace" || why == "from --namespace" {
        None
    } else {
        Some(format!("{ns:?}: {why}."))
    }
}

/// App names: valid and distinct within the namespace (unit names ignore case).
fn name_apps(apps: &mut [AppOut], summary: &mut Vec<String>) {
    let mut taken: Vec<String> = Vec::new();
    for a in apps.iter_mut() {
        let base = app_name(&a.pm2_name);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name.to_ascii_lowercase()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        taken.push(name.to_ascii_lowercase());
        if name != a.pm2_name {
            let why = if base != a.pm2_name {
                "an app name is letters, digits, '_', '.' and '-'"
            } else {
                "another app of this namespace has that name"
            };
            summary.push(format!("app {:?} named {name:?} ({why})", a.pm2_name));
            a.notes
                .insert(0, format!("PM2 name = {:?} ({why}).", a.pm2_name));
        }
        a.name = name;
    }
}

/// One TOML file for one namespace.
fn make_file(
    mut g: Group,
    label: &str,
    env: Option<&str>,
    cwd_default: Option<&Path>,
    file_notes: &[String],
    run_as: Option<(&str, &str)>,
    (hosts, hosts_note): (&[String], Option<&str>),
) -> Imported {
    let mut summary = Vec::new();
    let ns_comment = namespace_comment(&g, &mut summary);
    name_apps(&mut g.apps, &mut summary);
    let toml = render(&RenderInput {
        label,
        env,
        ns: &g.ns,
        ns_comment: ns_comment.as_deref(),
        cwd_default,
        file_notes,
        apps: &g.apps,
        run_as,
        hosts,
        hosts_note,
    });
    for a in &g.apps {
        for s in &a.summary {
            summary.push(format!("{}: {s}", a.name));
        }
    }
    Imported {
        namespace: g.ns,
        toml,
        apps: g
            .apps
            .iter()
            .map(|a| (a.pm2_name.clone(), a.name.clone()))
            .collect(),
        summary,
        problems: g
            .apps
            .iter()
            .flat_map(|a| {
                a.problems
                    .iter()
                    .map(move |p| format!("app {}: {p}", a.name))
            })
            .collect(),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

struct RenderInput<'a> {
    label: &'a str,
    env: Option<&'a str>,
    ns: &'a str,
    ns_comment: Option<&'a str>,
    cwd_default: Option<&'a Path>,
    file_notes: &'a [String],
    apps: &'a [AppOut],
    run_as: Option<(&'a str, &'a str)>,
    /// From the PM2 deploy target: `hosts`, and what is said about them.
    hosts: &'a [String],
    hosts_note: Option<&'a str>,
}

/// What `[defaults]` says about the stop signal. PM2 sends every app SIGINT (its
/// `KILL_SIGNAL`, lib/God/Methods.js killProcess); no `stop_signal` keeps systemd's SIGTERM,
/// the graceful stop of gunicorn (whose SIGINT is its quick shutdown) and uvicorn.
const STOP_SIGNAL: &str = "PM2 stopped every app with SIGINT (lib/God/Methods.js, killProcess). systemd sends SIGTERM: the graceful stop of gunicorn (whose SIGINT is its quick shutdown) and uvicorn; unitgen's Node preload drains connections on either. An app that handles only SIGINT (process.on('SIGINT'), Python's KeyboardInterrupt) needs stop_signal = \"SIGINT\".";

/// The first line of every file import writes: `commands/import.rs` replaces a file that
/// starts with it without asking.
pub const MARK: &str = "# Imported from PM2 by `unitgen import`";

const WIDTH: usize = 92;

/// Write `text` as `# ` comment lines of at most about `WIDTH` columns.
fn comment(out: &mut String, text: &str) {
    // Words, where `code spans` and `key = value` stay whole.
    let mut words: Vec<String> = Vec::new();
    let mut glue_next = false;
    for w in text.split_whitespace() {
        let open = words
            .last()
            .is_some_and(|l| l.matches('`').count() % 2 == 1);
        match words.last_mut() {
            Some(last) if open || glue_next || w == "=" => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
        glue_next = w == "=";
    }
    let mut line = String::from("#");
    for word in &words {
        if line.len() > 1 && line.len() + 1 + word.len() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
}

/// A TOML key: bare when it can be, else quoted.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

fn render(r: &RenderInput<'_>) -> String {
    let mut out = String::new();
    let env = r.env.map(|e| format!(" --env {e}")).unwrap_or_default();
    out.push_str(&format!("{MARK} from {}{env}.\n", r.label));
    out.push_str("# Review it, then run `unitgen validate` and `unitgen apply` on this file.\n#\n");
    comment(
        &mut out,
        "PM2 passed the environment of the shell that ran `pm2 start` on to every app; systemd starts apps with a clean one: what an app needs must be in its env or env_file.",
    );
    for n in r.file_notes {
        out.push_str("#\n");
        comment(&mut out, n);
    }
    out.push('\n');
    if let Some(c) = r.ns_comment {
        comment(&mut out, c);
    }
    out.push_str(&format!(
        "namespace = {}\n",
        toml::Value::String(r.ns.to_string())
    ));
    if let Some(n) = r.hosts_note {
        comment(&mut out, n);
    }
    if !r.hosts.is_empty() {
        let list: Vec<String> = r
            .hosts
            .iter()
            .map(|h| toml::Value::String(h.clone()).to_string())
            .collect();
        out.push_str(&format!("hosts = [{}]\n", list.join(", ")));
    }
    out.push_str("\n[defaults]\n");
    if let Some(dir) = r.cwd_default {
        comment(
            &mut out,
            "the PM2 file's directory, where `pm2 start` ran apps that name no cwd",
        );
        out.push_str(&format!(
            "cwd = {}\n",
            toml::Value::String(dir.display().to_string())
        ));
    }
    match r.run_as {
        Some((user, why)) => {
            comment(&mut out, why);
            out.push_str(&format!("user = {}\n", toml::Value::String(user.to_string())));
        }
        None => comment(
            &mut out,
            "PM2 ran the apps as the user who ran `pm2 start` (here, by the PM2 file, root). unitgen runs an app without `user` as the owner of this file, and never as root unasked: say who runs them, as user = \"deploy\" (an account of its own), \"dynamic\" (made up by systemd) or \"root\" (knowingly), or import with --run-as USER.",
        ),
    }
    comment(&mut out, STOP_SIGNAL);
    for a in r.apps {
        render_app(&mut out, a);
    }
    out
}

/// One `[apps.NAME]` table: its keys, its environment and its comments.
fn render_app(out: &mut String, a: &AppOut) {
    let table = format!("apps.{}", key(&a.name));
    out.push_str(&format!("\n[{table}]\n"));
    for l in &a.lines {
        if let Some(c) = &l.comment {
            comment(out, c);
        }
        out.push_str(&format!("{} = {}\n", l.key, l.value));
    }
    let inline = format!(
        "env = {{ {} }}",
        a.env
            .iter()
            .map(|(k, v)| format!("{} = {}", key(k), toml::Value::String(v.clone())))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let use_inline = !a.env.is_empty() && a.env.len() <= 3 && inline.len() <= WIDTH;
    if use_inline {
        for n in &a.env_notes {
            comment(out, n);
        }
        out.push_str(&inline);
        out.push('\n');
    }
    if !a.notes.is_empty() {
        out.push('\n');
        for n in &a.notes {
            comment(out, n);
        }
    }
    if !use_inline && (!a.env.is_empty() || !a.env_notes.is_empty()) {
        out.push('\n');
        if a.env.is_empty() {
            for n in &a.env_notes {
                comment(out, n);
            }
        } else {
            out.push_str(&format!("[{table}.env]\n"));
            for n in &a.env_notes {
                comment(out, n);
            }
            for (k, v) in &a.env {
                out.push_str(&format!(
                    "{} = {}\n",
                    key(k),
                    toml::Value::String(v.clone())
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names() {
        assert_eq!(namespace_name("flyer-crawler-prod"), "flyer_crawler_prod");
        assert_eq!(namespace_name("My-App"), "my_app");
        assert_eq!(namespace_name("2024"), "ns_2024");
        assert_eq!(namespace_name("--"), "default");
        assert_eq!(namespace_name(&"a".repeat(40)).len(), 32);
    }

    #[test]
    fn app_names() {
        assert_eq!(app_name("my app"), "my-app");
        assert_eq!(app_name("api:v2"), "api-v2");
        assert_eq!(app_name("__x"), "x");
        assert_eq!(app_name("***"), "app");
        assert_eq!(app_name("proxy-service"), "proxy-service");
    }

    #[test]
    fn comments_wrap() {
        let mut s = String::new();
        comment(&mut s, &"word ".repeat(40));
        assert!(s.lines().all(|l| l.len() <= WIDTH && l.starts_with("# ")));
    }
}
