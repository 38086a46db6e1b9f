//! The command line, as clap definitions. `build.rs`-free: the man pages and completions are
//! generated from these same definitions by `unitgen __man` and `unitgen completions`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A systemd-native process manager: your ecosystem file becomes ordinary systemd units.
#[derive(Debug, Parser)]
#[command(name = "unitgen", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Drive the calling user's systemd instead of the system one.
    #[arg(long, global = true)]
    pub user: bool,
    /// The unit directory [default: /etc/systemd/system, or ~/.config/systemd/user with --user].
    #[arg(long, global = true, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
    /// Print less.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more (repeat for more still).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colors.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

impl Global {
    /// Whether to color output going to a terminal (`tty`) or not.
    pub fn colored(&self, tty: bool) -> bool {
        match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// The range of `--timeout`: a day at most, so that no deadline computed from it overflows
/// (`--timeout 18446744073709551615` made apply, start and restart panic).
fn timeout_secs() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(1..=86_400)
}

/// The range of `--settle`: an hour at most, for the same reason.
fn settle_ms() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(0..=3_600_000)
}

/// When to color the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check ecosystem files: every error, with file, line, key and fix. Touches nothing.
    Validate(FilesArgs),
    /// Write the unit files of ecosystem files into a directory, for review or packaging.
    Render(RenderArgs),
    /// Show what `apply` would change: units added, changed (with a diff) or removed.
    Plan(FilesArgs),
    /// Make systemd run exactly what the files say: write changed units, reload once, start
    /// or restart what changed, stop and remove what the files no longer name.
    Apply(ApplyArgs),
    /// One row per instance (ns/app@N): pid, user, state, CPU %, memory, uptime, restarts,
    /// listen; a summary line per namespace. Takes at least 100 ms: CPU % is measured over it.
    #[command(visible_aliases = ["ls", "list"], long_about = crate::status::LONG_HELP)]
    Status(StatusArgs),
    /// One app in depth: for a failing app the reason of its last exit (OOM kill, signal, exit
    /// code) and its last error line first; its command line as systemd runs it, cwd, user,
    /// unit file and drop-ins, socket, timer, limits, environment (values of names with SECRET,
    /// TOKEN, PASSWORD, KEY … masked), each instance's CPU %, memory, restarts and last exit,
    /// and its last log lines (errors first when it fails).
    #[command(visible_alias = "describe")]
    Show(TargetArgs),
    /// Start an app (every instance and its socket), or `all` apps of a namespace.
    Start(TargetArgs),
    /// Stop an app (every instance and its socket), or `all` apps of a namespace.
    Stop(TargetArgs),
    /// Restart an app's instances, all at once (see `reload` for one at a time).
    Restart(TargetArgs),
    /// Rolling restart: one instance at a time, the next only when the last is ready again;
    /// with `listen`, no connection is refused while it runs.
    Reload(ReloadArgs),
    /// Change the number of instances of an app in place (the next `apply` resets it to the file).
    Scale(ScaleArgs),
    /// Show an app's logs from the journal, merged across instances.
    Logs(LogsArgs),
    /// A live view of every instance (state, CPU %, memory, restarts, uptime) and the selected
    /// app's logs, with keys to restart, reload, stop and start it (PM2's monit).
    #[command(long_about = crate::monit::LONG_HELP)]
    Monit(MonitArgs),
    /// Send a signal to the main process of every instance of an app.
    Signal(SignalArgs),
    /// Stop and remove an app's units, or with `all` the whole namespace.
    Delete(TargetArgs),
    /// Turn a PM2 ecosystem file (.js, .cjs, .mjs, .json, .yaml) into unitgen TOML.
    #[command(long_about = crate::import::LONG_HELP)]
    Import(ImportArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Write the man pages into a directory (used by packaging).
    #[command(name = "__man", hide = true)]
    Man(ManArgs),
    /// Words for the shell completions: the installed apps or namespaces, one a line.
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

/// `__complete`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// What to list.
    #[arg(value_enum)]
    pub what: CompleteWhat,
}

