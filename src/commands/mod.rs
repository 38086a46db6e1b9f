//! One file per verb: each a short script over the modules of the crate.

mod apply;
mod completions;
mod delete;
mod fleet;
mod import;
mod logs;
mod man;
mod monit;
pub(crate) mod plan;
mod reload;
mod render;
mod restart;
mod scale;
mod show;
mod signal;
mod start;
mod status;
mod stop;
mod validate;
mod watch;

use std::path::PathBuf;

use crate::adapters::host::SystemHost;
use crate::adapters::unit_dir::{self, UnitDir};
use crate::cli::{Cli, Command, Global};
use crate::core::config::{self, Namespace};
use crate::core::diagnostic::Diagnostics;
pub use crate::error::{Failure, Problem};

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(global, &args.files),
        Command::Render(args) => render::run(global, &args.files, &args.out),
        Command::Plan(args) => plan::run(global, &args),
        Command::Apply(args) => apply::run(global, &args),
        Command::Status(args) => status::run(global, &args),
        Command::Show(args) => show::run(global, &args),
        Command::Start(args) => start::run(global, &args),
        Command::Stop(args) => stop::run(global, &args),
        Command::Restart(args) => restart::run(global, &args),
        Command::Reload(args) => reload::run(global, &args),
        Command::Scale(args) => scale::run(global, &args),
        Command::Logs(args) => logs::run(global, &args),
        Command::Monit(args) => monit::run(global, &args),
        Command::Signal(args) => signal::run(global, &args),
        Command::Delete(args) => delete::run(global, &args),
        Command::Import(args) => import::run(global, &args),
        Command::Completions(args) => completions::run(args.shell),
        Command::Complete(args) => completions::words(global, args.what),
        Command::Man(args) => man::run(&args.out),
        Command::Watch(args) => watch::run(global, &args),
    }
}

/// The unit directory the global options point at.
pub fn unit_dir(global: &Global) -> UnitDir {
    UnitDir::new(
        global
            .unit_dir
            .clone()
            .unwrap_or_else(|| unit_dir::default_dir(global.user)),
    )
}

/// The installed apps that `name` (every one with `None`) names under `namespace`; see
/// [`crate::selector::select`] for `all_needs_ns`.
pub fn selected(
    global: &Global,
    name: Option<&str>,
    namespace: &Option<String>,
    all_needs_ns: bool,
) -> Result<Vec<crate::selector::Selected>, Failure> {
    crate::selector::select(&unit_dir(global), name, namespace.as_deref(), all_needs_ns)
        .map_err(Failure::usage)
}

/// The systemd instance the global options point at, waited for at most `limit`.
pub fn connect(
    global: &Global,
    limit: std::time::Duration,
) -> Result<crate::adapters::systemd::Systemd, Failure> {
    use crate::adapters::systemd::{block_on, Systemd};
    Ok(block_on(Systemd::connect_within(global.user, limit))?)
}

/// The compile scope the global options ask for.
pub fn scope(global: &Global) -> crate::core::compile::Scope {
    if global.user {
        crate::core::compile::Scope::User
    } else {
        crate::core::compile::Scope::System
    }
}

/// Where the units go and what they refer to, as the global options say.
pub fn target(global: &Global) -> crate::core::compile::Target {
    target_for(global, &unit_dir(global).path)
}

/// The same, for units written into `dir`.
pub fn target_for(global: &Global, dir: &std::path::Path) -> crate::core::compile::Target {
    crate::core::compile::Target {
        scope: scope(global),
        env_dir: unit_dir::env_dir(dir, global.user),
        preload: crate::preload::path(global.user),
        exe: this_program(),
        unit_dir: (dir != unit_dir::default_dir(global.user))
            .then(|| std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())),
    }
}

/// This unitgen program, which an app's watcher runs: the packaged one when this is it or
/// when the running one cannot be told.
fn this_program() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| crate::core::compile::PACKAGED_EXE.into())
}

/// Read and resolve ecosystem files against this machine and its unit directory.
pub fn load(global: &Global, files: &[PathBuf]) -> Result<Vec<Namespace>, Failure> {
    resolve(global, &read_files(files, None)?)
}

