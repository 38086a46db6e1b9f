//! One PM2 app to one unitgen app: every PM2 option either becomes a key, or a comment that
//! says what it was and what to do instead. Nothing is dropped without a word.
//!
//! Each mapping follows what PM2's own code does with the option; the comments name the file
//! and function of PM2 (github.com/Unitech/pm2, lib/) that decides it. `convert` takes the
//! app section by section, one method of `Conv` each.

use std::path::{Path, PathBuf};

use crate::core::config::{normalize, Cron, Duration, Signal, Size};
use crate::core::names;

use super::opts::{truthy, Opts};
use super::server::{self, Addr, Host, Runtime};
use super::value::Js;
use super::Error;

/// What an app's conversion needs to know about the run.
pub struct Ctx<'a> {
    /// `--env NAME`: which `env_NAME` block to merge.
    pub env: Option<&'a str>,
    /// `deploy.NAME.env` of the file, merged under everything (as PM2 does).
    pub deploy_env: Option<&'a Js>,
    /// The PM2 file's directory, absolute.
    pub pm2_dir: &'a Path,
    /// The TOML goes beside the PM2 file, so relative paths keep their meaning.
    pub same_dir: bool,
    /// Where is this program in `PATH`? (the real machine, or a fixed one in tests)
    pub which: &'a dyn Fn(&str) -> Option<PathBuf>,
}

/// One `key = value` line of an app table, with a comment above it.
#[derive(Debug, Clone)]
pub struct Line {
    /// The unitgen key.
    pub key: &'static str,
    /// Its value.
    pub value: toml::Value,
    /// Why it is what it is, when that is not obvious.
    pub comment: Option<String>,
}

/// One app, converted.
#[derive(Debug, Clone)]
pub struct AppOut {
    /// The name PM2 knew it by.
    pub pm2_name: String,
    /// The unitgen name (set by the caller, which sees all the apps of a namespace).
    pub name: String,
    /// The PM2 namespace the app named itself, if it did.
    pub namespace: Option<String>,
    /// The keys, in the order they are written.
    pub lines: Vec<Line>,
    /// The environment, in PM2's merge order.
    pub env: Vec<(String, String)>,
    /// Comments above the environment.
    pub env_notes: Vec<String>,
    /// Comments at the end of the app: what had no equivalent, and what to do instead.
    pub notes: Vec<String>,
    /// One line per thing the user should know, for the summary on stderr.
    pub summary: Vec<String>,
    /// What will keep the app from running on this machine that validation cannot see
    /// (the script an interpreter runs is not here).
    pub problems: Vec<String>,
}

/// The order of keys in an app table: that of the file format's key list.
const ORDER: &[&str] = crate::core::config::APP_KEYS;

/// PM2's defaults that need nothing here, or that are the same here.
fn trivial(key: &str, v: &Js) -> bool {
    matches!(
        (key, v),
        ("autorestart", Js::Bool(true))
            | ("autostart", Js::Bool(true))
            | ("watch", Js::Bool(false))
            | ("wait_ready", Js::Bool(false))
            | ("shutdown_with_message", Js::Bool(false))
            | ("merge_logs", _)
            | ("vizion", _)
            | ("pmx", _)
            | ("automation", _)
            | ("treekill", Js::Bool(true))
            | ("windowsHide", _)
            | ("force", _)
            | ("write", _)
            | ("username", _)
            | ("execute_command", _)
            | ("append_env_to_name", Js::Bool(false))
            | ("source_map_support", Js::Bool(false))
            | ("disable_source_map_support", Js::Bool(true))
            | ("trace", Js::Bool(false))
            | ("disable_trace", Js::Bool(true))
            | ("v8", Js::Bool(false))
            | ("event_loop_inspector", Js::Bool(false))
            | ("deep_monitoring", Js::Bool(false))
            | ("disable_logs", Js::Bool(false))
            | ("time", Js::Bool(false))
            | ("filter_env", Js::Bool(false))
    )
}

fn show(key: &str, v: &Js) -> String {
    format!("{key} = {}", v.brief(60))
}

/// A number of milliseconds, as PM2 reads time options: a number, a string of digits, or
/// PM2's `"10s"`, `"5m"`, `"1h"`.
fn millis(v: &Js) -> Option<u64> {
    match v {
        Js::Num(n) => {
            let f = n.as_f64();
            (f >= 0.0 && f.is_finite()).then_some(f.round() as u64)
        }
        Js::Str(s) => {
            let s = s.trim();
            let (digits, mult) = match s.chars().last()? {
                'h' => (&s[..s.len() - 1], 3_600_000),
                'm' => (&s[..s.len() - 1], 60_000),
                's' if s.ends_with("ms") => (&s[..s.len() - 2], 1),
                's' => (&s[..s.len() - 1], 1_000),
                _ => (s, 1),
            };
            let n: f64 = digits.trim().parse().ok()?;
            (n >= 0.0 && n.is_finite()).then_some((n * mult as f64).round() as u64)
        }
        _ => None,
    }
}

/// A duration as unitgen writes it (`"4s"`, `"1500ms"`).
fn dur(ms: u64) -> String {
    if ms == 0 {
        "0ms".into()
    } else {
        Duration(ms).to_string()
    }
}

/// Split an argument string as PM2 does (its `Config._valid`): words, `"quoted"` or
/// `'quoted'` words without their quotes, and `key="a b"` kept whole, quotes included.
pub fn split_args(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ws = |c: u8| c.is_ascii_whitespace();
    while i < b.len() {
        if ws(b[i]) {
            i += 1;
            continue;
        }
        // key="..." or key='...': a run of [^\s"'=]+ then = then a closed quote.
        let mut j = i;
        while j < b.len() && !ws(b[j]) && !b"\"'=".contains(&b[j]) {
            j += 1;
        }
        if j > i && j + 1 < b.len() && b[j] == b'=' && (b[j + 1] == b'"' || b[j + 1] == b'\'') {
            let q = b[j + 1];
            if let Some(end) = b[j + 2..].iter().position(|&c| c == q) {
                let stop = j + 2 + end + 1;
                out.push(s[i..stop].to_string());
                i = stop;
                continue;
            }
        }
        if b[i] == b'"' || b[i] == b'\'' {
            let q = b[i];
            if let Some(end) = b[i + 1..].iter().position(|&c| c == q) {
                let word = &s[i + 1..i + 1 + end];
                if !word.trim().is_empty() {
                    out.push(word.to_string());
                }
                i = i + 1 + end + 1;
                continue;
            }
        }
        let mut j = i;
        while j < b.len() && !ws(b[j]) {
            j += 1;
        }
        out.push(s[i..j].to_string());
        i = j;
    }
    out
}

/// A list option (`args`, `node_args`): an array, or a string split as PM2 splits it.
fn words(v: &Js) -> Vec<String> {
    match v {
        Js::Arr(a) => a.iter().map(Js::to_env_text).collect(),
        Js::Str(s) => split_args(s),
        other => vec![other.to_env_text()],
    }
}

/// Characters that make a PM2 `script` with spaces need its shell (PM2 ran `bash -c script`).
fn needs_shell(s: &str) -> bool {
    s.contains(|c: char| "|&;<>()$`*?~#\n\\{}[]!".contains(c))
        || shlex::split(s).is_none()
        || shlex::split(s)
            .and_then(|w| w.first().cloned())
            .is_some_and(|w| w.contains('='))
}

/// The interpreter PM2 picks for a script file by its extension (`lib/API/interpreter.json`).
fn interpreter_for(script: &str, in_path: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    let ext = Path::new(script)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())?;
    Some(match ext.as_str() {
        "js" | "cjs" | "mjs" => "node",
        "sh" => "bash",
        "py" => {
            if in_path("python") {
                "python"
            } else {
                "python3"
            }
        }
        "rb" => "ruby",
        "php" => "php",
        "pl" => "perl",
        "coffee" => "coffee",
        "ls" => "lsc",
        "ts" | "tsx" => "bun",
        _ => return None,
    })
}

/// Is this file a compiled program (PM2 runs those without an interpreter)?
fn is_binary(p: &Path) -> bool {
    let mut buf = [0u8; 512];
    match std::fs::File::open(p) {
        Ok(mut f) => {
            use std::io::Read;
            let n = f.read(&mut buf).unwrap_or(0);
            buf[..n].contains(&0)
        }
        Err(_) => false,
    }
}

/// A word that `command = "..."` can carry without quotes (shlex splits it back the same).
fn plain_word(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
}

/// The `command` value: one string when every word is plain, else an array of words.
pub fn command_value(words: &[String]) -> toml::Value {
    if words.iter().all(|w| plain_word(w)) {
        toml::Value::String(words.join(" "))
    } else {
        toml::Value::Array(words.iter().cloned().map(toml::Value::String).collect())
    }
}

/// A string, or a list of strings (`None` if any item is not one).
fn string_list(v: &Js) -> Option<Vec<String>> {
    match v {
        Js::Arr(a) => a.iter().map(string).collect(),
        v => Some(vec![string(v)?]),
    }
}

/// A string value.
fn string(v: &Js) -> Option<String> {
    match v {
        Js::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// Whether an `ignore_watch` entry reads the same as a glob (a name, a path, `*.log`), not as a
/// regular expression (`^`, `$`, `|`, `(`, `+`, or `\` before anything but `.`).
fn glob_like(s: &str) -> bool {
    let escapes_ok = s
        .match_indices('\\')
        .all(|(i, _)| s[i + 1..].starts_with('.'));
    !s.contains(['^', '$', '|', '(', ')', '+'])
        && escapes_ok
        && crate::watch::check_pattern(s).is_ok()
}

/// Environment variable names that usually hold secrets.
fn looks_secret(name: &str, value: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let by_name = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|s| n.contains(s));
    // A URL with a password in it: scheme://user:password@host
    let in_url = value
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(cred, _)| cred.contains(':') && !cred.contains('/'));
    by_name || in_url
}

