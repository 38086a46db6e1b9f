//! Integration tests against a real, disposable systemd (`cargo test --test systemd`, as root).
//!
//! One sandbox (tests/sandbox/sandbox: systemd as PID 1 in fresh namespaces over an overlay of /)
//! is booted for the whole binary and shared by all tests, which run in parallel; it is always
//! powered off at the end, also when tests fail (and by a watchdog if this process is killed).
//! Not root: the tests are skipped with one loud line, or fail when $CI is set.
//!
//! Add a module: write `fn my_test(sb: &Sandbox)` functions that panic on failure, list them with
//! `pub fn tests() -> Vec<Test> { tests![my_test, ...] }`, and add the module to `all_tests()`.
//! Filter as usual: `cargo test --test systemd -- smoke::`.
//!
//! UNITGEN_SANDBOX_STATE overrides the state file of the shared sandbox
//! (default /run/unitgen-sandbox-test-PID.pid: one per test run, so that runs side by side do not
//! meet; distinct from a hand-booted tests/sandbox/sandbox).

mod controller;
mod converge;
mod features;
mod fleet;
mod harness;
mod log_limit;
mod messages;
mod monit;
mod outputs;
mod package;
mod smoke;
mod status;
mod trust;
mod unmodified;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use harness::{Sandbox, Test};
use libtest_mimic::{Arguments, Failed, Trial};

/// Every test of this binary.
fn all_tests() -> Vec<Test> {
    let mut all = Vec::new();
    all.extend(smoke::tests());
    all.extend(controller::tests());
    all.extend(converge::tests());
    all.extend(package::tests());
    all.extend(features::tests());
    all.extend(unmodified::tests());
    all.extend(trust::tests());
    all.extend(messages::tests());
    all.extend(monit::tests());
    all.extend(watch::tests());
    all.extend(log_limit::tests());
    all.extend(outputs::tests());
    all.extend(fleet::tests());
    all.extend(status::tests());
    all
}

/// The sandbox shared by all tests, booted by main().
static SANDBOX: OnceLock<Sandbox> = OnceLock::new();

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let trials: Vec<Trial> = all_tests()
        .into_iter()
        .map(|t| {
            let run = t.run;
            Trial::test(t.name, move || {
                let sb = SANDBOX
                    .get()
                    .ok_or_else(|| Failed::from("no sandbox was booted"))?;
                run(sb);
                Ok(())
            })
        })
        .collect();
    let will_run = !args.list
        && trials
            .iter()
            .any(|t| !args.is_filtered_out(t) && !args.is_ignored(t));
    if !will_run {
        return libtest_mimic::run(&args, trials).exit_code();
    }

    if !nix::unistd::geteuid().is_root() {
        let why = "they boot systemd in fresh namespaces, which takes CAP_SYS_ADMIN; \
                   run `sudo -E cargo test --test systemd`";
        if std::env::var_os("CI").is_some() {
            eprintln!("FAILED: systemd integration tests need root ({why}), and CI is set, so not running them is a failure");
            return ExitCode::from(1);
        }
        eprintln!("SKIPPED: systemd integration tests need root ({why})");
        return ExitCode::SUCCESS;
    }

    // `cargo test --test systemd` does not build examples
    if let Err(e) = harness::build_demo_server() {
        eprintln!("FAILED: cannot build the demo_server example: {e:#}");
        return ExitCode::from(1);
    }

    let state = std::env::var_os("UNITGEN_SANDBOX_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(format!(
                "/run/unitgen-sandbox-test-{}.pid",
                std::process::id()
            ))
        });
    let sb = match Sandbox::boot(&state, None) {
        Ok(sb) => sb,
        Err(e) => {
            eprintln!("FAILED: cannot boot the systemd sandbox: {e:#}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "systemd sandbox booted in {:.2} s (PID 1 is {} on the host, state {})",
        sb.boot_time().as_secs_f64(),
        sb.pid(),
        state.display()
    );
    let _ = SANDBOX.set(sb);

    let conclusion = libtest_mimic::run(&args, trials);
    fleet::teardown();

    if let Some(sb) = SANDBOX.get() {
        if let Err(e) = sb.down() {
            eprintln!("tearing the sandbox down failed: {e:#}");
            return ExitCode::from(1);
        }
    }
    conclusion.exit_code()
}