/// What `__complete` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompleteWhat {
    /// Installed apps: `app` where one namespace has it, and `ns/app` for every app.
    Apps,
    /// Installed namespaces.
    Namespaces,
}

/// One or more ecosystem files.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Ecosystem files (TOML), one namespace each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Ecosystem files (TOML), one namespace each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where to write the unit files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `__man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Where to write the pages.
    pub out: PathBuf,
}

/// `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Ecosystem files (TOML), one namespace each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only show what would be done (the same as `plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Write and reload, but start or restart nothing.
    #[arg(long)]
    pub no_start: bool,
    /// How long to wait for systemd's jobs, in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = timeout_secs())]
    pub timeout: u64,
    /// How long what started must stay up, as the same process, to count as started, in ms
    /// (PM2's min_uptime); 0 to not wait (at most 3600000).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = settle_ms())]
    pub settle: u64,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// An app (`api`, `prod/api`, `api@2`); all apps when left out.
    pub name: Option<String>,
    /// The namespace.
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// One JSON array of instances, for scripts (like `pm2 jlist`).
    #[arg(long)]
    pub json: bool,
}

/// Commands that act on an app or on `all`.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// An app (`api`, `prod/api`, `api@2`) or `all`.
    pub name: String,
    /// The namespace (needed when the name exists in several).
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// JSON output (`show` only).
    #[arg(long, hide = true)]
    pub json: bool,
    /// How long to wait for systemd's jobs, in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = timeout_secs())]
    pub timeout: u64,
}

/// `reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// An app (`api`, `prod/api`) or `all`.
    pub name: String,
    /// The namespace (needed when the name exists in several).
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// How long an instance must stay up after it is ready before the next one goes, in ms
    /// (0 to 3600000).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = settle_ms())]
    pub settle: u64,
    /// How long to wait for each instance, in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = timeout_secs())]
    pub timeout: u64,
}

/// `scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// An app (`api`, `prod/api`).
    pub name: String,
    /// The number of instances wanted.
    pub count: u32,
    /// The namespace.
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// How long to wait for systemd's jobs, in seconds (1 to 86400).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = timeout_secs())]
    pub timeout: u64,
}

/// `logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// An app (`api`, `prod/api`, `api@2`); every app when left out.
    pub name: Option<String>,
    /// The namespace.
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// How many lines to show first.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub lines: u32,
    /// Keep printing new lines (the default on a terminal).
    #[arg(short, long, conflicts_with = "nostream")]
    pub follow: bool,
    /// Print and exit (the default when not on a terminal).
    #[arg(long)]
    pub nostream: bool,
    /// Only what the apps wrote to standard error.
    #[arg(long)]
    pub err: bool,
    /// Only lines since this time (journalctl's --since: "10 min ago", "2026-11-22 10:00").
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// One JSON object per line (journalctl's export as JSON).
    #[arg(long)]
    pub json: bool,
}

/// `monit`.
#[derive(Debug, Args)]
pub struct MonitArgs {
    /// An app (`api`, `prod/api`, `api@2`); all apps when left out.
    pub name: Option<String>,
    /// The namespace.
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
}

/// `signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The signal, such as SIGUSR2 or HUP.
    pub signal: String,
    /// An app (`api`, `prod/api`, `api@2`).
    pub name: String,
    /// The namespace.
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
}

/// `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The PM2 ecosystem file: ecosystem.config.js, .cjs, .mjs, .json or .yaml.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Where to write the TOML [default: NAMESPACE.toml beside the PM2 file]; `-` for stdout;
    /// `DIR/` for one file per namespace in DIR.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Which PM2 `env_<NAME>` block to merge over `env` (as `pm2 start --env NAME`).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The namespace of the TOML file, when the PM2 file names none.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Who runs the apps (`user` in [defaults]): an account, "dynamic" or "root". Default: the
    /// owner of the PM2 file, unless that is root (PM2 ran apps as the user who ran it).
    #[arg(long, value_name = "USER")]
    pub run_as: Option<String>,
}
