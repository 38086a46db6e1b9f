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

    /// The printer of a command's report (colour when standard output is a terminal).
    pub fn printer(&self) -> crate::printer::Printer {
        use std::io::IsTerminal;
        crate::printer::Printer::new(self.quiet, self.colored(std::io::stdout().is_terminal()))
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
    /// Show what `apply` would change: units added, changed (with a diff) or removed; with
    /// `--host`, on each host.
    #[command(after_help = EXIT_STATUS)]
    Plan(PlanArgs),
    /// Make systemd run exactly what the files say: write changed units, reload once, start
    /// or restart what changed, stop and remove what the files no longer name. With `--host`
    /// (or `hosts` in the file), on each host over ssh, one host after the other.
    #[command(after_help = EXIT_STATUS)]
    Apply(ApplyArgs),
    /// One row per instance (ns/app@N): pid, user, state, CPU %, memory, uptime, restarts,
    /// listen; a summary line per namespace. Takes at least 100 ms: CPU % is measured over it.
    #[command(visible_aliases = ["ls", "list"], long_about = crate::status::LONG_HELP)]
    #[command(after_help = EXIT_STATUS)]
    Status(StatusArgs),
    /// One app in depth: for a failing app the reason of its last exit (OOM kill, signal, exit
    /// code) and its last error line first; its command line as systemd runs it, cwd, user,
    /// unit file and drop-ins, socket, timer, limits, environment (values of names with SECRET,
    /// TOKEN, PASSWORD, KEY … masked), each instance's CPU %, memory, restarts and last exit,
    /// and its last log lines (errors first when it fails).
    #[command(visible_alias = "describe")]
    Show(TargetArgs),
    /// Start an app (every instance and its socket), or `all` apps of a namespace.
    #[command(after_help = EXIT_STATUS)]
    Start(TargetArgs),
    /// Stop an app (every instance and its socket), or `all` apps of a namespace.
    #[command(after_help = EXIT_STATUS)]
    Stop(TargetArgs),
    /// Restart an app's instances, all at once (see `reload` for one at a time).
    #[command(after_help = EXIT_STATUS)]
    Restart(TargetArgs),
    /// Rolling restart: one instance at a time, the next only when the last is ready again;
    /// with `listen`, no connection is refused while it runs.
    #[command(after_help = EXIT_STATUS)]
    Reload(ReloadArgs),
    /// Change the number of instances of an app: applies the ecosystem file its units came from
    /// with the new count (refused while that file has edits not yet applied); the next `apply`
    /// resets it to the file.
    Scale(ScaleArgs),
    /// Show an app's logs from the journal, merged across instances.
    #[command(after_help = EXIT_STATUS)]
    Logs(LogsArgs),
    /// A live view of every instance (state, CPU %, memory, restarts, uptime) and the selected
    /// app's logs, with keys to restart, reload, stop and start it (PM2's monit).
    #[command(long_about = crate::monit::LONG_HELP)]
    Monit(MonitArgs),
    /// Send a signal to the main process of every instance of an app.
    Signal(SignalArgs),
    /// Stop and remove an app's units, or with `all` the whole namespace.
    #[command(after_help = EXIT_STATUS)]
    Delete(TargetArgs),
    /// Turn a PM2 ecosystem file (.js, .cjs, .mjs, .json, .yaml) into unitgen TOML.
    #[command(long_about = crate::core::import::LONG_HELP)]
    Import(ImportArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Write the man pages into a directory (used by packaging).
    #[command(name = "__man", hide = true)]
    Man(ManArgs),
    /// Watch an app's files and restart it when they change (run by its watcher unit,
    /// NS-APP-watch.service, which `watch` in the ecosystem file makes).
    #[command(name = "__watch", hide = true)]
    Watch(WatchArgs),
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

/// `__watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The app, as NS/APP.
    pub app: String,
    /// The app's working directory (patterns with `/` are taken from it).
    #[arg(long, value_name = "DIR")]
    pub cwd: PathBuf,
    /// How long changes must have settled before the restart (`watch_delay`).
    #[arg(long, value_name = "DURATION", value_parser = watch_delay)]
    pub delay: std::time::Duration,
    /// A glob pattern of changes to ignore (`ignore_watch`), repeated.
    #[arg(long, value_name = "PATTERN")]
    pub ignore: Vec<String>,
    /// What to watch, recursively.
    #[arg(required = true, last = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

fn watch_delay(s: &str) -> Result<std::time::Duration, String> {
    crate::core::config::Duration::parse(s)
        .map(|d| std::time::Duration::from_millis(d.0))
        .map_err(|(e, _)| format!("expected {e}"))
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
    /// The files, and where they go.
    #[command(flatten)]
    pub input: FileArgs,
    /// Print what was done as JSON, for scripts (and for `--host`, which runs this remotely).
    #[arg(long)]
    pub json: bool,
    /// How the rollout across hosts goes.
    #[command(flatten)]
    pub rollout: RolloutArgs,
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

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The files, and where they go.
    #[command(flatten)]
    pub input: FileArgs,
}

/// The ecosystem files of `apply` and `plan`, and the hosts they go to.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Ecosystem files (TOML), one namespace each; `-` reads one from standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// With FILE `-`: the path the file stands for (diagnostics name it; relative paths in it
    /// start from its directory) [default: stdin.toml in the current directory].
    #[arg(long = "as", value_name = "PATH")]
    pub stdin_as: Option<PathBuf>,
    /// Run on this machine, even if the file lists `hosts`.
    #[arg(long, conflicts_with = "hosts")]
    pub local: bool,
    /// The hosts.
    #[command(flatten)]
    pub remote: HostArgs,
}

/// Where a command runs: this machine, or other machines over ssh.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// Run on HOST over ssh instead of here (repeat for several, in rollout order): a name,
    /// `user@name` or an alias of ~/.ssh/config. `ssh` from PATH runs `unitgen` there (install
    /// the .deb on each host); the output says which host each line is from.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The command that runs unitgen on the hosts, as their shell reads it, such as
    /// "sudo -n unitgen" or "/usr/local/bin/unitgen".
    #[arg(long, value_name = "CMD", default_value = "unitgen")]
    pub remote_command: String,
}

