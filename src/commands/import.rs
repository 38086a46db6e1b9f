//! `unitgen import FILE`: PM2 ecosystem file to unitgen TOML, one file per namespace.
//!
//! Read and convert (nothing written on bad input, exit 2), check every output where it will
//! live as `validate` would, write, then say what happened. A result that does not validate
//! on this machine is written anyway, so that it can be fixed, and the exit status is 1.
//! The long help (`crate::core::import::LONG_HELP`) says the same to users.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Failure, Problem};
use crate::adapters::host::{Host, SystemHost};
use crate::cli::{Global, ImportArgs};
use crate::core::config;
use crate::core::import::{self, Imported, Request};

/// Where the TOML goes.
enum Dest {
    /// `-o -`.
    Stdout,
    /// `-o FILE`: one namespace only; replaced if it exists.
    File(PathBuf),
    /// NAMESPACE.toml in a directory: beside the PM2 file, or `-o DIR/`.
    Dir(PathBuf),
}

/// Where the output goes, and the directory its files live in.
struct Out {
    dest: Dest,
    /// The directory as the user gave it (for messages).
    dir: PathBuf,
    /// The same, absolute.
    abs: PathBuf,
    /// `-o DIR/` names a directory that does not exist yet: made once the import succeeded.
    make_dir: bool,
}

/// Where `-o` (or its absence) sends the files.
fn destination(args: &ImportArgs) -> Result<Out, Failure> {
    let dest = match &args.output {
        Some(p) if p.as_os_str() == "-" => Dest::Stdout,
        Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') => {
            Dest::Dir(p.clone())
        }
        Some(p) => Dest::File(p.clone()),
        None => Dest::Dir(
            args.file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        ),
    };
    let dir = match &dest {
        Dest::Stdout => PathBuf::from("."),
        Dest::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
        Dest::Dir(d) => d.clone(),
    };
    let abs = std::path::absolute(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    })
    .map_err(|e| anyhow::anyhow!("cannot resolve {}: {e}", dir.display()))?;
    // `-o DIR/` makes the directory (once the import has succeeded); `-o DIR/FILE` needs it.
    let make_dir = matches!(dest, Dest::Dir(_)) && !abs.is_dir();
    if matches!(dest, Dest::File(_)) && !abs.is_dir() {
        return Err(Failure::Usage(
            Problem::new(format!(
                "the output directory {} does not exist",
                dir.display()
            ))
            .help(
                "create it first, or give -o the directory alone (ending in '/') to have it made",
            ),
        ));
    }
    Ok(Out {
        dest,
        dir,
        abs,
        make_dir,
    })
}

/// Who runs the imported apps: `--run-as`, else the owner of the PM2 file when that is an
/// ordinary user (PM2 ran apps as the user who ran it, and the deploy user owns the checkout).
fn run_as(args: &ImportArgs, host: &dyn Host) -> (Option<String>, String) {
    if let Some(u) = &args.run_as {
        return (
            Some(u.clone()),
            format!("who runs the apps, as `unitgen import --run-as {u}` said"),
        );
    }
    let owner = std::path::absolute(&args.file)
        .ok()
        .and_then(|p| host.owner(&p))
        .filter(|&uid| uid != 0)
        .and_then(|uid| host.user_by_uid(uid))
        .filter(|acct| acct.name != "nobody");
    match owner {
        Some(acct) => (
            Some(acct.name.clone()),
            format!(
                "PM2 ran the apps as the user who ran `pm2 start`; the PM2 file belongs to {}",
                acct.name
            ),
        ),
        None => (None, String::new()),
    }
}

/// Import a PM2 ecosystem file.
pub fn run(global: &Global, args: &ImportArgs) -> Result<(), Failure> {
    let out = destination(args)?;
    let claims = super::unit_dir(global)
        .claims(&crate::adapters::unit_dir::EnvDir::new(
            super::target(global).env_dir,
        ))
        .unwrap_or_default();
    let host = SystemHost::new(claims);
    let which = |prog: &str| {
        host.search_path()
            .iter()
            .map(|d| d.join(prog))
            .find(|p| host.is_executable(p))
    };
    let (run_as, why) = run_as(args, &host);
    let req = Request {
        file: &args.file,
        env: args.env.as_deref(),
        namespace: args.namespace.as_deref(),
        out_dir: &out.abs,
        which: &which,
        run_as: run_as.as_deref().map(|u| (u, why.as_str())),
    };
    let outcome = import::import(&req)?;
    let targets = targets(args, &out, &outcome)?;

    // Check the files as they will be, where they will be.
    let texts: Vec<(PathBuf, String)> = targets
        .iter()
        .map(|(p, f)| (p.clone(), f.toml.clone()))
        .collect();
    let checked = config::load_all(&texts, &host);
    write(&out, &targets)?;
    report(args, &out, &outcome, &targets);

    let diags = checked.err().map(|d| d.0).unwrap_or_default();
    verdict(global, &out, &targets, &diags)
}