/// The command of an app, and what PM2 ran it with.
struct Cmd {
    /// The words of `command`.
    words: Vec<String>,
    /// The comment above `command`.
    note: Option<String>,
    /// PM2's interpreter after `Common.sink.resolveInterpreter` (lib/Common.js): `node`,
    /// `python3`, … or `none` when PM2 ran the program itself.
    pm2_interp: String,
    /// Run through `bash -c` (a PM2 script with spaces that needs a shell).
    shell: bool,
    /// What the command runs on.
    runtime: Runtime,
    /// The index of the word that is gunicorn or uvicorn.
    server_at: usize,
}

/// How many instances, and in which PM2 mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    /// One (PM2's default).
    One,
    /// A number, 2 or more.
    N(u32),
    /// One per CPU (`"max"`, `0`, or a negative number).
    Max,
}

struct Mode {
    count: Count,
    /// The `instances = …` line, if one is written, with its comment.
    line: Option<(toml::Value, Option<String>)>,
    /// PM2 ran the app in cluster mode.
    cluster: bool,
    /// … because `instances` is set for a Node app, without `exec_mode`.
    implicit: bool,
}

impl Mode {
    fn multi(&self) -> bool {
        matches!(self.count, Count::N(_) | Count::Max)
    }

    /// Why PM2 chose cluster mode, when the file did not say so: a sentence, or nothing.
    fn why_cluster(&self) -> &'static str {
        if self.implicit {
            " PM2 does so for every Node app with `instances` and no exec_mode (lib/Common.js, Common.sink.determineExecMode)."
        } else {
            ""
        }
    }

    /// "the 4 instances", "one instance per CPU", "it".
    fn them(&self) -> String {
        match self.count {
            Count::N(n) => format!("the {n} instances"),
            Count::Max => "one instance per CPU".into(),
            Count::One => "it".into(),
        }
    }
}

/// One app being converted: the options not yet taken, and what has been made of the others.
struct Conv<'a> {
    ctx: &'a Ctx<'a>,
    o: Opts,
    pm2_name: String,
    cwd_abs: PathBuf,
    lines: Vec<Line>,
    env: Vec<(String, String)>,
    env_notes: Vec<String>,
    notes: Vec<String>,
    summary: Vec<String>,
    problems: Vec<String>,
    trivial_seen: Vec<String>,
    /// `increment_var` names PORT: each instance binds a port of its own.
    port_counts: bool,
}

/// Convert one app. `index` counts from 0 in the file, for messages.
pub fn convert(app: &Js, index: usize, ctx: &Ctx<'_>) -> Result<AppOut, Error> {
    let Js::Obj(fields) = app else {
        return Err(Error::new(format!(
            "app #{} is {}, not an object with a `script`",
            index + 1,
            app.kind()
        )));
    };
    let mut c = Conv {
        ctx,
        o: Opts::new(fields.clone()),
        pm2_name: String::new(),
        cwd_abs: ctx.pm2_dir.to_path_buf(),
        lines: Vec::new(),
        env: Vec::new(),
        env_notes: Vec::new(),
        notes: Vec::new(),
        summary: Vec::new(),
        problems: Vec::new(),
        trivial_seen: Vec::new(),
        port_counts: false,
    };
    let script = c.name_and_script(index)?;
    let namespace = c.o.take("namespace").map(|(_, v)| v.to_env_text());
    c.cwd();
    let mut cmd = c.command(&script);
    c.environment(&cmd);
    let mode = c.mode(&cmd);
    let listen = c.sockets(&mut cmd, &mode);
    c.line("command", command_value(&cmd.words), cmd.note.clone());
    c.readiness(&cmd, listen);
    c.stopping();
    c.memory();
    c.restarting();
    c.schedule();
    c.identity();
    c.watching();
    c.without_equivalent();
    Ok(c.finish(namespace))
}

/// PM2 options with no equivalent here, in groups: the note for those of a group that an app
/// sets (`{keys}`: them; `{name}`: the app) and, for some, a line of the summary.
const WITHOUT_EQUIVALENT: &[(&[&str], &str, Option<&str>)] = &[
    (
        &[
            "out_file",
            "error_file",
            "log_file",
            "merge_logs",
            "log_date_format",
            "time",
            "log_type",
            "disable_logs",
        ],
        "PM2 {keys}: journald keeps the logs of every instance: `unitgen logs {name}` (--err, --lines N, --follow); retention is set in journald.conf (SystemMaxUse=), not per app.",
        Some("log options: journald keeps the logs (see the comment)"),
    ),
    (
        &["pid_file"],
        "PM2 {keys}: systemd tracks the main process itself: `systemctl show -p MainPID UNIT` or `unitgen status {name}`.",
        Some("pid_file: systemd tracks the PID (see the comment)"),
    ),
    (
        &[
            "pmx",
            "automation",
            "trace",
            "disable_trace",
            "deep_monitoring",
            "v8",
            "event_loop_inspector",
            "io",
            "vizion",
            "post_update",
            "install_url",
        ],
        "PM2 {keys}: PM2 Plus (keymetrics) features have no equivalent; `unitgen status` shows CPU, memory and restarts from systemd's accounting.",
        Some("PM2 Plus options: no equivalent (see the comment)"),
    ),
    (
        &["source_map_support", "disable_source_map_support"],
        "PM2 {keys}: PM2 loaded source-map-support into the app; with Node 12.12 or later put --enable-source-maps after node in command.",
        Some("source_map_support: add --enable-source-maps to the command"),
    ),
    (
        &["treekill", "kill_retry_time"],
        "PM2 {keys}: systemd signals every process of the app's cgroup, then sends SIGKILL once stop_timeout has passed.",
        None,
    ),
    (
        &["filter_env"],
        "PM2 {keys}: nothing to filter: systemd never passes its own environment to apps, only env and env_file.",
        None,
    ),
];

