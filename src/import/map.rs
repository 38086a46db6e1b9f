//! One PM2 app to one unitgen app: every PM2 option either becomes a key, or a comment that
//! says what it was and what to do instead. Nothing is dropped without a word.

use std::path::Path;

use crate::config::{Cron, Duration, Size};
use crate::names;

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
    /// Is this program in `PATH`? (the real machine, or a fixed one in tests)
    pub in_path: &'a dyn Fn(&str) -> bool,
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

/// The order of keys in an app table (that of CONFIG.md's example).
const ORDER: &[&str] = &[
    "command",
    "cwd",
    "instances",
    "listen",
    "ready",
    "start_timeout",
    "stop_timeout",
    "stop_signal",
    "memory_max",
    "restart",
    "restart_delay",
    "max_restarts",
    "restart_window",
    "cron_restart",
    "env_file",
    "user",
    "group",
];

/// The app's options, taken one by one; what is left at the end is unknown to PM2.
struct Opts(Vec<(String, Js)>);

impl Opts {
    /// Take an option by its name or one of PM2's aliases for it (the name wins, as in PM2).
    fn take(&mut self, key: &str, aliases: &[&str]) -> Option<(String, Js)> {
        let mut found: Option<(String, Js)> = None;
        for k in std::iter::once(&key).chain(aliases.iter()) {
            if let Some(i) = self.0.iter().position(|(n, _)| n == k) {
                let (n, v) = self.0.remove(i);
                let null = matches!(v, Js::Null);
                if found.is_none() && !null {
                    found = Some((n, v));
                }
            }
        }
        found
    }
}

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

use crate::config::normalize;

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