/// How a change rolls across hosts.
#[derive(Debug, Clone, Args)]
pub struct RolloutArgs {
    /// How many hosts change at once (Kamal's boot limit); the next batch starts when every
    /// host of this one has converged, and none does after a failure.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub parallel: u64,
    /// How long to wait between batches, in seconds (0 to 3600).
    #[arg(long, value_name = "SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub pause: u64,
    /// Go on without hosts that cannot be reached or run no usable unitgen (the exit status is
    /// still 3); by default such a host stops everything before anything changes.
    #[arg(long)]
    pub skip_unreachable: bool,
}

/// Exit statuses, in the help and man pages of the commands that take `--host`.
pub const EXIT_STATUS: &str = "Exit status: 0 done; 1 a unit did not reach its wanted state (on \
a host, which stopped the rollout there: the hosts after it were left as they were); 2 bad usage \
or bad config, on this machine or on a host (nothing changed); 3 a host could not be reached by \
ssh, or unitgen there is missing or too old (nothing changed, unless --skip-unreachable).";

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
    /// The hosts.
    #[command(flatten)]
    pub remote: HostArgs,
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
    /// The hosts.
    #[command(flatten)]
    pub remote: HostArgs,
    /// How the command rolls across hosts.
    #[command(flatten)]
    pub rollout: RolloutArgs,
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
    /// The hosts.
    #[command(flatten)]
    pub remote: HostArgs,
    /// How the reload rolls across hosts (then instance by instance within each).
    #[command(flatten)]
    pub rollout: RolloutArgs,
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
    /// How long new instances must stay up after they are ready to count as started, in ms
    /// (0 to 3600000), as for `apply`.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = settle_ms())]
    pub settle: u64,
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
    /// One JSON object per line (journalctl's export as JSON; with `--host`, a "host" field).
    #[arg(long)]
    pub json: bool,
    /// The hosts: their lines merged in time order, each prefixed with its host.
    #[command(flatten)]
    pub remote: HostArgs,
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
    /// Who runs the apps (`user` in `[defaults]`): an account, "dynamic" or "root". Default: the
    /// owner of the PM2 file, unless that is root (PM2 ran apps as the user who ran it).
    #[arg(long, value_name = "USER")]
    pub run_as: Option<String>,
}
