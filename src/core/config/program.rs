//! The program an app runs: found in PATH (never in the app's own directory), started within
//! the kernel's and systemd's limits, its interpreter found as the kernel and `env` will find
//! it, and every file on the way reachable by the app's user.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::parse::Sp;
use super::reach::{self, Access, Blocked, Cred};
use super::resolve::{noncharacter, normalize, Ctx};
use crate::adapters::host::Host;
use crate::core::diagnostic::Span;

/// systemd's `PATH` for a service whose unit sets none (systemd 252 as Debian builds it).
pub const SYSTEMD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The most bytes one argument or one `NAME=value` may have, its final NUL included: the
/// kernel's `MAX_ARG_STRLEN` (32 pages of 4 KiB). One byte more and `execve()` fails with
/// E2BIG, which systemd reports as 203/EXEC.
pub const MAX_ARG_STRLEN: usize = 131_072;

/// The longest line systemd 252 reads in a unit file: `LONG_LINE_MAX` (1 MiB) less the line
/// break. A longer line makes the unit fail to load ("No buffer space available").
pub const MAX_LINE: usize = 1_048_575;

/// What a program may start with, arguments and environment together (each string with its
/// NUL and its 8-byte pointer): the kernel allows a quarter of the stack limit, 2 MiB under
/// systemd's default 8 MiB, of which 64 KiB are left for the variables systemd and unitgen
/// add.
pub const ARG_MAX_BUDGET: usize = 2 * 1024 * 1024 - 64 * 1024;

/// Room on the `ExecStart=` line for the directive and unitgen's `systemd-cat` wrapper.
const EXEC_LINE_ROOM: usize = 1024;

/// Where an error goes: a value of the file, or the app's table for a key it leaves out.
#[derive(Clone)]
pub(super) struct Place {
    pub span: Span,
    pub key: String,
}

impl<T> From<&Sp<T>> for Place {
    fn from(s: &Sp<T>) -> Self {
        Place {
            span: s.span.clone(),
            key: s.key.clone(),
        }
    }
}

