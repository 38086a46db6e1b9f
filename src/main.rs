//! The `unitgen` binary: parse the arguments, run one command, map the outcome to an exit code.

use clap::Parser;

fn main() {
    // Like other Unix tools: a closed pipe (`unitgen status | head`) ends the program quietly.
    // SAFETY: setting a signal to its default disposition, before any other thread exists.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let cli = unitgen::cli::Cli::parse();
    let level = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("UNITGEN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    if let Err(e) = unitgen::commands::run(cli) {
        eprintln!("{e}");
        std::process::exit(e.exit_code());
    }
}