/// Read ecosystem files, each once; `-` is standard input, taken as the file `stdin_as` names
/// (by default `stdin.toml` in the current directory).
pub fn read_files(
    files: &[PathBuf],
    stdin_as: Option<&std::path::Path>,
) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut texts = Vec::new();
    let mut diags = Diagnostics::default();
    let stdin_count = files.iter().filter(|f| f.as_os_str() == "-").count();
    if stdin_count > 1 {
        return Err(Failure::usage("`-` (standard input) can be given once"));
    }
    if stdin_as.is_some() && stdin_count == 0 {
        return Err(Failure::usage(
            "--as names the file read from standard input, and no FILE is `-`",
        ));
    }
    for f in files {
        let read = if f.as_os_str() == "-" {
            let name = stdin_as
                .map(std::path::Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("stdin.toml"));
            read_stdin(&name).map(|t| (name, t))
        } else {
            read_ecosystem_file(f).map(|t| (f.clone(), t))
        };
        match read {
            Ok(t) => texts.push(t),
            Err(d) => diags.0.extend(d.0),
        }
    }
    if !diags.is_empty() {
        return Err(Failure::Config(diags));
    }
    Ok(texts)
}

/// An ecosystem file from standard input, at most [`MAX_FILE_SIZE`] bytes of UTF-8.
fn read_stdin(name: &std::path::Path) -> Result<String, Diagnostics> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| config::unreadable(name, &e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(config::unusable(
            name,
            format!(
                "standard input holds more than {} MiB, which no ecosystem file needs",
                MAX_FILE_SIZE >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        config::unusable(
            name,
            format!(
                "standard input is not UTF-8 text (byte {} is not): an ecosystem file is TOML",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Resolve ecosystem files already read against this machine and its unit directory.
pub fn resolve(global: &Global, texts: &[(PathBuf, String)]) -> Result<Vec<Namespace>, Failure> {
    let env = unit_dir::EnvDir::new(target(global).env_dir);
    let claims = unit_dir(global).claims(&env).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the unit directory {}: {e}",
            unit_dir(global).path.display()
        )
    })?;
    let host = SystemHost::new(claims).for_manager(global.user);
    config::load_all(texts, &host).map_err(Failure::Config)
}

/// The most an ecosystem file may hold: far above any real one (a thousand apps take about
/// 200 KiB), far below what would exhaust memory.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Read one ecosystem file: a regular file (or a link to one) of at most [`MAX_FILE_SIZE`]
/// bytes, in UTF-8. A directory, a FIFO, a device or a socket is named as what it is, and
/// never read: /dev/zero would never end, a FIFO would block.
pub fn read_ecosystem_file(path: &std::path::Path) -> Result<String, Diagnostics> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let not_a_file = |t: std::fs::FileType| {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO (named pipe)"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        config::unusable(
            path,
            format!(
                "{} is {what}, not an ecosystem file: give the path of a TOML file",
                path.display()
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| config::unreadable(path, &e))?;
    if !meta.is_file() {
        return Err(not_a_file(meta.file_type()));
    }
    // O_NONBLOCK: should the path become a FIFO after the check, opening it does not hang.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| config::unreadable(path, &e))?;
    let meta = file.metadata().map_err(|e| config::unreadable(path, &e))?;
    if !meta.is_file() {
        return Err(not_a_file(meta.file_type()));
    }
    let too_big = || {
        config::unusable(
            path,
            format!(
                "{} is larger than {} MiB, which no ecosystem file needs to be: is it the right file?",
                path.display(),
                MAX_FILE_SIZE >> 20
            ),
        )
    };
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| config::unreadable(path, &e))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        config::unusable(
            path,
            format!(
                "{} is not UTF-8 text (byte {} is not): an ecosystem file is TOML, which is UTF-8",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Run jobs on the units of the selected apps, wait for them, report, and fail with the last
/// log lines of any unit that did not reach its goal.
pub fn act(
    global: &Global,
    args: &crate::cli::TargetArgs,
    units: impl Fn(&crate::selector::Selected) -> Vec<(String, crate::adapters::systemd::Verb)>,
) -> Result<(), Failure> {
    let printer = global.printer();
    use crate::adapters::systemd::{block_on, Verb};
    let selected = selected(global, Some(&args.name), &args.namespace, true)?;
    let jobs: Vec<(String, Verb)> = selected.iter().flat_map(&units).collect();
    let sd = connect(global, std::time::Duration::from_secs(args.timeout))?;
    let results =
        block_on(sd.run_jobs_afresh(&jobs, std::time::Duration::from_secs(args.timeout)))?;
    let mut failures = Vec::new();
    for r in &results {
        if r.ok() {
            printer.line(format!("{} {}: {}", r.verb.as_str(), r.unit, r.result));
        } else {
            let logs = crate::adapters::journal::last_lines(
                std::slice::from_ref(&r.unit),
                10,
                global.user,
            );
            failures.push(Failure::Failed(
                Problem::new(format!("{} {}: job {}", r.verb.as_str(), r.unit, r.result))
                    .logs(&logs),
            ));
        }
    }
    Failure::all(failures)
}