/// The directories of a `PATH` value that are absolute (the others are refused in `env`).
fn split_path(p: &str) -> Vec<PathBuf> {
    p.split(':')
        .filter(|d| d.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Where unitgen looks for a program named without a `/`: the app's own `env.PATH` when it
/// sets one, else unitgen's own `PATH`. Never the app's directory.
fn lookup_path(host: &dyn Host, env: &BTreeMap<String, String>) -> Vec<PathBuf> {
    match env.get("PATH") {
        Some(p) => split_path(p),
        None => host.search_path(),
    }
}

/// Find the program: a bare name in PATH only, a relative path from `cwd`, as a shell does.
pub(super) fn resolve_command(
    c: &mut Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    cwd: Option<&Path>,
    env: &BTreeMap<String, String>,
    home: Option<&Path>,
) -> Option<Vec<String>> {
    check_words(c, cmd)?;
    let prog = &cmd.v[0];
    let found = if prog.starts_with('/') {
        Some(normalize(Path::new(prog)))
    } else if prog.contains('/') {
        // Relative to a working directory that is not there: that has its own error.
        Some(normalize(&cwd?.join(prog)))
    } else {
        lookup_path(c.host, env)
            .iter()
            .map(|d| d.join(prog))
            .find(|p| c.host.is_executable(p))
    };
    match found {
        Some(p) if c.host.is_executable(&p) => {
            let mut exec = vec![p.to_string_lossy().into_owned()];
            exec.extend(cmd.v[1..].iter().cloned());
            Some(exec)
        }
        _ => {
            let help = not_found_help(c, cmd, cwd, env, home);
            c.error(
                cmd.span.clone(),
                &cmd.key,
                format!("the program {prog:?} was not found or is not executable"),
                help,
            );
            None
        }
    }
}

/// Each word must reach the program intact and within the kernel's limits, and the whole
/// command line must fit on one line of the unit file.
fn check_words(c: &mut Ctx<'_>, cmd: &Sp<Vec<String>>) -> Option<()> {
    let problem = cmd.v.iter().find_map(|w| {
        if noncharacter(w) {
            Some("an argument contains a Unicode noncharacter (such as U+FFFF), which systemd refuses".to_string())
        } else if w.contains('\0') {
            Some("an argument contains a NUL byte, which no program can receive".to_string())
        } else if w.len() >= MAX_ARG_STRLEN {
            Some(format!(
                "an argument is {} bytes long; the kernel starts a program with arguments of at most {} bytes each (MAX_ARG_STRLEN), and the app would fail with 203/EXEC",
                w.len(),
                MAX_ARG_STRLEN - 1
            ))
        } else {
            None
        }
    });
    let prog = &cmd.v[0];
    let problem = problem.or_else(|| {
        (prog.contains('$') || prog.chars().any(char::is_control))
            .then(|| format!("the program name {prog:?} contains '$' or a control character"))
    });
    let problem = problem.or_else(|| {
        let line = crate::core::quote::exec(&cmd.v).len();
        (line > MAX_LINE - EXEC_LINE_ROOM).then(|| {
            format!(
                "the command is {line} bytes once written to the unit file; systemd reads lines of at most {MAX_LINE} bytes, {EXEC_LINE_ROOM} of them kept for ExecStart= and the log wrapper"
            )
        })
    });
    match problem {
        Some(message) => {
            let help = message.contains("bytes").then(|| {
                "pass large data in a file the program reads (its path as the argument)".to_string()
            });
            c.error(cmd.span.clone(), &cmd.key, message, help);
            None
        }
        None => Some(()),
    }
}

/// How to fix a program that was not found: a script needs its interpreter, a program in the
/// app's directory needs `./`, a Node installed with nvm needs its path.
fn not_found_help(
    c: &Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    cwd: Option<&Path>,
    env: &BTreeMap<String, String>,
    home: Option<&Path>,
) -> String {
    let host = c.host;
    let prog = &cmd.v[0];
    let script = [".js", ".mjs", ".cjs", ".ts", ".py", ".rb", ".php"]
        .iter()
        .any(|e| prog.ends_with(e));
    if script {
        let interp = if prog.ends_with(".py") {
            "python3"
        } else if prog.ends_with(".rb") {
            "ruby"
        } else if prog.ends_with(".php") {
            "php"
        } else {
            "node"
        };
        return format!(
            "a script runs through its interpreter: command = \"{interp} {}\"",
            cmd.v.join(" ")
        );
    }
    if prog.contains('/') {
        return "fix the path (a relative path is taken from cwd), or make the file executable"
            .to_string();
    }
    if let Some(dir) = cwd.filter(|d| host.is_executable(&d.join(prog))) {
        return format!(
            "a program named without a '/' is looked up in PATH only, never in the app's directory: to run the one in {}, write command = \"./{}\"",
            c.show(dir),
            cmd.v.join(" ")
        );
    }
    let dirs: Vec<String> = lookup_path(host, env).iter().map(|d| c.show(d)).collect();
    let which = if env.contains_key("PATH") {
        "the app's env.PATH"
    } else {
        "unitgen's PATH"
    };
    if let Some(p) = home.and_then(|h| nvm_program(host, h, prog)) {
        let mut words = vec![c.show(&p)];
        words.extend(cmd.v[1..].iter().cloned());
        return format!(
            "it is not in {which} ({}), but {} is: to use it, write command = {:?} (its directory then comes first in the app's PATH, so that its #!/usr/bin/env node finds the node beside it)",
            dirs.join(":"),
            c.show(&p),
            words.join(" ")
        );
    }
    format!(
        "install it, or give its absolute path (looked in {which}: {})",
        dirs.join(":")
    )
}

/// `~/.nvm/versions/node/vX.Y.Z/bin/PROG`, the newest version that has it.
fn nvm_program(host: &dyn Host, home: &Path, prog: &str) -> Option<PathBuf> {
    let mut versions: Vec<(Vec<u64>, PathBuf)> = host
        .list_dir(&home.join(".nvm/versions/node"))
        .into_iter()
        .filter_map(|d| {
            let name = d.file_name()?.to_str()?.strip_prefix('v')?.to_string();
            let key = name.split('.').map(|n| n.parse().unwrap_or(0)).collect();
            Some((key, d.join("bin").join(prog)))
        })
        .filter(|(_, p)| host.is_executable(p))
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// The service's `PATH`: the app's own, or systemd's. When the program lives outside
/// systemd's and the app sets none, its directory goes first (into `env`), so that a launcher
/// such as nvm's `npm` finds, through `#!/usr/bin/env node`, the `node` installed beside it.
pub(super) fn service_path(env: &mut BTreeMap<String, String>, program: &Path) -> Vec<PathBuf> {
    if let Some(p) = env.get("PATH") {
        return split_path(p);
    }
    let mut dirs = split_path(SYSTEMD_PATH);
    let own = program
        .parent()
        .and_then(Path::to_str)
        .filter(|d| !d.contains(':'));
    if let Some(d) = own.filter(|d| !dirs.iter().any(|s| s == Path::new(d))) {
        env.insert("PATH".to_string(), format!("{d}:{SYSTEMD_PATH}"));
        dirs.insert(0, PathBuf::from(d));
    }
    dirs
}

/// The programs a `#!` line runs: its interpreter, and for `/usr/bin/env NAME` the NAME found
/// in the service's PATH. `Err` names what `env` would not find.
fn interpreters(
    host: &dyn Host,
    line: &str,
    path: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<PathBuf>, String> {
    let mut words = line[2..].split_whitespace();
    let Some(first) = words.next() else {
        return Ok(Vec::new());
    };
    let interp = normalize(&cwd.join(first));
    let mut out = vec![interp.clone()];
    if interp.file_name().is_some_and(|n| n == "env") {
        // env's own options (-S, -i) and NAME=value assignments come before the command.
        if let Some(name) = words.find(|w| !w.starts_with('-') && !w.contains('=')) {
            let found = if name.contains('/') {
                Some(normalize(&cwd.join(name))).filter(|p| host.is_executable(p))
            } else {
                path.iter()
                    .map(|d| d.join(name))
                    .find(|p| host.is_executable(p))
            };
            out.push(found.ok_or_else(|| name.to_string())?);
        }
    }
    Ok(out)
}

/// What the sandbox must show the app: the program and its interpreters, as written and as
/// their symlinks resolve, and the working directory as it resolves.
pub(super) struct Reach {
    pub programs: Vec<PathBuf>,
    pub real_cwd: PathBuf,
}

/// Can the app's user reach its working directory, its program and the program's
/// interpreter? The service's PATH goes into `env` on the way (see [`service_path`]).
pub(super) fn check_reach(
    c: &mut Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    cwd_place: &Place,
    program: &Path,
    cwd: &Path,
    env: &mut BTreeMap<String, String>,
    cred: &Cred,
) -> Option<Reach> {
    let real_cwd = reach::walk(c.host, cwd, cred, Access::Search);
    let real_cwd = match real_cwd {
        Ok(p) => Some(p),
        Err(why) => {
            blocked(c, cwd_place, cred, "the working directory", cwd, why);
            None
        }
    };
    let path = service_path(env, program);
    let line = c.host.first_line(program).filter(|l| l.starts_with("#!"));
    let at = Place::from(cmd);
    let mut programs = vec![program.to_path_buf()];
    let mut ok = true;
    match reach::walk(
        c.host,
        program,
        cred,
        Access::Execute {
            script: line.is_some(),
        },
    ) {
        Ok(p) => programs.push(p),
        Err(why) => {
            blocked(c, &at, cred, "the program", program, why);
            ok = false;
        }
    }
    if let Some(l) = &line {
        ok &= check_interpreters(c, cmd, program, l, &path, cwd, cred, &mut programs);
    }
    programs.dedup();
    let real_cwd = real_cwd?;
    ok.then_some(Reach { programs, real_cwd })
}

/// The interpreters of a `#!` line must exist and be reachable: they join `programs`.
#[allow(clippy::too_many_arguments)]
fn check_interpreters(
    c: &mut Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    program: &Path,
    line: &str,
    path: &[PathBuf],
    cwd: &Path,
    cred: &Cred,
    programs: &mut Vec<PathBuf>,
) -> bool {
    let interps = match interpreters(c.host, line, path, cwd) {
        Ok(v) => v,
        Err(name) => {
            let shown: Vec<String> = path.iter().map(|d| c.show(d)).collect();
            let message = format!(
                "{} starts with {line:?}, and there is no {name:?} in the service's PATH ({})",
                c.show(program),
                shown.join(":")
            );
            c.error(cmd.span.clone(), &cmd.key, message,
                Some(format!("install {name} in one of those directories, or set env.PATH to the directories the app's programs are in")));
            return false;
        }
    };
    let mut ok = true;
    for i in interps {
        if !c.host.is_executable(&i) {
            let message = format!(
                "{} starts with {line:?}, and {} is not found or not executable",
                c.show(program),
                c.show(&i)
            );
            c.error(cmd.span.clone(), &cmd.key, message,
                Some("install the interpreter, or run the script through one that exists: command = \"node script.js\"".to_string()));
            ok = false;
            continue;
        }
        match reach::walk(c.host, &i, cred, Access::Execute { script: false }) {
            Ok(p) => programs.extend([i, p]),
            Err(why) => {
                blocked(c, &Place::from(cmd), cred, "the interpreter", &i, why);
                ok = false;
            }
        }
    }
    ok
}

/// Say why `cred` cannot reach `path`, and how to fix it.
fn blocked(c: &mut Ctx<'_>, at: &Place, cred: &Cred, what: &str, path: &Path, why: Blocked) {
    let who = &cred.shown;
    let path = c.show(path);
    let (message, help) = match why {
        Blocked::Search(dir, node) => (
            format!(
                "{who} cannot reach {what} {path}: {} ({}) does not let {who} through",
                c.show(&dir),
                reach::describe(c.host, &node)
            ),
            fix(c, cred, &dir, &node, "o+x"),
        ),
        Blocked::Denied(p, node) => (
            format!(
                "{who} may not use {what} {} ({})",
                c.show(&p),
                reach::describe(c.host, &node)
            ),
            fix(c, cred, &p, &node, "o+rx"),
        ),
        Blocked::Missing(p) => (
            format!(
                "{what} {path} leads to {}, which does not exist",
                c.show(&p)
            ),
            "fix the path or the symlink on the way".to_string(),
        ),
        Blocked::Loop(p) => (
            format!("{what} {path} goes round in symlinks at {}", c.show(&p)),
            "fix the symlink".to_string(),
        ),
    };
    c.error(at.span.clone(), &at.key, message, Some(help));
}

/// The ways out: move the app, open the directory, or run the app as the directory's owner.
fn fix(
    c: &Ctx<'_>,
    cred: &Cred,
    p: &Path,
    node: &crate::adapters::host::Node,
    bits: &str,
) -> String {
    let who = &cred.shown;
    let mut ways = vec![
        format!("move the app to a directory {who} can read (such as /srv or /opt)"),
        format!(
            "let {who} in (chmod {bits} {}, or a group {who} is in)",
            c.show(p)
        ),
    ];
    if let Some(owner) = c.host.user_by_uid(node.uid).filter(|a| a.uid != 0) {
        ways.push(format!("run the app as {0} (user = {0:?})", owner.name));
    }
    let last = ways.pop().unwrap_or_default();
    format!("{}, or {last}", ways.join(", "))
}

/// The command and the environment together must fit what a program can start with.
pub(super) fn check_arg_max(
    c: &mut Ctx<'_>,
    cmd: &Sp<Vec<String>>,
    exec: &[String],
    env: &BTreeMap<String, String>,
) {
    let args: usize = exec.iter().map(|w| w.len() + 1 + 8).sum();
    let vars: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2 + 8).sum();
    if args + vars > ARG_MAX_BUDGET {
        c.error(
            cmd.span.clone(),
            &cmd.key,
            format!(
                "the command ({args} bytes) and env ({vars} bytes) are too large together: a program starts with at most 2 MiB of arguments and environment, {ARG_MAX_BUDGET} bytes of them for the file",
            ),
            Some("keep large values in a file the app reads (env_file does not help: its variables count too)".to_string()),
        );
    }
}