/// Where each file goes: one per namespace; refuse what would lose a file the user wrote.
fn targets<'a>(
    args: &ImportArgs,
    out: &Out,
    outcome: &'a import::Outcome,
) -> Result<Vec<(PathBuf, &'a Imported)>, Failure> {
    let names: Vec<String> = outcome
        .files
        .iter()
        .map(|f| format!("{}.toml", f.namespace))
        .collect();
    if outcome.files.len() > 1 && matches!(out.dest, Dest::Stdout | Dest::File(_)) {
        let list: Vec<&str> = outcome.files.iter().map(|f| f.namespace.as_str()).collect();
        return Err(Failure::Usage(
            Problem::new(format!(
                "{} holds {} namespaces ({}), and a unitgen file holds one",
                args.file.display(),
                list.len(),
                list.join(", "),
            ))
            .help(format!(
                "leave out -o to write {} beside it, or give -o a directory (ending in '/')",
                names.join(", ")
            )),
        ));
    }
    let targets: Vec<(PathBuf, &Imported)> = outcome
        .files
        .iter()
        .zip(&names)
        .map(|(f, n)| {
            let p = match &out.dest {
                Dest::Stdout | Dest::Dir(_) => out.dir.join(n),
                Dest::File(p) => p.clone(),
            };
            (p, f)
        })
        .collect();
    // Never replace a file the user wrote by hand unless they named it.
    if let Dest::Dir(_) = out.dest {
        for (p, _) in &targets {
            if let Ok(existing) = std::fs::read_to_string(p) {
                if !existing.starts_with(import::MARK) {
                    return Err(Failure::Usage(
                        Problem::new(format!(
                            "{} exists and was not written by unitgen import; nothing was written",
                            p.display()
                        ))
                        .help("move it away, or name the output with -o"),
                    ));
                }
            } else if p.exists() {
                return Err(Failure::usage(format!(
                    "{} exists and is not a file unitgen import wrote; nothing was written",
                    p.display()
                )));
            }
        }
    }
    Ok(targets)
}

/// Write the files (or the one file to stdout).
fn write(out: &Out, targets: &[(PathBuf, &Imported)]) -> Result<(), Failure> {
    if let Dest::Stdout = out.dest {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(targets[0].1.toml.as_bytes())
            .and_then(|_| stdout.flush())
            .map_err(|e| anyhow::anyhow!("writing to stdout: {e}"))?;
        return Ok(());
    }
    if out.make_dir {
        std::fs::create_dir_all(&out.abs).map_err(|e| {
            anyhow::anyhow!("cannot create the directory {}: {e}", out.dir.display())
        })?;
    }
    for (p, f) in targets {
        write_atomic(p, &f.toml)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

fn shown(out: &Out, p: &Path) -> String {
    match out.dest {
        Dest::Stdout => "the TOML on stdout".to_string(),
        _ => p.display().to_string(),
    }
}

/// Say what happened, on stderr.
fn report(
    args: &ImportArgs,
    out: &Out,
    outcome: &import::Outcome,
    targets: &[(PathBuf, &Imported)],
) {
    let mut err = std::io::stderr().lock();
    let env = args
        .env
        .as_deref()
        .map(|e| format!(" --env {e}"))
        .unwrap_or_default();
    let _ = writeln!(err, "unitgen import {}{env}:", args.file.display());
    for r in &outcome.remarks {
        let _ = writeln!(err, "  {r}");
    }
    if out.make_dir {
        let _ = writeln!(err, "made the directory {}", out.dir.display());
    }
    for (p, f) in targets {
        let apps: Vec<&str> = f.apps.iter().map(|(_, n)| n.as_str()).collect();
        let _ = writeln!(
            err,
            "wrote {} (namespace {}, {} app{}: {})",
            shown(out, p),
            f.namespace,
            apps.len(),
            if apps.len() == 1 { "" } else { "s" },
            apps.join(", ")
        );
        for s in &f.summary {
            let _ = writeln!(err, "  {s}");
        }
    }
}

/// Exit 0 when the files validate here and every script is here; else say what is missing.
fn verdict(
    global: &Global,
    out: &Out,
    targets: &[(PathBuf, &Imported)],
    diags: &[crate::core::diagnostic::Diagnostic],
) -> Result<(), Failure> {
    let printer = global.printer();
    let problems: Vec<&String> = targets.iter().flat_map(|(_, f)| &f.problems).collect();
    if diags.is_empty() && problems.is_empty() {
        let files: Vec<String> = targets
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        let next = match out.dest {
            Dest::Stdout => "save it to a file, then `unitgen apply FILE`".to_string(),
            _ => format!("review, then `unitgen apply {}`", files.join(" ")),
        };
        printer.note(format!("valid on this machine; {next}"));

        return Ok(());
    }
    for d in diags {
        printer.problem(d);
    }
    for p in &problems {
        printer.problem(
            Problem::new(p.as_str())
                .help("deploy it before `unitgen apply`, or fix the path in command"),
        );
    }
    let n = diags.len() + problems.len();
    let what: Vec<String> = targets.iter().map(|(p, _)| shown(out, p)).collect();
    let one = what.len() == 1;
    Err(Failure::failed(format!(
        "{n} problem{} found: {} {} written, but would not run on this machine yet; fix {} (or the machine: a script not deployed here yet, a port another namespace holds), then run `unitgen validate`",
        if n == 1 { "" } else { "s" },
        what.join(", "),
        if one { "was" } else { "were" },
        if one { "it" } else { "them" },
    )))
}

/// Write through a temporary file in the same directory, then rename: never half a file.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".unitgen-import-")
        .tempfile_in(&dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