fn string_list(v: &Js) -> Option<Vec<String>> {
    match v {
        Js::Str(s) => Some(vec![s.clone()]),
        Js::Arr(a) => a
            .iter()
            .map(|x| match x {
                Js::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
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

/// Convert one app. `index` counts from 0 in the file, for messages.
pub fn convert(app: &Js, index: usize, ctx: &Ctx<'_>) -> Result<AppOut, Error> {
    let Js::Obj(fields) = app else {
        return Err(Error::new(format!(
            "app #{} is {}, not an object with a `script`",
            index + 1,
            app.kind()
        )));
    };
    let mut o = Opts(fields.clone());
    let mut lines: Vec<Line> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut summary: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut trivial_seen: Vec<String> = Vec::new();
    let line =
        |lines: &mut Vec<Line>, key: &'static str, value: toml::Value, comment: Option<String>| {
            lines.push(Line {
                key,
                value,
                comment,
            });
        };

    // --- name and script -------------------------------------------------------------
    let name = o.take("name", &[]);
    let script = o.take("script", &["exec", "cmd", "command"]);
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
    let mut pm2_name = match &name {
        Some((_, v)) => v.to_env_text(),
        None => {
            // PM2: the script's file name without its extension.
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
    if let Some((_, Js::Bool(true))) = o.take("append_env_to_name", &[]) {
        if let Some(env) = ctx.env {
            pm2_name = format!("{pm2_name}-{env}");
            summary.push(format!(
                "append_env_to_name: named {pm2_name:?}, as PM2 did with --env {env}"
            ));
        }
    }
    let namespace = o.take("namespace", &[]).map(|(_, v)| v.to_env_text());

    // --- cwd -------------------------------------------------------------------------
    let cwd = o.take("cwd", &[]);
    let cwd_text = match &cwd {
        Some((_, Js::Str(s))) => Some(s.clone()),
        Some((k, v)) => {
            notes.push(format!("PM2 {}: not a path, not imported.", show(k, v)));
            None
        }
        None => None,
    };
    let cwd_abs = match &cwd_text {
        Some(c) => normalize(&ctx.pm2_dir.join(c)),
        None => ctx.pm2_dir.to_path_buf(),
    };
    match (&cwd_text, ctx.same_dir) {
        (Some(c), true) => line(&mut lines, "cwd", toml::Value::String(c.clone()), None),
        (Some(c), false) if Path::new(c).is_absolute() => {
            line(&mut lines, "cwd", toml::Value::String(c.clone()), None)
        }
        (Some(c), false) => line(
            &mut lines,
            "cwd",
            toml::Value::String(cwd_abs.display().to_string()),
            Some(format!(
                "PM2 cwd = {c:?}, relative to the PM2 file's directory"
            )),
        ),
        // Without a cwd the app runs in the PM2 file's directory: the TOML file's own, or
        // the cwd of [defaults] when the TOML goes elsewhere.
        (None, _) => {}
    }

    // --- command: script + interpreter + args ----------------------------------------
    let interp = o.take("exec_interpreter", &["interpreter"]);
    let node_args = o.take("node_args", &["interpreterArgs", "interpreter_args"]);
    let args = o.take("args", &[]);
    let mut command: Vec<String>;
    let mut command_note: Option<String> = None;
    if script.trim().contains(char::is_whitespace) {
        // PM2 ran a script with spaces through `bash -c`, ignoring interpreter and args.
        let s = script.trim();
        if needs_shell(s) {
            command = vec!["bash".into(), "-c".into(), s.to_string()];
            command_note = Some(format!(
                "PM2 ran script = {s:?} with `bash -c`, and so does this command"
            ));
        } else {
            command = shlex::split(s).unwrap_or_default();
            command_note = Some(format!(
                "PM2 script = {s:?} (PM2 ran it with `bash -c`; it needs no shell)"
            ));
        }
        for (k, v) in [interp.as_ref(), node_args.as_ref(), args.as_ref()]
            .into_iter()
            .flatten()
        {
            notes.push(format!(
                "PM2 {}: PM2 ignores it when the script has spaces (it runs `bash -c SCRIPT`); put what it needs into command.",
                show(k, v)
            ));
        }
    } else {
        let script = script.trim().to_string();
        let interp_name = match &interp {
            Some((_, Js::Str(s))) => Some(s.trim().to_string()),
            Some((k, v)) => {
                notes.push(format!(
                    "PM2 {}: not an interpreter name, ignored.",
                    show(k, v)
                ));
                None
            }
            None => None,
        };
        let script_path = cwd_abs.join(&script);
        let is_file = script.contains('/') || script_path.exists();
        let interpreter: Option<String> = match interp_name.as_deref() {
            Some("none") => None,
            Some(i) if i.contains('@') && i.starts_with("node") => {
                command_note = Some(format!(
                    "PM2 interpreter = {i:?} picked a Node.js version through nvm; this runs the `node` in PATH (give its absolute path to pin a version)"
                ));
                summary.push(format!(
                    "interpreter {i:?}: runs the node in PATH (see the comment)"
                ));
                Some("node".into())
            }
            Some(i) => Some(i.to_string()),
            None => match interpreter_for(&script, ctx.in_path) {
                Some(i) => Some(i.to_string()),
                None if !is_file => None, // a program from PATH: npm, yarn, a binary
                None if script_path.exists() && is_binary(&script_path) => None,
                None => Some("node".into()), // PM2's default interpreter for anything else
            },
        };
        command = Vec::new();
        if interpreter.is_some() && !script_path.exists() {
            // Validation checks the program (the interpreter), not the script it runs.
            problems.push(format!(
                "the script {script} is not in {} on this machine",
                cwd_abs.display()
            ));
        }
        if let Some(i) = &interpreter {
            command.push(i.clone());
            if let Some((_, v)) = &node_args {
                command.extend(words(v));
            }
        } else if let Some((k, v)) = &node_args {
            notes.push(format!(
                "PM2 {}: there is no interpreter to pass it to (the script runs directly).",
                show(k, v)
            ));
        }
        command.push(script.clone());
        if let Some((_, v)) = &args {
            command.extend(words(v));
        }
    }
    if command.is_empty() {
        command.push(script.clone());
    }
    line(&mut lines, "command", command_value(&command), command_note);

    // --- the environment, merged as PM2 merges it --------------------------------------
    let mut env: Vec<(String, String)> = Vec::new();
    let mut env_notes: Vec<String> = Vec::new();
    let mut dropped_env: Vec<String> = Vec::new();
    let set = |env: &mut Vec<(String, String)>,
               k: &str,
               v: &Js,
               from: &str,
               dropped: &mut Vec<String>| {
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
        match env.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = text,
            None => env.push((k.to_string(), text)),
        }
    };
    if let (Some(Js::Obj(d)), Some(name)) = (ctx.deploy_env, ctx.env) {
        for (k, v) in d {
            set(
                &mut env,
                k,
                v,
                &format!("deploy.{name}.env"),
                &mut dropped_env,
            );
        }
    }
    let env_file = o.take("env_file", &[]);
    match o.take("env", &[]) {
        Some((_, Js::Obj(e))) => {
            for (k, v) in &e {
                set(&mut env, k, v, "env", &mut dropped_env);
            }
        }
        Some((k, v)) => notes.push(format!(
            "PM2 {}: not an object of variables, not imported.",
            show(&k, &v)
        )),
        None => {}
    }
    if let Some((k, v)) = o.take("port", &[]) {
        set(&mut env, "PORT", &v, &k, &mut dropped_env);
        summary.push(format!("port = {} became env PORT", v.to_env_text()));
    }
    // env_NAME blocks: the selected one is merged last; the others are named in a comment.
    let mut other_envs: Vec<(String, Vec<String>)> = Vec::new();
    let mut selected_found = false;
    let env_keys: Vec<String> =
        o.0.iter()
            .map(|(k, _)| k.clone())
            .filter(|k| k.starts_with("env_"))
            .collect();
    for key in env_keys {
        let Some((_, v)) = o.take(&key, &[]) else {
            continue;
        };
        let block = &key["env_".len()..];
        if Some(block) == ctx.env {
            selected_found = true;
            match &v {
                Js::Obj(e) => {
                    for (k, val) in e {
                        set(&mut env, k, val, &key, &mut dropped_env);
                    }
                }
                other => notes.push(format!(
                    "PM2 {}: not an object of variables, not imported.",
                    show(&key, other)
                )),
            }
        } else {
            let names: Vec<String> = match &v {
                Js::Obj(e) => e.iter().map(|(k, _)| k.clone()).collect(),
                other => vec![other.brief(40)],
            };
            other_envs.push((block.to_string(), names));
        }
    }
    if let (Some(name), false) = (ctx.env, selected_found) {
        env_notes.push(format!(
            "PM2 --env {name}: this app has no env_{name} block, so only its env applies (PM2 warned the same)."
        ));
        summary.push(format!("has no env_{name} block"));
    }
    for (block, vars) in &other_envs {
        let what = if ctx.env.is_some() {
            "not selected"
        } else {
            "not merged (no --env)"
        };
        env_notes.push(format!(
            "PM2 env_{block} ({what}): {}. For that environment, import again with --env {block} into a file of its own.",
            if vars.is_empty() { "empty".to_string() } else { vars.join(", ") }
        ));
    }
    if !other_envs.is_empty() && ctx.env.is_none() {
        summary.push(format!(
            "env_{} not merged: choose one with --env",
            other_envs
                .iter()
                .map(|(b, _)| b.as_str())
                .collect::<Vec<_>>()
                .join(", env_")
        ));
    }
    for d in &dropped_env {
        env_notes.push(format!("not imported: {d}."));
    }
    if !dropped_env.is_empty() {
        summary.push(format!(
            "{} environment value(s) not imported (see the comments)",
            dropped_env.len()
        ));
    }
    let secrets: Vec<&str> = env
        .iter()
        .filter(|(k, v)| looks_secret(k, v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !secrets.is_empty() {
        let one = secrets.len() == 1;
        env_notes.push(format!(
            "{} {}: unit files are world-readable, so move {} to a file only the app's user can read, and list it in env_file.",
            secrets.join(", "),
            if one { "looks like a secret" } else { "look like secrets" },
            if one { "it" } else { "them" },
        ));
        summary.push(format!(
            "secrets in env ({}): move them to an env_file",
            secrets.join(", ")
        ));
    }
    if let Some((k, v)) = env_file {
        match string_list(&v) {
            Some(list) if list.len() == 1 => line(
                &mut lines,
                "env_file",
                toml::Value::String(list[0].clone()),
                None,
            ),
            Some(list) => line(
                &mut lines,
                "env_file",
                toml::Value::Array(list.into_iter().map(toml::Value::String).collect()),
                None,
            ),
            None => notes.push(format!(
                "PM2 {}: not a path or a list of paths, not imported.",
                show(&k, &v)
            )),
        }
    }
    let port: Option<u16> = env
        .iter()
        .find(|(k, _)| k == "PORT")
        .and_then(|(_, v)| v.trim().parse::<u16>().ok())
        .filter(|p| *p > 0);

    // --- instances, cluster mode and the shared port ----------------------------------
    let exec_mode = o.take("exec_mode", &[]);
    let cluster = matches!(&exec_mode, Some((_, Js::Str(s))) if s.starts_with("cluster"));
    let instances = o.take("instances", &[]);
    // None = 1; Some(None) = "max"; Some(Some(n)) = n.
    let mut count: Option<Option<u32>> = None;
    if let Some((k, v)) = &instances {
        let n: Option<i64> = match v {
            Js::Num(n) => n.as_i64(),
            Js::Str(s) if s.trim() == "max" => Some(0),
            // PM2: parseInt(s) || 0, so text that is no number means one per CPU.
            Js::Str(s) => Some(
                s.trim()
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '-')
                    .collect::<String>()
                    .parse()
                    .unwrap_or(0),
            ),
            _ => None,
        };
        match n {
            Some(0) => {
                count = Some(None);
                line(
                    &mut lines,
                    "instances",
                    toml::Value::String("max".into()),
                    None,
                );
            }
            Some(n) if n < 0 => {
                count = Some(None);
                line(
                    &mut lines,
                    "instances",
                    toml::Value::String("max".into()),
                    Some(format!(
                        "PM2 instances = {n} meant {} fewer than the CPUs; unitgen has \"max\" or a number: write a number to leave CPUs free",
                        -n
                    )),
                );
                summary.push(format!(
                    "instances = {n} became \"max\": set a number to leave CPUs free"
                ));
            }
            Some(1) => trivial_seen.push(show(k, v)),
            Some(n) => {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                count = Some(Some(n));
                line(
                    &mut lines,
                    "instances",
                    toml::Value::Integer(i64::from(n)),
                    None,
                );
            }
            None => notes.push(format!(
                "PM2 {}: not a number of instances, not imported.",
                show(k, v)
            )),
        }
    }
    let multi = matches!(count, Some(None) | Some(Some(2..)));
    let how_many = match count {
        Some(Some(n)) => format!("{n} instances"),
        _ => "instances, one per CPU".into(),
    };
    let increment_var = o.take("increment_var", &[]);
    let instance_var = o.take("instance_var", &[]);
    if multi {
        if let Some(p) = port {
            let mode = if cluster {
                format!("PM2 cluster mode shared port {p} between the {how_many}.")
            } else {
                format!("PM2 started {how_many} that each bound port {p}: all but one failed with EADDRINUSE.")
            };
            line(
                &mut lines,
                "listen",
                toml::Value::Array(vec![toml::Value::Integer(i64::from(p))]),
                Some(format!(
                    "{mode} Here systemd holds the socket and passes it to every instance (LISTEN_FDS): the app must accept that socket instead of binding the port, in Node: server.listen(process.env.LISTEN_FDS ? {{ fd: 3 }} : process.env.PORT)"
                )),
            );
            summary.push(format!(
                "listen = [{p}] proposed for its {how_many}: the app must accept the inherited socket (LISTEN_FDS, fd 3)"
            ));
        } else if cluster {
            notes.push(
                "PM2 cluster mode: the instances shared the ports the app listens on. If it listens on one, add `listen = [PORT]` so that systemd shares the socket with every instance (the app then accepts it as LISTEN_FDS, in Node: server.listen({ fd: 3 })); else instances that bind the same port fail with EADDRINUSE."
                    .into(),
            );
            summary
                .push("cluster mode without a PORT in env: check whether it needs `listen`".into());
        }
        notes.push(
            "PM2 set NODE_APP_INSTANCE (0, 1, …) in each instance; unitgen sets no such variable (the instance number is in the unit name, @1…@N): code that runs \"only on instance 0\" needs another way, such as an app of its own."
                .into(),
        );
    }
    if let Some((k, v)) = &exec_mode {
        if !multi || port.is_none() {
            match v {
                Js::Str(s) if s.starts_with("fork") => trivial_seen.push(show(k, v)),
                Js::Str(s) if s.starts_with("cluster") && !multi => notes.push(format!(
                    "PM2 {}: with one instance there is nothing to share; each instance is a unit of its own here.",
                    show(k, v)
                )),
                _ if multi => {}
                _ => notes.push(format!("PM2 {}: not fork or cluster, ignored.", show(k, v))),
            }
        }
    }
    if let Some((k, v)) = &increment_var {
        notes.push(format!(
            "PM2 {}: PM2 gave each instance its own value of this variable (counting up); here every instance has the same environment. To share one port, use listen; for separate ports, make one app per port.",
            show(k, v)
        ));
        summary.push(format!("{}: no equivalent (see the comment)", show(k, v)));
    }
    if let Some((k, v)) = &instance_var {
        notes.push(format!(
            "PM2 {}: renamed NODE_APP_INSTANCE; unitgen sets no instance variable.",
            show(k, v)
        ));
    }

    // --- readiness and stopping --------------------------------------------------------
    if let Some((k, v)) = o.take("wait_ready", &[]) {
        if matches!(v, Js::Bool(true)) {
            line(
                &mut lines,
                "ready",
                toml::Value::String("notify".into()),
                Some("PM2 wait_ready = true waited for process.send('ready'); systemd waits for READY=1 on $NOTIFY_SOCKET instead: send it when the app is ready (the `sd-notify` npm package, or run `systemd-notify --ready`)".into()),
            );
            summary.push("wait_ready became ready = \"notify\": the app must send READY=1 (sd_notify) instead of process.send('ready')".into());
        } else {
            trivial_seen.push(show(&k, &v));
        }
    }
    if let Some((k, v)) = o.take("listen_timeout", &[]) {
        match millis(&v) {
            Some(ms) if ms > 0 => line(
                &mut lines,
                "start_timeout",
                toml::Value::String(dur(ms)),
                Some(format!("PM2 {}", show(&k, &v))),
            ),
            _ => notes.push(format!(
                "PM2 {}: not a time in milliseconds, not imported.",
                show(&k, &v)
            )),
        }
    }
    if let Some((k, v)) = o.take("kill_timeout", &[]) {
        match millis(&v) {
            Some(ms) if ms > 0 => line(
                &mut lines,
                "stop_timeout",
                toml::Value::String(dur(ms)),
                Some(format!("PM2 {}: then SIGKILL", show(&k, &v))),
            ),
            _ => notes.push(format!(
                "PM2 {}: not a time in milliseconds, not imported.",
                show(&k, &v)
            )),
        }
    }
    if let Some((k, v)) = o.take("shutdown_with_message", &[]) {
        if matches!(v, Js::Bool(true)) {
            notes.push(format!(
                "PM2 {}: PM2 sent process.send('shutdown') instead of a signal; there is no such channel under systemd: the app must shut down on SIGINT (stop_signal in [defaults]).",
                show(&k, &v)
            ));
            summary.push("shutdown_with_message: the app must shut down on SIGINT instead of the 'shutdown' message".into());
        } else {
            trivial_seen.push(show(&k, &v));
        }
    }

    // --- memory ---------------------------------------------------------------------------
    if let Some((k, v)) = o.take("max_memory_restart", &[]) {
        let size = match &v {
            Js::Num(n) => n.as_i64().filter(|b| *b > 0).map(|b| Size::Bytes(b as u64)),
            Js::Str(s) => Size::parse(s.trim().trim_end_matches(['B', 'b']))
                .ok()
                .or_else(|| Size::parse(s.trim()).ok()),
            _ => None,
        };
        match size {
            Some(s) => line(
                &mut lines,
                "memory_max",
                toml::Value::String(s.to_string()),
                Some(format!(
                    "PM2 {}: PM2 checked every 30s, then restarted the app; here the kernel enforces it (cgroup), then systemd restarts the app",
                    show(&k, &v)
                )),
            ),
            None => notes.push(format!(
                "PM2 {}: not a size PM2 reads (\"500M\", \"1G\"), not imported; set memory_max = \"500M\".",
                show(&k, &v)
            )),
        }
    }

    // --- restarting ---------------------------------------------------------------------
    let autorestart = o.take("autorestart", &[]);
    let restart_never = matches!(&autorestart, Some((_, Js::Bool(false))))
        || matches!(&autorestart, Some((_, Js::Str(s))) if s == "false");
    let stop_exit_codes = o.take("stop_exit_codes", &[]);
    let max_restarts = o.take("max_restarts", &[]);
    let max_is_zero = matches!(&max_restarts, Some((_, v)) if millis(v) == Some(0));
    if let Some((k, v)) = autorestart.as_ref().filter(|_| restart_never) {
        line(
            &mut lines,
            "restart",
            toml::Value::String("never".into()),
            Some(format!("PM2 {}", show(k, v))),
        );
    } else {
        if let Some((k, v)) = &autorestart {
            trivial_seen.push(show(k, v));
        }
        if max_is_zero {
            line(
                &mut lines,
                "restart",
                toml::Value::String("never".into()),
                Some("PM2 max_restarts = 0: PM2 marked the app errored at its first exit".into()),
            );
        } else if let Some((k, v)) = &stop_exit_codes {
            let codes: Vec<i64> = match v {
                Js::Arr(a) => a
                    .iter()
                    .filter_map(|x| millis(x).map(|n| n as i64))
                    .collect(),
                other => millis(other).map(|n| vec![n as i64]).unwrap_or_default(),
            };
            if codes.contains(&0) {
                line(
                    &mut lines,
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
                notes.push(format!(
                    "PM2 {}: no restart after exit code {}; unitgen has no key for that yet (systemd's RestartPreventExitStatus=, in a drop-in made with `systemctl edit`).",
                    show(k, v),
                    others.join(", ")
                ));
                summary.push(format!(
                    "stop_exit_codes {}: no equivalent (see the comment)",
                    others.join(", ")
                ));
            }
        }
    }
    let restart_delay = o.take("restart_delay", &[]);
    let backoff = o.take("exp_backoff_restart_delay", &[]);
    let mut delay_ms: u64 = 0;
    match (&restart_delay, &backoff) {
        (Some((k, v)), _) => match millis(v) {
            Some(0) => trivial_seen.push(show(k, v)),
            Some(ms) => {
                delay_ms = ms;
                line(
                    &mut lines,
                    "restart_delay",
                    toml::Value::String(dur(ms)),
                    Some(format!("PM2 {}", show(k, v))),
                );
            }
            None => notes.push(format!(
                "PM2 {}: not a time in milliseconds, not imported.",
                show(k, v)
            )),
        },
        (None, Some((k, v))) => match millis(v) {
            Some(ms) if ms > 0 => {
                delay_ms = ms;
                line(
                    &mut lines,
                    "restart_delay",
                    toml::Value::String(dur(ms)),
                    Some(format!(
                        "PM2 {}: PM2 doubled the delay at each crash, up to 15s; here it stays fixed (systemd 254 and later can grow it: RestartSteps= and RestartMaxDelaySec= in a drop-in)",
                        show(k, v)
                    )),
                );
                summary.push("exp_backoff_restart_delay became a fixed restart_delay".into());
            }
            _ => notes.push(format!(
                "PM2 {}: not a time in milliseconds, not imported.",
                show(k, v)
            )),
        },
        (None, None) => {}
    }
    if let (Some(_), Some((k, v))) = (&restart_delay, &backoff) {
        notes.push(format!(
            "PM2 {}: restart_delay is used instead; systemd's delay is fixed.",
            show(k, v)
        ));
    }
    let min_uptime = o.take("min_uptime", &[]);
    if !restart_never && !max_is_zero && (max_restarts.is_some() || min_uptime.is_some()) {
        let n = match &max_restarts {
            Some((_, v)) => millis(v).map(|n| n.clamp(1, 100_000) as u32),
            None => Some(16),
        };
        let up = match &min_uptime {
            Some((_, v)) => millis(v),
            None => Some(1000),
        };
        match (n, up) {
            (Some(n), Some(up)) => {
                let cycle = up.max(100) + delay_ms.max(100);
                let window = u64::from(n).saturating_mul(cycle);
                // Round up to whole seconds: easier to read, and never shorter.
                let window = window.div_ceil(1000) * 1000;
                let said: Vec<String> = [&max_restarts, &min_uptime]
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| show(k, v))
                    .collect();
                line(
                    &mut lines,
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
                line(
                    &mut lines,
                    "restart_window",
                    toml::Value::String(dur(window)),
                    None,
                );
            }
            _ => {
                for (k, v) in [&max_restarts, &min_uptime].into_iter().flatten() {
                    notes.push(format!(
                        "PM2 {}: not a number PM2 reads, not imported.",
                        show(k, v)
                    ));
                }
            }
        }
    } else {
        for (k, v) in [&max_restarts, &min_uptime].into_iter().flatten() {
            if !max_is_zero || k != "max_restarts" {
                notes.push(format!(
                    "PM2 {}: no meaning when the app is never restarted.",
                    show(k, v)
                ));
            }
        }
    }
    if let Some((k, v)) = o.take("autostart", &[]) {
        if matches!(v, Js::Bool(false)) {
            notes.push(format!(
                "PM2 {}: PM2 registered the app without starting it; `unitgen apply` starts every app of the file: stop this one after apply with `unitgen stop {pm2_name}`, or keep it in a file of its own.",
                show(&k, &v)
            ));
            summary.push("autostart = false: apply starts it (see the comment)".into());
        } else {
            trivial_seen.push(show(&k, &v));
        }
    }

    // --- scheduled restart ------------------------------------------------------------
    if let Some((k, v)) = o.take("cron_restart", &["cron"]) {
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
            notes.push(format!(
                "PM2 {}: turned scheduled restarts off; nothing to import.",
                show(&k, &v)
            ));
        } else if let Some(n) = nick {
            line(
                &mut lines,
                "cron_restart",
                toml::Value::String(n.into()),
                Some(format!("PM2 {}", show(&k, &v))),
            );
        } else {
            let (five, note) = if fields.len() == 6 && fields[0] == "0" {
                (
                    fields[1..].join(" "),
                    Some(format!(
                        "PM2 {}: the seconds field (0) dropped",
                        show(&k, &v)
                    )),
                )
            } else {
                (fields.join(" "), None)
            };
            match Cron::parse(&five) {
                Ok(_) => line(&mut lines, "cron_restart", toml::Value::String(five), note),
                Err((msg, _)) => {
                    notes.push(format!(
                        "PM2 {}: not imported, expected {msg}. unitgen reads 5-field cron (minute hour day month weekday): write cron_restart = \"0 3 * * *\" for 03:00 every day.",
                        show(&k, &v)
                    ));
                    summary.push(format!(
                        "{}: not a 5-field cron, not imported",
                        show(&k, &v)
                    ));
                }
            }
        }
    }

    // --- who it runs as -----------------------------------------------------------------
    if let Some((k, v)) = o.take("uid", &["user"]) {
        let u = v.to_env_text();
        if names::is_user_name(&u) {
            line(&mut lines, "user", toml::Value::String(u), None);
        } else {
            notes.push(format!(
                "PM2 {}: not a user name systemd accepts, not imported.",
                show(&k, &v)
            ));
            summary.push(format!("{}: not a valid user name", show(&k, &v)));
        }
    }
    if let Some((k, v)) = o.take("gid", &[]) {
        let g = v.to_env_text();
        if names::is_user_name(&g) {
            line(&mut lines, "group", toml::Value::String(g), None);
        } else {
            notes.push(format!(
                "PM2 {}: not a group name systemd accepts, not imported.",
                show(&k, &v)
            ));
        }
    }

    // --- what has no equivalent: say what it was and what to do instead --------------
    let mut group = |keys: &[(&str, &[&str])], o: &mut Opts| -> Vec<String> {
        let mut said = Vec::new();
        for (key, aliases) in keys {
            if let Some((k, v)) = o.take(key, aliases) {
                if trivial(key, &v) {
                    trivial_seen.push(show(&k, &v));
                } else {
                    said.push(show(&k, &v));
                }
            }
        }
        said
    };
    let logs = group(
        &[
            ("out_file", &["out", "output", "out_log"]),
            ("error_file", &["error", "err", "err_file", "err_log"]),
            ("log_file", &["log"]),
            ("merge_logs", &["combine_logs"]),
            ("log_date_format", &[]),
            ("time", &[]),
            ("log_type", &[]),
            ("disable_logs", &[]),
        ],
        &mut o,
    );
    if !logs.is_empty() {
        notes.push(format!(
            "PM2 {}: journald keeps the logs of every instance: `unitgen logs {pm2_name}` (--err, --lines N, --follow); retention is set in journald.conf (SystemMaxUse=), not per app.",
            logs.join(", ")
        ));
        summary.push("log options: journald keeps the logs (see the comment)".into());
    }
    let watch = group(
        &[
            ("watch", &[]),
            ("ignore_watch", &[]),
            ("watch_delay", &[]),
            ("watch_options", &[]),
        ],
        &mut o,
    );
    if !watch.is_empty() {
        notes.push(format!(
            "PM2 {}: systemd does not restart apps when files change. After a deploy run `unitgen restart {pm2_name}` (or `reload`, one instance at a time); while developing, let the app watch itself (`node --watch`, nodemon, vite).",
            watch.join(", ")
        ));
        summary.push("watch: no equivalent (see the comment)".into());
    }
    let pid = group(&[("pid_file", &["pid"])], &mut o);
    if !pid.is_empty() {
        notes.push(format!(
            "PM2 {}: systemd tracks the main process itself: `systemctl show -p MainPID UNIT` or `unitgen status {pm2_name}`.",
            pid.join(", ")
        ));
        summary.push("pid_file: systemd tracks the PID (see the comment)".into());
    }
    let monitoring = group(
        &[
            ("pmx", &[]),
            ("automation", &[]),
            ("trace", &[]),
            ("disable_trace", &[]),
            ("deep_monitoring", &[]),
            ("v8", &[]),
            ("event_loop_inspector", &[]),
            ("io", &[]),
            ("vizion", &[]),
            ("post_update", &[]),
            ("install_url", &[]),
        ],
        &mut o,
    );
    if !monitoring.is_empty() {
        notes.push(format!(
            "PM2 {}: PM2 Plus (keymetrics) features have no equivalent; `unitgen status` shows CPU, memory and restarts from systemd's accounting.",
            monitoring.join(", ")
        ));
        summary.push("PM2 Plus options: no equivalent (see the comment)".into());
    }
    let maps = group(
        &[
            ("source_map_support", &[]),
            ("disable_source_map_support", &[]),
        ],
        &mut o,
    );
    if !maps.is_empty() {
        notes.push(format!(
            "PM2 {}: PM2 loaded source-map-support into the app; with Node 12.12 or later put --enable-source-maps after node in command.",
            maps.join(", ")
        ));
        summary.push("source_map_support: add --enable-source-maps to the command".into());
    }
    let kill = group(&[("treekill", &[]), ("kill_retry_time", &[])], &mut o);
    if !kill.is_empty() {
        notes.push(format!(
            "PM2 {}: systemd signals every process of the app's cgroup, then sends SIGKILL once stop_timeout has passed.",
            kill.join(", ")
        ));
    }
    let filter = group(&[("filter_env", &[])], &mut o);
    if !filter.is_empty() {
        notes.push(format!(
            "PM2 {}: nothing to filter: systemd never passes its own environment to apps, only env and env_file.",
            filter.join(", ")
        ));
    }
    let misc = group(
        &[
            ("windowsHide", &[]),
            ("force", &[]),
            ("write", &[]),
            ("username", &[]),
            ("execute_command", &[]),
            ("name_prefix", &[]),
        ],
        &mut o,
    );
    for m in misc {
        notes.push(format!("PM2 {m}: no meaning here."));
    }
    // Whatever is left is unknown to PM2 (it ignores such keys too).
    for (k, v) in std::mem::take(&mut o.0) {
        notes.push(format!(
            "{}: not a PM2 option (PM2 ignores it too), not imported.",
            show(&k, &v)
        ));
        summary.push(format!("unknown option {k}: not imported"));
    }
    if !trivial_seen.is_empty() {
        notes.push(format!(
            "PM2 options that need nothing here: {}.",
            trivial_seen.join(", ")
        ));
    }

    lines.sort_by_key(|l| {
        ORDER
            .iter()
            .position(|k| *k == l.key)
            .unwrap_or(ORDER.len())
    });
    Ok(AppOut {
        name: pm2_name.clone(),
        pm2_name,
        namespace,
        lines,
        env,
        env_notes,
        notes,
        summary,
        problems,
    })
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
    fn secrets() {
        assert!(looks_secret("DB_PASSWORD", "x"));
        assert!(looks_secret("DATABASE_URL", "postgres://u:pw@host/db"));
        assert!(!looks_secret("DATABASE_URL", "postgres://host/db"));
        assert!(!looks_secret("PORT", "3000"));
    }
}