impl Conv<'_> {
    fn line(&mut self, key: &'static str, value: toml::Value, comment: Option<String>) {
        self.lines.push(Line {
            key,
            value,
            comment,
        });
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A PM2 time option in milliseconds, or a note that it is not one.
    fn millis_or_note(&mut self, k: &str, v: &Js) -> Option<u64> {
        let ms = millis(v);
        if ms.is_none() {
            self.notes.push(format!(
                "PM2 {}: not a time in milliseconds, not imported.",
                show(k, v)
            ));
        }
        ms
    }

    // --- name and script -----------------------------------------------------------------

    fn name_and_script(&mut self, index: usize) -> Result<String, Error> {
        let name = self.o.take("name");
        let script = self.o.take("script");
        let label = match &name {
            Some((_, v)) => format!("app #{} ({})", index + 1, v.to_env_text()),
            None => format!("app #{}", index + 1),
        };
        let script = match script {
            Some((_, Js::Str(s))) if !s.trim().is_empty() => s,
            Some((k, v)) => {
                return Err(Error::new(format!(
                    "{label}: `{k}` is {}, expected the path of the script to run",
                    v.kind()
                )))
            }
            None => return Err(Error::new(format!("{label} has no `script`")).help(
                "every PM2 app names what to run, like script: \"./server.js\" (PM2 refuses it too)",
            )),
        };
        self.pm2_name = match &name {
            Some((_, v)) => v.to_env_text(),
            None => {
                // PM2 (Common.renderApplicationName): the script's file name without its
                // extension.
                let base = Path::new(script.split_whitespace().next().unwrap_or(&script))
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| script.clone());
                match base.rfind('.') {
                    Some(i) if i > 0 => base[..i].to_string(),
                    _ => base,
                }
            }
        };
        if let Some((_, Js::Bool(true))) = self.o.take("append_env_to_name") {
            if let Some(env) = self.ctx.env {
                self.pm2_name = format!("{}-{env}", self.pm2_name);
                self.summary.push(format!(
                    "append_env_to_name: named {:?}, as PM2 did with --env {env}",
                    self.pm2_name
                ));
            }
        }
        Ok(script)
    }

    // --- cwd -----------------------------------------------------------------------------

    fn cwd(&mut self) {
        let cwd_text = match self.o.take("cwd") {
            Some((_, Js::Str(s))) => s,
            Some((k, v)) => {
                self.notes
                    .push(format!("PM2 {}: not a path, not imported.", show(&k, &v)));
                return;
            }
            // Without a cwd the app runs in the PM2 file's directory: the TOML file's own,
            // or the cwd of [defaults] when the TOML goes elsewhere.
            None => return,
        };
        self.cwd_abs = normalize(&self.ctx.pm2_dir.join(&cwd_text));
        if self.ctx.same_dir || Path::new(&cwd_text).is_absolute() {
            self.line("cwd", toml::Value::String(cwd_text), None);
        } else {
            let abs = self.cwd_abs.display().to_string();
            self.line(
                "cwd",
                toml::Value::String(abs),
                Some(format!(
                    "PM2 cwd = {cwd_text:?}, relative to the PM2 file's directory"
                )),
            );
        }
    }

    // --- command: script + interpreter + args --------------------------------------------

    fn command(&mut self, script: &str) -> Cmd {
        let interp = self.o.take("exec_interpreter");
        let node_args = self.o.take("node_args");
        let args = self.o.take("args");
        let mut cmd = if script.trim().contains(char::is_whitespace) {
            self.shell_command(script.trim(), [&interp, &node_args, &args])
        } else {
            self.script_command(script.trim(), interp, node_args, args)
        };
        if cmd.words.is_empty() {
            cmd.words.push(script.to_string());
        }
        if !cmd.shell {
            let cwd = self.cwd_abs.clone();
            let which = self.ctx.which;
            let file = move |prog: &str| -> Option<PathBuf> {
                if prog.contains('/') || cwd.join(prog).is_file() {
                    Some(cwd.join(prog))
                } else {
                    which(prog)
                }
            };
            (cmd.runtime, cmd.server_at) = server::runtime_of(&cmd.words, &file);
        }
        cmd
    }

    /// A script with spaces: PM2 (`Common.verifyConfs`) ran it with `bash -c`, ignoring
    /// interpreter and args.
    fn shell_command(&mut self, s: &str, ignored: [&Option<(String, Js)>; 3]) -> Cmd {
        let shell = needs_shell(s);
        let (words, note) = if shell {
            (
                vec!["bash".into(), "-c".into(), s.to_string()],
                format!("PM2 ran script = {s:?} with `bash -c`, and so does this command"),
            )
        } else {
            (
                shlex::split(s).unwrap_or_default(),
                format!("PM2 script = {s:?} (PM2 ran it with `bash -c`; it needs no shell)"),
            )
        };
        for (k, v) in ignored.into_iter().flatten() {
            self.notes.push(format!(
                "PM2 {}: PM2 ignores it when the script has spaces (it runs `bash -c SCRIPT`); put what it needs into command.",
                show(k, v)
            ));
        }
        Cmd {
            words,
            note: Some(note),
            pm2_interp: "none".into(),
            shell,
            runtime: Runtime::Other,
            server_at: 0,
        }
    }

    fn script_command(
        &mut self,
        script: &str,
        interp: Option<(String, Js)>,
        node_args: Option<(String, Js)>,
        args: Option<(String, Js)>,
    ) -> Cmd {
        let interp_name = match &interp {
            Some((_, Js::Str(s))) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some((k, v)) => {
                self.notes.push(format!(
                    "PM2 {}: not an interpreter name, ignored.",
                    show(k, v)
                ));
                None
            }
            None => None,
        };
        let script_path = self.cwd_abs.join(script);
        let which = self.ctx.which;
        let in_path = |p: &str| which(p).is_some();
        let by_ext = interpreter_for(script, &in_path);
        let args_words = args.as_ref().map(|(_, v)| words(v)).unwrap_or_default();
        let mut note = None;
        // PM2 (Common.prepareAppConf) runs a script it does not find in cwd from PATH.
        if !script.contains('/') && !script_path.exists() && by_ext.is_none() {
            return self.path_program(script, interp_name, node_args, args_words);
        }
        let interpreter: Option<String> = match interp_name.as_deref() {
            Some("none") => None,
            Some(i) if i.contains('@') && i.starts_with("node") => {
                note = Some(format!(
                    "PM2 interpreter = {i:?} picked a Node.js version through nvm; this runs the `node` in PATH (give its absolute path to pin a version)"
                ));
                self.summary.push(format!(
                    "interpreter {i:?}: runs the node in PATH (see the comment)"
                ));
                Some("node".into())
            }
            Some(i) => Some(i.to_string()),
            None => match by_ext {
                Some(i) => Some(i.to_string()),
                None if script_path.exists() && is_binary(&script_path) => None,
                None => Some("node".into()), // PM2's default interpreter for anything else
            },
        };
        let mut words_out: Vec<String> = Vec::new();
        if interpreter.is_some() && !script_path.exists() {
            // Validation checks the program (the interpreter), not the script it runs.
            self.problems.push(format!(
                "the script {script} is not in {} on this machine",
                self.cwd_abs.display()
            ));
        }
        if let Some(i) = &interpreter {
            words_out.push(i.clone());
            if let Some((_, v)) = &node_args {
                words_out.extend(words(v));
            }
        } else if let Some((k, v)) = &node_args {
            self.notes.push(format!(
                "PM2 {}: there is no interpreter to pass it to (the script runs directly).",
                show(k, v)
            ));
        }
        words_out.push(script.to_string());
        words_out.extend(args_words);
        Cmd {
            words: words_out,
            note,
            pm2_interp: interpreter.unwrap_or_else(|| "none".into()),
            shell: false,
            runtime: Runtime::Other,
            server_at: 0,
        }
    }

    /// A script that is a program from PATH (`npm`, `gunicorn`, `yarn`): PM2 ran the one
    /// `which` found, with the interpreter when one was named, else with node unless it is a
    /// compiled program (`Common.sink.resolveInterpreter`).
    fn path_program(
        &mut self,
        script: &str,
        interp: Option<String>,
        node_args: Option<(String, Js)>,
        args: Vec<String>,
    ) -> Cmd {
        let found = (self.ctx.which)(script);
        let pm2_interp = match (&interp, &found) {
            (Some(i), _) => i.clone(),
            (None, Some(p)) if is_binary(p) => "none".into(),
            (None, Some(_)) => "node".into(),
            (None, None) if server::is_node_launcher(script) => "node".into(),
            (None, None) => "none".into(),
        };
        let mut words_out = vec![script.to_string()];
        let mut note = None;
        let interp_args = node_args
            .as_ref()
            .map(|(_, v)| words(v))
            .unwrap_or_default();
        let identifier = script
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !script.starts_with(|c: char| c.is_ascii_digit());
        match interp.as_deref() {
            Some(i) if server::is_python(i) && identifier => {
                // `python -m gunicorn` runs the module with that very Python, as PM2's
                // `python $(which gunicorn)` did.
                words_out = vec![i.to_string()];
                words_out.extend(interp_args.iter().cloned());
                words_out.extend(["-m".to_string(), script.to_string()]);
                let shown = std::iter::once(i.to_string())
                    .chain(interp_args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                note = Some(format!(
                    "PM2 ran `{shown} $(which {script})`, the {script} in PATH with that Python; `-m {script}` runs the same module with it"
                ));
            }
            Some(i) if i != "none" => {
                note = Some(format!(
                    "PM2 interpreter = {i:?} ran the {script} in PATH (`{i} $(which {script})`); here it runs by itself, its #! line naming its interpreter"
                ));
                self.path_program_args(script, &pm2_interp, &node_args);
            }
            _ => self.path_program_args(script, &pm2_interp, &node_args),
        }
        words_out.extend(args);
        Cmd {
            words: words_out,
            note,
            pm2_interp,
            shell: false,
            runtime: Runtime::Other,
            server_at: 0,
        }
    }

    /// `node_args` of a program from PATH: PM2 gave them to the interpreter it ran the
    /// program with (node for npm), not to the app the program starts.
    fn path_program_args(
        &mut self,
        script: &str,
        pm2_interp: &str,
        node_args: &Option<(String, Js)>,
    ) {
        let Some((k, v)) = node_args else {
            return;
        };
        if pm2_interp == "none" {
            self.notes.push(format!(
                "PM2 {}: there is no interpreter to pass it to (the program runs directly).",
                show(k, v)
            ));
        } else {
            self.notes.push(format!(
                "PM2 {}: PM2 gave these to the {pm2_interp} that ran {script}, not to the app {script} starts. To give Node options to the app, set them in env NODE_OPTIONS.",
                show(k, v)
            ));
        }
    }

    // --- the environment, merged as PM2 merges it ----------------------------------------

    /// Set a variable, or say why it cannot be.
    fn set_env(&mut self, k: &str, v: &Js, from: &str, dropped: &mut Vec<String>) {
        if matches!(v, Js::Null) {
            dropped.push(format!("{from}.{k} is null"));
            return;
        }
        if !names::is_env_name(k) {
            dropped.push(format!(
                "{from}.{k}: not a name systemd accepts for a variable"
            ));
            return;
        }
        let text = v.to_env_text();
        if text.contains('\0') {
            dropped.push(format!("{from}.{k}: the value holds a NUL byte"));
            return;
        }
        match self.env.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = text,
            None => self.env.push((k.to_string(), text)),
        }
    }

    /// PM2's order (lib/API.js `_startJson`, lib/Common.js `prepareAppConf` and
    /// `mergeEnvironmentVariables`): `deploy.NAME.env`, then `env`, then `port` as PORT and
    /// PYTHONUNBUFFERED, then the `env_NAME` block of `--env NAME`.
    fn environment(&mut self, cmd: &Cmd) {
        let mut dropped: Vec<String> = Vec::new();
        if let (Some(Js::Obj(d)), Some(name)) = (self.ctx.deploy_env, self.ctx.env) {
            for (k, v) in d {
                self.set_env(k, v, &format!("deploy.{name}.env"), &mut dropped);
            }
        }
        self.env_file();
        match self.o.take("env") {
            Some((_, Js::Obj(e))) => {
                for (k, v) in &e {
                    self.set_env(k, v, "env", &mut dropped);
                }
            }
            Some((k, v)) => self.notes.push(format!(
                "PM2 {}: not an object of variables, not imported.",
                show(&k, &v)
            )),
            None => {}
        }
        if let Some((k, v)) = self.o.take("port") {
            self.set_env("PORT", &v, &k, &mut dropped);
            self.summary
                .push(format!("port = {} became env PORT", v.to_env_text()));
        }
        if cmd.pm2_interp.contains("python") && self.var("PYTHONUNBUFFERED") != Some("1") {
            self.set_env("PYTHONUNBUFFERED", &Js::Str("1".into()), "", &mut dropped);
            self.env_notes.push(
                "PYTHONUNBUFFERED = \"1\": PM2 set it for every app it ran with python (lib/Common.js, resolveInterpreter), so that Python writes each line at once instead of holding it in a buffer: lines reach the journal in time, and none are lost in a crash."
                    .into(),
            );
            self.summary
                .push("PYTHONUNBUFFERED = \"1\" kept in env, as PM2 set it for python".into());
        }
        self.env_blocks(&mut dropped);
        for d in &dropped {
            self.env_notes.push(format!("not imported: {d}."));
        }
        if !dropped.is_empty() {
            self.summary.push(format!(
                "{} environment value(s) not imported (see the comments)",
                dropped.len()
            ));
        }
        self.secrets();
    }

    /// `env_file` is no PM2 option: schema.json has none, and validateJSON takes the key for
    /// the environment block of `--env file`. PM2 never read the file.
    fn env_file(&mut self) {
        let Some((k, v)) = self.o.take_exact("env_file") else {
            return;
        };
        let example = match string_list(&v) {
            Some(list) if list.len() == 1 => format!("env_file = {:?}", list[0]),
            Some(list) => format!(
                "env_file = [{}]",
                list.iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "env_file = \".env\"".into(),
        };
        self.notes.push(format!(
            "PM2 {}: PM2 has no such option and never read the file (lib/API/schema.json; it took the key for the env block of `--env file`). If the app loads it itself (dotenv), nothing changes here. For systemd to load it (NAME=value lines), add {example}.",
            show(&k, &v)
        ));
        self.summary
            .push("env_file: PM2 never read it, not imported (see the comment)".into());
    }

    /// The `env_NAME` blocks: the selected one merged last, the others named in comments.
    fn env_blocks(&mut self, dropped: &mut Vec<String>) {
        let mut others: Vec<(String, Vec<String>)> = Vec::new();
        let mut selected_found = false;
        let keys: Vec<String> = self
            .o
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("env_"))
            .collect();
        for key in keys {
            let Some((_, v)) = self.o.take_exact(&key) else {
                continue;
            };
            let block = &key["env_".len()..];
            if Some(block) == self.ctx.env {
                selected_found = true;
                match &v {
                    Js::Obj(e) => {
                        for (k, val) in e {
                            self.set_env(k, val, &key, dropped);
                        }
                    }
                    other => self.notes.push(format!(
                        "PM2 {}: not an object of variables, not imported.",
                        show(&key, other)
                    )),
                }
            } else {
                let names: Vec<String> = match &v {
                    Js::Obj(e) => e.iter().map(|(k, _)| k.clone()).collect(),
                    other => vec![other.brief(40)],
                };
                others.push((block.to_string(), names));
            }
        }
        if let (Some(name), false) = (self.ctx.env, selected_found) {
            self.env_notes.push(format!(
                "PM2 --env {name}: this app has no env_{name} block, so only its env applies (PM2 warned the same)."
            ));
            self.summary.push(format!("has no env_{name} block"));
        }
        let what = if self.ctx.env.is_some() {
            "not selected"
        } else {
            "not merged (no --env)"
        };
        for (block, vars) in &others {
            self.env_notes.push(format!(
                "PM2 env_{block} ({what}): {}. For that environment, import again with --env {block} into a file of its own.",
                if vars.is_empty() { "empty".to_string() } else { vars.join(", ") }
            ));
        }
        if !others.is_empty() && self.ctx.env.is_none() {
            self.summary.push(format!(
                "env_{} not merged: choose one with --env",
                others
                    .iter()
                    .map(|(b, _)| b.as_str())
                    .collect::<Vec<_>>()
                    .join(", env_")
            ));
        }
    }

    fn secrets(&mut self) {
        let secrets: Vec<String> = self
            .env
            .iter()
            .filter(|(k, v)| looks_secret(k, v))
            .map(|(k, _)| k.clone())
            .collect();
        if secrets.is_empty() {
            return;
        }
        let one = secrets.len() == 1;
        self.env_notes.push(format!(
            "{} {}: this file holds {} as written, and such files end up in git and in reviews; move {} to a file only the app's user can read, and list it in env_file.",
            secrets.join(", "),
            if one { "looks like a secret" } else { "look like secrets" },
            if one { "its value" } else { "their values" },
            if one { "it" } else { "them" },
        ));
        self.summary.push(format!(
            "secrets in env ({}): move them to an env_file",
            secrets.join(", ")
        ));
    }

    // --- instances and PM2's mode --------------------------------------------------------

    /// `instances` as `Common.verifyConfs` reads it ("max" is 0, a string is parsed), and the
    /// mode as `Common.sink.determineExecMode` decides it: cluster when exec_mode says so, or
    /// when `instances` is set (1 or more, 0 or -1) for an app PM2 runs with node or bun.
    fn mode(&mut self, cmd: &Cmd) -> Mode {
        let exec_mode = self.o.take("exec_mode");
        let instances = self.o.take("instances");
        let mut mode = Mode {
            count: Count::One,
            line: None,
            cluster: false,
            implicit: false,
        };
        let mut given: Option<i64> = None;
        if let Some((k, v)) = &instances {
            let n: Option<i64> = match v {
                Js::Num(n) => n.as_i64(),
                Js::Str(s) if s.trim() == "max" => Some(0),
                // PM2: parseInt(s) || 0, so text that is no number means one per CPU.
                Js::Str(s) => Some(
                    s.trim()
                        .chars()
                        .enumerate()
                        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
                        .map(|(_, c)| c)
                        .collect::<String>()
                        .parse()
                        .unwrap_or(0),
                ),
                _ => None,
            };
            given = n;
            match n {
                Some(0) => {
                    mode.count = Count::Max;
                    mode.line = Some((toml::Value::String("max".into()), None));
                }
                Some(n) if n < 0 => {
                    mode.count = Count::Max;
                    mode.line = Some((
                        toml::Value::String("max".into()),
                        Some(format!(
                            "PM2 instances = {n} meant {} fewer than the CPUs; unitgen has \"max\" or a number: write a number to leave CPUs free",
                            -n
                        )),
                    ));
                    self.summary.push(format!(
                        "instances = {n} became \"max\": set a number to leave CPUs free"
                    ));
                }
                Some(1) => self.trivial_seen.push(show(k, v)),
                Some(n) => {
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    mode.count = Count::N(n);
                    mode.line = Some((toml::Value::Integer(i64::from(n)), None));
                }
                None => self.notes.push(format!(
                    "PM2 {}: not a number of instances, not imported.",
                    show(k, v)
                )),
            }
        }
        let interp = server_base(&cmd.pm2_interp);
        let node_like = interp == "node" || interp.ends_with("node") || interp.ends_with("bun");
        match &exec_mode {
            Some((_, Js::Str(s))) if s.starts_with("cluster") => mode.cluster = true,
            Some((k, v @ Js::Str(s))) if s.starts_with("fork") => {
                self.trivial_seen.push(show(k, v));
            }
            Some((k, v)) => self.notes.push(format!(
                "PM2 {}: not fork or cluster (PM2 refuses the file), ignored.",
                show(k, v)
            )),
            None => {
                if node_like && given.is_some_and(|n| n >= 1 || n == 0 || n == -1) {
                    mode.cluster = true;
                    mode.implicit = true;
                }
            }
        }
        mode
    }

    fn write_instances(&mut self, mode: &Mode) {
        if let Some((v, c)) = &mode.line {
            self.line("instances", v.clone(), c.clone());
        }
    }

    // --- ports, sockets and the instance variables ---------------------------------------

    /// Decide whether systemd holds the app's socket (`listen`), from where the app listens
    /// and what it runs on; write `instances`, `increment_var` and `instance_var`.
    fn sockets(&mut self, cmd: &mut Cmd, mode: &Mode) -> Listening {
        self.instance_var();
        let inc_port = self.increment_var(mode);
        let env_port = self.var("PORT").and_then(server::port);
        let listening = match cmd.runtime {
            Runtime::Node if inc_port.is_none() => self.node_listen(cmd, mode, env_port),
            Runtime::Gunicorn if !cmd.shell => self.gunicorn_listen(cmd, mode),
            Runtime::Uvicorn if !cmd.shell => self.uvicorn_listen(cmd, mode),
            _ => Listening::No,
        };
        if listening == Listening::No {
            self.own_port(cmd, mode, inc_port, env_port);
        } else {
            self.write_instances(mode);
        }
        listening
    }

    /// PM2's `instance_var` (God.injectVariables): renames NODE_APP_INSTANCE, which unitgen
    /// sets too, 0-based.
    fn instance_var(&mut self) {
        let Some((k, v)) = self.o.take("instance_var") else {
            return;
        };
        match &v {
            Js::Str(s) if s == "NODE_APP_INSTANCE" => self.trivial_seen.push(show(&k, &v)),
            Js::Str(s) if names::is_env_name(s) => self.line(
                "instance_var",
                toml::Value::String(s.clone()),
                Some(format!(
                    "PM2 {}: each instance gets {s} = 0, 1, … in place of NODE_APP_INSTANCE, as under PM2",
                    show(&k, &v)
                )),
            ),
            _ => self.notes.push(format!(
                "PM2 {}: not a variable name systemd accepts, not imported.",
                show(&k, &v)
            )),
        }
    }

    /// PM2's `increment_var` (God.injectVariables): instance 1 gets the value of `env`, each
    /// further instance one more. Returns the first port when the variable is PORT.
    fn increment_var(&mut self, mode: &Mode) -> Option<u16> {
        let (k, v) = self.o.take("increment_var")?;
        let said = show(&k, &v);
        let var = match &v {
            Js::Str(s) if names::is_env_name(s) => s.clone(),
            _ => {
                self.notes.push(format!(
                    "PM2 {said}: not a variable name systemd accepts, not imported."
                ));
                return None;
            }
        };
        self.port_counts = var == "PORT";
        let value = self.var(&var).map(str::to_string);
        let Some(value) = value else {
            self.notes.push(format!(
                "PM2 {said}: env has no {var}, so PM2 counted up from its value in the environment of the shell that ran `pm2 start`, or from 0 (lib/God.js, injectVariables). To do the same here, set env.{var} to the first value and add increment_var = {var:?}."
            ));
            self.summary
                .push(format!("{said}: env has no {var} (see the comment)"));
            return None;
        };
        let Ok(base) = value.trim().parse::<u64>() else {
            self.notes.push(format!(
                "PM2 {said}: {var} = {value:?} is not a whole number, so PM2 counted up from 0. Set env.{var} to the first value and add increment_var = {var:?}."
            ));
            return None;
        };
        let counting = match mode.count {
            Count::One => format!("its one instance gets {var} = {base}"),
            Count::N(2) => format!("instance @1 gets {var} = {base}, @2 {}", base + 1),
            Count::N(n) => format!(
                "instance @1 gets {var} = {base}, @2 {}, … @{n} {}",
                base + 1,
                base + u64::from(n) - 1
            ),
            Count::Max => format!(
                "instance @1 gets {var} = {base}, @2 {}, and so on",
                base + 1
            ),
        };
        let mut comment = format!(
            "PM2 {said}: PM2 gave each instance its own {var}, counting up from env (lib/God.js, injectVariables); here {counting}."
        );
        if var == "PORT" && mode.multi() {
            comment.push_str(" Each instance binds a port of its own, as under PM2. To share one port instead (reloads that refuse no connection), drop increment_var and write listen.");
        }
        self.line(
            "increment_var",
            toml::Value::String(var.clone()),
            Some(comment),
        );
        self.summary.push(format!(
            "increment_var = {var:?}: each instance its own {var}"
        ));
        (var == "PORT").then(|| u16::try_from(base).ok()).flatten()
    }

    /// A Node app with a port: systemd holds the socket, unitgen's Node preload hands it to
    /// the app's own `listen()`.
    fn node_listen(&mut self, cmd: &Cmd, mode: &Mode, env_port: Option<u16>) -> Listening {
        let (arg_port, arg_host) = server::node_args_bind(&cmd.words[1..]);
        let Some(p) = env_port.or(arg_port) else {
            return Listening::No;
        };
        let (host, from) = match (self.var("HOST"), arg_host) {
            (Some(h), _) => (Host::parse(h), format!("HOST = {h:?}")),
            (None, Some(h)) => (Host::parse(&h), format!("its arguments say {h}")),
            (None, None) => (Host::Unknown, String::new()),
        };
        let why = mode.why_cluster();
        let launcher = server::is_node_launcher(&cmd.words[0]);
        let them = mode.them();
        let before = if mode.cluster && launcher {
            let n = match mode.count {
                Count::N(n) => format!(", {n} instances"),
                Count::Max => ", one instance per CPU".into(),
                Count::One => String::new(),
            };
            format!("PM2 ran {} in cluster mode{n}.{why}", cmd.words[0])
        } else if mode.cluster && mode.multi() {
            format!("PM2 ran {them} in cluster mode, its Node cluster master sharing port {p} between them.{why}")
        } else if mode.cluster {
            format!("PM2 ran it in cluster mode: its Node cluster master held port {p}, and `pm2 reload` started a new worker before stopping the old one.{why}")
        } else if mode.multi() {
            format!("PM2 started {them} in fork mode, and each bound port {p} itself: all but one failed with EADDRINUSE.")
        } else {
            format!("PM2 fork mode: the app bound port {p} itself, and refused connections while it restarted.")
        };
        let mut comment = format!(
            "{before} Here systemd holds the socket and unitgen's Node preload hands it to the app's listen({p}), unchanged: connections wait while an instance restarts, and `unitgen reload` refuses none"
        );
        comment.push_str(if !mode.cluster && !mode.multi() {
            " (remove listen to let the app bind the port itself, as before)."
        } else {
            "."
        });
        let addr = Addr::Tcp(host, p);
        comment.push(' ');
        comment.push_str(&host_sentence(&addr, &from));
        self.listen_line(
            &[addr],
            comment,
            "systemd holds the socket; the app runs unchanged (unitgen's Node preload hands it to its listen())",
        );
        Listening::Node
    }

    /// gunicorn takes systemd's sockets itself: with LISTEN_FDS and LISTEN_PID its own
    /// (gunicorn/systemd.py, listen_fds), it uses them and binds nothing (arbiter.py).
    fn gunicorn_listen(&mut self, cmd: &Cmd, mode: &Mode) -> Listening {
        let args = &cmd.words[cmd.server_at + 1..];
        let cwd = self.cwd_abs.clone();
        let read = move |f: &str| std::fs::read_to_string(cwd.join(f)).ok();
        let (addrs, from) = match server::gunicorn_binds(args, &self.env, &read) {
            Ok(a) => a,
            Err(why) => {
                self.notes.push(format!(
                    "gunicorn: {why}. If it binds a port or a socket path, add listen = [PORT] (or the path): gunicorn takes the sockets systemd passes (LISTEN_FDS) itself, binds nothing, and a restart then refuses no connection."
                ));
                return Listening::No;
            }
        };
        let shown: Vec<String> = addrs.iter().map(Addr::to_string).collect();
        let before = if mode.multi() {
            format!(
                "Under PM2, each of {} ran a gunicorn that bound {} itself: all but one failed.",
                mode.them(),
                shown.join(", ")
            )
        } else {
            format!(
                "Under PM2, gunicorn bound {} itself, and refused connections while it restarted.",
                shown.join(", ")
            )
        };
        let mut comment = format!(
            "{before} Here systemd holds the socket: gunicorn takes the sockets systemd passes (LISTEN_FDS) when it is the process systemd starts, as here, and binds nothing itself. It runs unchanged, and a restart refuses no connection."
        );
        if let Some(a) = addrs.iter().find(|a| a.port().is_some()) {
            comment.push(' ');
            comment.push_str(&host_sentence(a, &from));
        }
        self.listen_line(&addrs, comment, "gunicorn takes systemd's socket itself");
        Listening::Other
    }

    /// uvicorn takes a socket with `--fd` (uvicorn/config.py, bind_socket): `--host` and
    /// `--port` become `--fd 3`, the first socket systemd passes.
    fn uvicorn_listen(&mut self, cmd: &mut Cmd, mode: &Mode) -> Listening {
        let args = cmd.words[cmd.server_at + 1..].to_vec();
        let Some((addr, new_args, from)) = server::uvicorn_fd(&args, &self.env) else {
            return Listening::No;
        };
        cmd.words.truncate(cmd.server_at + 1);
        cmd.words.extend(new_args);
        let said = "--fd 3 in place of --host and --port: uvicorn takes the socket systemd holds (listen) as file descriptor 3 instead of binding one";
        cmd.note = Some(match cmd.note.take() {
            Some(n) => format!("{n}; {said}"),
            None => said.to_string(),
        });
        let before = if mode.multi() {
            format!(
                "Under PM2, each of {} ran a uvicorn that bound port {} itself: all but one failed.",
                mode.them(),
                addr.port().unwrap_or_default()
            )
        } else {
            format!(
                "Under PM2, uvicorn bound port {} itself, and refused connections while it restarted.",
                addr.port().unwrap_or_default()
            )
        };
        let comment = format!(
            "{before} Here systemd holds the socket and uvicorn takes it with --fd 3 (see command): the app runs unchanged, and a restart refuses no connection. {}",
                        host_sentence(&addr, from)
        );
        self.listen_line(
            &[addr],
            comment,
            "uvicorn takes systemd's socket with --fd 3 (command rewritten)",
        );
        Listening::Other
    }

    /// The `listen` line, with its comment, and its summary line: `listen = [...]: {how}`.
    fn listen_line(&mut self, addrs: &[Addr], comment: String, how: &str) {
        let values: Vec<toml::Value> = addrs.iter().map(Addr::listen_value).collect();
        let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
        self.line("listen", toml::Value::Array(values), Some(comment));
        self.summary
            .push(format!("listen = [{}]: {how}", shown.join(", ")));
    }

    /// No `listen`: the app binds its port itself, as under PM2. Say what that means.
    fn own_port(&mut self, cmd: &Cmd, mode: &Mode, inc_port: Option<u16>, port: Option<u16>) {
        if let Some(base) = inc_port {
            self.write_instances(mode);
            if base < 1024 {
                self.privileged(base, true);
            }
            return;
        }
        match port {
            Some(p) if mode.multi() => {
                // Validation refuses several instances that bind one port: what served under
                // PM2 was one of them.
                self.notes.push(format!(
                    "PM2 started {} in fork mode, and each bound port {p} itself: all but one failed with EADDRINUSE, so one served. This file runs one. To run several, they must share one socket: listen = [{p}] with instances, for a program that takes the socket systemd passes (file descriptor 3, LISTEN_FDS).",
                    mode.them()
                ));
                self.summary.push(format!(
                    "several instances binding port {p}: runs one, as one served under PM2 (see the comment)"
                ));
            }
            _ => self.write_instances(mode),
        }
        if let Some(p) = port.filter(|p| *p < 1024) {
            self.privileged(p, false);
        }
        if cmd.runtime == Runtime::Node && mode.cluster && port.is_none() && !self.port_counts {
            self.cluster_without_port(mode);
        }
    }

    /// A port below 1024 that the app binds itself.
    fn privileged(&mut self, p: u16, counting: bool) {
        let cap = "the app that one capability in a drop-in (`systemctl edit` on its service): AmbientCapabilities=CAP_NET_BIND_SERVICE and CapabilityBoundingSet=CAP_NET_BIND_SERVICE.";
        let (who, fix) = if counting {
            ("each instance binds its own", format!("Give {cap}"))
        } else {
            (
                "the app binds it itself",
                format!("Let systemd bind it, with listen = [{p}], if the program takes the socket systemd passes (file descriptor 3, LISTEN_FDS); or give {cap}"),
            )
        };
        self.notes.push(format!(
            "Port {p} is below 1024 and {who}: that needs the capability CAP_NET_BIND_SERVICE, which the default hardening removes, so the bind fails (EACCES). {fix}"
        ));
        self.summary.push(format!(
            "port {p} below 1024 bound by the app: fails under the default hardening (see the comment)"
        ));
    }

    /// Cluster mode with no port in sight: say how to share it.
    fn cluster_without_port(&mut self, mode: &Mode) {
        let why = mode.why_cluster();
        let candidates: Vec<String> = self
            .env
            .iter()
            .filter(|(k, v)| PORT_VARS.contains(&k.as_str()) && server::port(v).is_some())
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        let hint = if candidates.is_empty() {
            String::new()
        } else {
            format!(" (env has {}: is that it?)", candidates.join(", "))
        };
        let without = if mode.multi() {
            "instances that bind the same port fail with EADDRINUSE"
        } else {
            "the app binds its port itself, and connections are refused while it restarts"
        };
        self.notes.push(format!(
            "PM2 ran {} in cluster mode, its Node cluster master holding whatever port the app listens on.{why} The file does not say which port{hint}: add listen = [PORT] with the port the app binds, and unitgen's Node preload hands systemd's socket to the app's listen(PORT), unchanged. Without listen, {without}.",
            mode.them()
        ));
        self.summary.push(
            "cluster mode without a PORT in env: add listen = [PORT] if it listens on one (see the comment)"
                .into(),
        );
    }

    // --- readiness -----------------------------------------------------------------------

    /// PM2's `wait_ready` and `listen_timeout` (lib/God.js, executeApp; lib/God/Reload.js):
    /// PM2 waited for process.send('ready') (or, in a cluster reload, for the new worker to
    /// listen) at most listen_timeout (3 s by default), then counted the app up anyway.
    fn readiness(&mut self, cmd: &Cmd, listening: Listening) {
        let node_listen = listening == Listening::Node;
        if let Some((k, v)) = self.o.take("wait_ready") {
            if truthy(&v) {
                self.wait_ready(&show(&k, &v), cmd, listening);
            } else {
                self.trivial_seen.push(show(&k, &v));
            }
        }
        let Some((k, v)) = self.o.take("listen_timeout") else {
            return;
        };
        let Some(ms) = self.millis_or_note(&k, &v) else {
            return;
        };
        let said = show(&k, &v);
        if node_listen && ms > 90_000 {
            self.line(
                "start_timeout",
                toml::Value::String(dur(ms)),
                Some(format!(
                    "PM2 {said}: PM2 waited that long for the app, then counted it up anyway; here an instance that is not listening within start_timeout fails (systemd's default is 90s)"
                )),
            );
        } else {
            let scope = if node_listen {
                ""
            } else {
                " (it matters only with ready = \"listen\" or \"notify\")"
            };
            self.notes.push(format!(
                "PM2 {said}: how long PM2 waited for the app to be ready before counting it up anyway; here an instance not ready within start_timeout fails instead, so that stays at systemd's 90s{scope}."
            ));
        }
    }

    fn wait_ready(&mut self, said: &str, cmd: &Cmd, listening: Listening) {
        let pm2 = format!(
            "PM2 {said}: PM2 counted an instance up at its process.send('ready'), or once listen_timeout had passed without it (3s by default; lib/God.js, executeApp), never restarting it for that."
        );
        let no_ipc = if cmd.runtime == Runtime::Node {
            " Under systemd process.send is undefined (no IPC channel): an unguarded process.send('ready') throws."
        } else {
            ""
        };
        if listening == Listening::Node {
            self.line(
                "ready",
                toml::Value::String("listen".into()),
                Some(format!(
                    "{pm2} Here an instance is up when the app listens on its port: unitgen's Node preload tells systemd, and process.send('ready') is not needed.{no_ipc}"
                )),
            );
            self.summary
                .push("wait_ready became ready = \"listen\": up when the app listens".into());
        } else {
            let queue = if listening == Listening::Other {
                " (connections wait in the socket's queue until it accepts them)"
            } else {
                ""
            };
            self.notes.push(format!(
                "{pm2} Here it counts as up once started{queue}: ready = \"started\", the default. For an app that tells systemd itself (READY=1, sd_notify), write ready = \"notify\".{no_ipc}"
            ));
            self.summary
                .push("wait_ready: up once started (see the comment)".into());
        }
    }

    // --- stopping ------------------------------------------------------------------------

    fn stopping(&mut self) {
        if let Some((k, v)) = self.o.take("kill_timeout") {
            if let Some(ms) = self.millis_or_note(&k, &v).filter(|ms| *ms > 0) {
                self.line(
                    "stop_timeout",
                    toml::Value::String(dur(ms)),
                    Some(format!("PM2 {}: then SIGKILL", show(&k, &v))),
                );
            }
        }
        // Not a PM2 option: PM2 sends every app SIGINT (its KILL_SIGNAL, lib/God/Methods.js
        // killProcess) and drops kill_signal in validateJSON. The file says what it meant.
        if let Some((k, v)) = self.o.take_exact("kill_signal") {
            match Signal::parse(&v.to_env_text()) {
                Ok(s) => self.line(
                    "stop_signal",
                    toml::Value::String(s.0.into()),
                    Some(format!(
                        "PM2 {}: PM2 itself has no such option and sent SIGINT (lib/God/Methods.js, killProcess); kept, as the file meant it",
                        show(&k, &v)
                    )),
                ),
                Err(_) => self.notes.push(format!(
                    "PM2 {}: not a signal name, not imported (PM2 ignored it and sent SIGINT).",
                    show(&k, &v)
                )),
            }
        }
        if let Some((k, v)) = self.o.take("shutdown_with_message") {
            if truthy(&v) {
                self.notes.push(format!(
                    "PM2 {}: PM2 sent process.send('shutdown') instead of a signal; under systemd there is no such channel, and the app gets SIGTERM (see [defaults]): what it did on the 'shutdown' message must happen on SIGTERM.",
                    show(&k, &v)
                ));
                self.summary.push(
                    "shutdown_with_message: the app gets SIGTERM instead of the 'shutdown' message"
                        .into(),
                );
            } else {
                self.trivial_seen.push(show(&k, &v));
            }
        }
    }

    // --- memory --------------------------------------------------------------------------

    fn memory(&mut self) {
        let Some((k, v)) = self.o.take("max_memory_restart") else {
            return;
        };
        let size = match &v {
            Js::Num(n) => n.as_i64().filter(|b| *b > 0).map(|b| Size::Bytes(b as u64)),
            Js::Str(s) => Size::parse(s.trim().trim_end_matches(['B', 'b']))
                .ok()
                .or_else(|| Size::parse(s.trim()).ok()),
            _ => None,
        };
        // PM2 (lib/API/schema.json) takes a number of bytes, or digits and K, M or G; it
        // refuses anything else, and with it the whole file.
        let pm2_reads = match &v {
            Js::Str(t) => {
                let digits = t.trim_end_matches(['K', 'M', 'G']);
                !digits.is_empty()
                    && digits.chars().all(|c| c.is_ascii_digit())
                    && t.len() - digits.len() <= 1
            }
            _ => true,
        };
        let Some(s) = size else {
            self.notes.push(format!(
                "PM2 {}: not a size PM2 reads (\"500M\", \"1G\"), not imported; set memory_max = \"500M\".",
                show(&k, &v)
            ));
            return;
        };
        {
            self.line(
                "memory_max",
                toml::Value::String(s.to_string()),
                                Some(if pm2_reads {
                    format!(
                        "PM2 {}: PM2 checked every 30s (lib/Worker.js) and, once the app was past it, restarted it as `pm2 reload` does. Here the kernel enforces it at once: an instance that reaches it is killed (SIGKILL, requests in flight fail) and systemd starts it again. memory_high below it would first slow the app down and reclaim memory, without a restart",
                        show(&k, &v)
                    )
                } else {
                    format!(
                        "PM2 {}: PM2 refuses that value (lib/API/schema.json: bytes, or a number with K, M or G) and started none of the file's apps; read here as {s}, which the kernel enforces: an instance that reaches it is killed (SIGKILL, requests in flight fail) and systemd starts it again",
                        show(&k, &v)
                    )
                }),
            );
        }
        self.summary
            .push("max_memory_restart became memory_max: a kernel OOM kill, not PM2's graceful restart (see the comment)".into());
    }

    // --- restarting ----------------------------------------------------------------------

    fn restarting(&mut self) {
        let autorestart = self.o.take("autorestart");
        let restart_never = matches!(&autorestart, Some((_, Js::Bool(false))))
            || matches!(&autorestart, Some((_, Js::Str(s))) if s == "false");
        let stop_exit_codes = self.o.take("stop_exit_codes");
        let max_restarts = self.o.take("max_restarts");
        // A string "0" reaches PM2 as 0 (a number 0 is read as not set, and defaults to 16):
        // then any exit makes the app errored (God.handleExit).
        let max_is_zero = matches!(&max_restarts, Some((_, v)) if millis(v) == Some(0));
        if let Some((k, v)) = autorestart.as_ref().filter(|_| restart_never) {
            self.line(
                "restart",
                toml::Value::String("never".into()),
                Some(format!("PM2 {}", show(k, v))),
            );
        } else {
            if let Some((k, v)) = &autorestart {
                self.trivial_seen.push(show(k, v));
            }
            if max_is_zero {
                self.line(
                    "restart",
                    toml::Value::String("never".into()),
                    Some(
                        "PM2 max_restarts = \"0\": PM2 marked the app errored at its first exit"
                            .into(),
                    ),
                );
            } else if let Some((k, v)) = &stop_exit_codes {
                self.stop_exit_codes(k, v);
            }
        }
        let delay_ms = self.restart_delay();
        let min_uptime = self.o.take("min_uptime");
        if !restart_never && !max_is_zero && (max_restarts.is_some() || min_uptime.is_some()) {
            self.restart_limits(&max_restarts, &min_uptime, delay_ms);
        } else {
            for (k, v) in [&max_restarts, &min_uptime].into_iter().flatten() {
                if !max_is_zero || k != "max_restarts" {
                    self.notes.push(format!(
                        "PM2 {}: no meaning when the app is never restarted.",
                        show(k, v)
                    ));
                }
            }
        }
        if let Some((k, v)) = self.o.take("autostart") {
            if matches!(v, Js::Bool(false)) {
                self.notes.push(format!(
                    "PM2 {}: PM2 registered the app without starting it; `unitgen apply` starts every app of the file: stop this one after apply with `unitgen stop {}`, or keep it in a file of its own.",
                    show(&k, &v),
                    self.pm2_name
                ));
                self.summary
                    .push("autostart = false: apply starts it (see the comment)".into());
            } else {
                self.trivial_seen.push(show(&k, &v));
            }
        }
    }

    fn stop_exit_codes(&mut self, k: &str, v: &Js) {
        let codes: Vec<i64> = match v {
            Js::Arr(a) => a
                .iter()
                .filter_map(|x| millis(x).map(|n| n as i64))
                .collect(),
            other => millis(other).map(|n| vec![n as i64]).unwrap_or_default(),
        };
        if codes.contains(&0) {
            self.line(
                "restart",
                toml::Value::String("on-failure".into()),
                Some(format!("PM2 {}: no restart after a clean exit", show(k, v))),
            );
        }
        let others: Vec<String> = codes
            .iter()
            .filter(|c| **c != 0)
            .map(|c| c.to_string())
            .collect();
        if !others.is_empty() {
            self.notes.push(format!(
                "PM2 {}: no restart after exit code {}; unitgen has no key for that yet (systemd's RestartPreventExitStatus=, in a drop-in made with `systemctl edit`).",
                show(k, v),
                others.join(", ")
            ));
            self.summary.push(format!(
                "stop_exit_codes {}: no equivalent (see the comment)",
                others.join(", ")
            ));
        }
    }

    /// `restart_delay`, or `exp_backoff_restart_delay` as a fixed delay. Returns the delay.
    fn restart_delay(&mut self) -> u64 {
        let restart_delay = self.o.take("restart_delay");
        let backoff = self.o.take("exp_backoff_restart_delay");
        let mut delay_ms: u64 = 0;
        match (&restart_delay, &backoff) {
            (Some((k, v)), _) => {
                if let Some(ms) = self.millis_or_note(k, v) {
                    if ms == 0 {
                        self.trivial_seen.push(show(k, v));
                    } else {
                        delay_ms = ms;
                        self.line(
                            "restart_delay",
                            toml::Value::String(dur(ms)),
                            Some(format!("PM2 {}", show(k, v))),
                        );
                    }
                }
            }
            (None, Some((k, v))) => {
                if let Some(ms) = self.millis_or_note(k, v).filter(|ms| *ms > 0) {
                    delay_ms = ms;
                    self.line(
                        "restart_delay",
                        toml::Value::String(dur(ms)),
                        Some(format!(
                            "PM2 {}: PM2 made the delay half as long again at each restart, up to 15s, and went back to the start once the app had been up 30s (lib/God.js handleExit, lib/Worker.js); here it stays fixed (systemd 254 and later can grow it: RestartSteps= and RestartMaxDelaySec= in a drop-in)",
                            show(k, v)
                        )),
                    );
                    self.summary
                        .push("exp_backoff_restart_delay became a fixed restart_delay".into());
                }
            }
            (None, None) => {}
        }
        if let (Some(_), Some((k, v))) = (&restart_delay, &backoff) {
            self.notes.push(format!(
                "PM2 {}: restart_delay is used instead; systemd's delay is fixed.",
                show(k, v)
            ));
        }
        delay_ms
    }

    /// PM2 (God.handleExit) counts a restart as unstable when the app lived less than
    /// min_uptime, and gives up after max_restarts of them.
    fn restart_limits(
        &mut self,
        max_restarts: &Option<(String, Js)>,
        min_uptime: &Option<(String, Js)>,
        delay_ms: u64,
    ) {
        let n = match max_restarts {
            Some((_, v)) => millis(v).map(|n| n.clamp(1, 100_000) as u32),
            None => Some(16),
        };
        let up = match min_uptime {
            Some((_, v)) => millis(v),
            None => Some(1000),
        };
        let (Some(n), Some(up)) = (n, up) else {
            for (k, v) in [max_restarts, min_uptime].into_iter().flatten() {
                self.notes.push(format!(
                    "PM2 {}: not a number PM2 reads, not imported.",
                    show(k, v)
                ));
            }
            return;
        };
        let cycle = up.max(100) + delay_ms.max(100);
        let window = u64::from(n).saturating_mul(cycle);
        // Round up to whole seconds: easier to read, and never shorter.
        let window = window.div_ceil(1000) * 1000;
        let said: Vec<String> = [max_restarts, min_uptime]
            .into_iter()
            .flatten()
            .map(|(k, v)| show(k, v))
            .collect();
        self.line(
            "max_restarts",
            toml::Value::Integer(i64::from(n)),
            Some(format!(
                "PM2 {}: PM2 gave up after {n} restarts that each came less than {} after a start. systemd gives up after more than {n} starts within restart_window = {n} × ({} + {})",
                said.join(", "),
                dur(up),
                dur(up.max(100)),
                if delay_ms == 0 {
                    "100ms, systemd's default restart delay".to_string()
                } else {
                    format!("{} restart_delay", dur(delay_ms.max(100)))
                },
            )),
        );
        self.line("restart_window", toml::Value::String(dur(window)), None);
    }

    // --- scheduled restart ---------------------------------------------------------------

    fn schedule(&mut self) {
        let Some((k, v)) = self.o.take("cron_restart") else {
            return;
        };
        let said = show(&k, &v);
        let text = v.to_env_text();
        let t = text.trim();
        let nick = match t {
            "@yearly" | "@annually" => Some("0 0 1 1 *"),
            "@monthly" => Some("0 0 1 * *"),
            "@weekly" => Some("0 0 * * 0"),
            "@daily" | "@midnight" => Some("0 0 * * *"),
            "@hourly" => Some("0 * * * *"),
            _ => None,
        };
        let fields: Vec<&str> = t.split_whitespace().collect();
        if t == "0" {
            self.notes.push(format!(
                "PM2 {said}: turned scheduled restarts off; nothing to import."
            ));
            return;
        }
        if let Some(n) = nick {
            self.line(
                "cron_restart",
                toml::Value::String(n.into()),
                Some(format!("PM2 {said}")),
            );
            return;
        }
        let (five, note) = if fields.len() == 6 && fields[0] == "0" {
            (
                fields[1..].join(" "),
                Some(format!("PM2 {said}: the seconds field (0) dropped")),
            )
        } else {
            (fields.join(" "), None)
        };
        match Cron::parse(&five) {
            Ok(_) => self.line("cron_restart", toml::Value::String(five), note),
            Err((msg, _)) => {
                self.notes.push(format!(
                    "PM2 {said}: not imported, expected {msg}. unitgen reads 5-field cron (minute hour day month weekday): write cron_restart = \"0 3 * * *\" for 03:00 every day."
                ));
                self.summary
                    .push(format!("{said}: not a 5-field cron, not imported"));
            }
        }
    }

    // --- who it runs as ------------------------------------------------------------------

    fn identity(&mut self) {
        for (pm2, key, what) in [("uid", "user", "a user"), ("gid", "group", "a group")] {
            let Some((k, v)) = self.o.take(pm2) else {
                continue;
            };
            let name = v.to_env_text();
            if names::is_user_name(&name) {
                self.line(key, toml::Value::String(name), None);
            } else {
                self.notes.push(format!(
                    "PM2 {}: not {what} name systemd accepts, not imported.",
                    show(&k, &v)
                ));
                self.summary
                    .push(format!("{}: not a valid {key} name", show(&k, &v)));
            }
        }
    }

    // --- watch mode ------------------------------------------------------------------------

    /// PM2's `watch`, `ignore_watch` and `watch_delay`. PM2 hands `ignore_watch` to chokidar,
    /// which reads each entry as a glob or a regular expression: names and globs are kept,
    /// regular expressions are left out with a note saying what to write.
    fn watching(&mut self) {
        if let Some((k, v)) = self.o.take("watch") {
            match &v {
                Js::Bool(false) => self.trivial_seen.push(show(&k, &v)),
                Js::Bool(true) => self.line("watch", toml::Value::Boolean(true), None),
                _ => match string_list(&v) {
                    Some(list) => self.line(
                        "watch",
                        toml::Value::Array(list.into_iter().map(toml::Value::String).collect()),
                        None,
                    ),
                    None => self.notes.push(format!(
                        "PM2 {}: not true, false or a list of paths, not imported.",
                        show(&k, &v)
                    )),
                },
            }
        }
        if let Some((k, v)) = self.o.take("ignore_watch") {
            let said = show(&k, &v);
            let items: Vec<Option<String>> = match &v {
                Js::Arr(a) => a.iter().map(string).collect(),
                v => vec![string(v)],
            };
            let (kept, left): (Vec<_>, Vec<_>) = items
                .into_iter()
                .partition(|i| i.as_deref().is_some_and(glob_like));
            let kept: Vec<toml::Value> = kept
                .into_iter()
                .flatten()
                .map(toml::Value::String)
                .collect();
            let note = (!left.is_empty()).then(|| {
                let shown: Vec<String> = left
                    .iter()
                    .map(|i| i.as_ref().map_or("(not a string)".into(), |s| format!("{s:?}")))
                    .collect();
                format!(
                    "PM2 {said}: {} left out: unitgen reads glob patterns, not regular expressions; write them as globs, like \"node_modules\", \"*.log\" or \"public/uploads\"",
                    shown.join(", ")
                )
            });
            if note.is_some() {
                self.summary
                    .push("ignore_watch: regular expressions left out (see the comment)".into());
            }
            self.line("ignore_watch", toml::Value::Array(kept), note);
        }
        if let Some((k, v)) = self.o.take("watch_delay") {
            if let Some(ms) = self.millis_or_note(&k, &v) {
                self.line("watch_delay", toml::Value::String(dur(ms)), None);
            }
        }
        if let Some((k, v)) = self.o.take("watch_options") {
            self.notes.push(format!(
                "PM2 {}: chokidar's options; unitgen watches with inotify, set by ignore_watch and watch_delay.",
                show(&k, &v)
            ));
        }
    }

    // --- what has no equivalent: say what it was and what to do instead ------------------

    /// Take these options; return those that are not PM2's defaults (the defaults are noted
    /// as needing nothing).
    fn group(&mut self, keys: &[&str]) -> Vec<String> {
        let mut said = Vec::new();
        for key in keys {
            if let Some((k, v)) = self.o.take(key) {
                if trivial(key, &v) {
                    self.trivial_seen.push(show(&k, &v));
                } else {
                    said.push(show(&k, &v));
                }
            }
        }
        said
    }

    fn without_equivalent(&mut self) {
        let name = self.pm2_name.clone();
        for (keys, note, summary) in WITHOUT_EQUIVALENT {
            let found = self.group(keys);
            if found.is_empty() {
                continue;
            }
            self.notes.push(
                note.replace("{keys}", &found.join(", "))
                    .replace("{name}", &name),
            );
            if let Some(line) = summary {
                self.summary.push(line.to_string());
            }
        }
        let misc = self.group(&[
            "windowsHide",
            "force",
            "write",
            "username",
            "execute_command",
            "name_prefix",
        ]);
        for m in misc {
            self.notes.push(format!("PM2 {m}: no meaning here."));
        }
    }

    // --- the end: what PM2 did not read, and the app ------------------------------------

    fn finish(mut self, namespace: Option<String>) -> AppOut {
        // Whatever is left is unknown to PM2 (validateJSON drops it too).
        for (k, v) in self.o.rest() {
            let block = k.len() > 3
                && k.starts_with("env")
                && k[3..].starts_with(|c: char| c.is_ascii_uppercase());
            self.notes.push(format!(
                "{}: not a PM2 option (PM2 ignores it too{}), not imported.",
                show(&k, &v),
                if block {
                    "; its environment blocks are env_NAME"
                } else {
                    ""
                }
            ));
            self.summary
                .push(format!("unknown option {k}: not imported"));
        }
        self.unread();
        if !self.trivial_seen.is_empty() {
            self.notes.push(format!(
                "PM2 options that need nothing here: {}.",
                self.trivial_seen.join(", ")
            ));
        }
        self.lines.sort_by_key(|l| {
            ORDER
                .iter()
                .position(|k| *k == l.key)
                .unwrap_or(ORDER.len())
        });
        AppOut {
            name: self.pm2_name.clone(),
            pm2_name: self.pm2_name,
            namespace,
            lines: self.lines,
            env: self.env,
            env_notes: self.env_notes,
            notes: self.notes,
            summary: self.summary,
            problems: self.problems,
        }
    }

    /// Options PM2 did not read: a false value of an option that has an alias (read as not
    /// set), or a spelling another one of the same option overrode.
    fn unread(&mut self) {
        let mut defaults: Vec<String> = Vec::new();
        for (k, v) in std::mem::take(&mut self.o.unread) {
            if truthy(&v) {
                self.notes.push(format!(
                    "PM2 {}: not used: another spelling of the same option came first.",
                    show(&k, &v)
                ));
                continue;
            }
            match UNSET_MEANS
                .iter()
                .find(|(key, _)| super::opts::names(key).contains(&k))
            {
                Some((_, means)) => defaults.push(format!("{} ({means})", show(&k, &v))),
                None => self.trivial_seen.push(show(&k, &v)),
            }
        }
        if !defaults.is_empty() {
            self.notes.push(format!(
                "PM2 read these as not set (lib/tools/Config.js, validateJSON: a false, 0 or \"\" value gives way to the option's other names, camelCase and aliases, which the file does not set) and used its defaults: {}.",
                defaults.join(", ")
            ));
        }
    }
}

/// What PM2 did when it read an option as not set, where that is worth saying.
const UNSET_MEANS: &[(&str, &str)] = &[
    (
        "max_restarts",
        "PM2 still restarted it, up to 16 unstable restarts",
    ),
    ("kill_timeout", "PM2 sent SIGKILL 1600ms after SIGINT"),
    ("min_uptime", "1s"),
    ("listen_timeout", "3s"),
    (
        "stop_exit_codes",
        "PM2 restarted the app after a clean exit too",
    ),
];

/// Variables that often hold the port an app listens on, besides PORT.
const PORT_VARS: &[&str] = &[
    "API_PORT",
    "APP_PORT",
    "SERVER_PORT",
    "HTTP_PORT",
    "NODE_PORT",
    "WEB_PORT",
];

/// Whether `listen` was written, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listening {
    /// No socket from systemd: the app binds its port itself.
    No,
    /// A Node app, through unitgen's preload: its readiness is its listen.
    Node,
    /// gunicorn or uvicorn, which take the socket themselves.
    Other,
}

/// The last part of a path.
fn server_base(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// What a `listen` address means, for its comment: where it accepts, and why there.
fn host_sentence(addr: &Addr, from: &str) -> String {
    let Addr::Tcp(host, p) = addr else {
        return String::new();
    };
    let mut s = match host {
        Host::Unknown => format!(
            "It accepts on every address (IPv4 and IPv6): if the app bound only 127.0.0.1 under PM2 (Fastify's default, or a host in its code), write listen = [\"127.0.0.1:{p}\"]."
        ),
        Host::Every => format!("It accepts on every address, as the app did ({from})."),
                Host::Ip(ip) => format!("It accepts on {ip} only, as the app did ({from})."),
        Host::Localhost => format!(
            "It accepts on 127.0.0.1 only, for localhost ({from}); if the app's clients reach it on ::1 (what localhost may resolve to first), add \"[::1]:{p}\"."
        ),
        Host::Name(n) => format!(
            "The app bound {n} ({from}), a host name; listen takes an IP address, so this accepts on every address: write listen = [\"IP:{p}\"] to bind one."
        ),
    };
    if *p < 1024 {
        s.push_str(&format!(
            " systemd binds port {p} for the app, which has no capability to bind it under the default hardening."
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_like_pm2() {
        assert_eq!(split_args("run dev"), ["run", "dev"]);
        assert_eq!(
            split_args(r#"-a "b c" 'd e'  f"#),
            ["-a", "b c", "d e", "f"]
        );
        assert_eq!(split_args(r#"--name="a b" x"#), [r#"--name="a b""#, "x"]);
        assert!(split_args("   ").is_empty());
    }

    #[test]
    fn pm2_times() {
        assert_eq!(millis(&Js::Str("10s".into())), Some(10_000));
        assert_eq!(millis(&Js::Str("2m".into())), Some(120_000));
        assert_eq!(millis(&Js::Str("1500".into())), Some(1500));
        assert_eq!(dur(1500), "1500ms");
        assert_eq!(dur(4000), "4s");
    }

    #[test]
    fn commands_stay_strings_when_plain() {
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_value(&w(&["npm", "run", "dev"])).to_string(),
            "\"npm run dev\""
        );
        assert!(matches!(
            command_value(&w(&["node", "a b.js"])),
            toml::Value::Array(_)
        ));
    }

    #[test]
    fn ignore_watch_globs_are_kept_and_regular_expressions_are_not() {
        for g in ["node_modules", "*.log", "\\.git", "public/uploads", ".*"] {
            assert!(glob_like(g), "{g}");
        }
        for r in ["^logs$", "a|b", "(tmp)", "[\\/\\\\]\\.", "\\d+"] {
            assert!(!glob_like(r), "{r}");
        }
    }

    #[test]
    fn secrets() {
        assert!(looks_secret("DB_PASSWORD", "x"));
        assert!(looks_secret("DATABASE_URL", "postgres://u:pw@host/db"));
        assert!(!looks_secret("DATABASE_URL", "postgres://host/db"));
        assert!(!looks_secret("PORT", "3000"));
    }
}
