//! A disposable systemd for integration tests, driven through `tests/sandbox/sandbox`.
//!
//! One sandbox is booted for the whole test binary (see `main.rs`) and shared by every test, which
//! gets it as `&Sandbox`. Tests run in parallel: give units, ports and files unique names.
//! Commands run inside all of the sandbox's namespaces, as root, with the project root as cwd; the
//! project root (and so `target/`, where `unitgen` and `demo_server` are built) is bound at the same
//! path, so binaries and files under it are visible inside and outside alike (see [`scratch_dir`]).
#![allow(dead_code)] // a toolbox: not every test module uses every helper

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a command run inside may take before it is killed and the test fails.
pub const EXEC_TIMEOUT: Duration = Duration::from_secs(120);

/// The folder holding Cargo.toml.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/sandbox/sandbox`, the script that boots and enters sandboxes.
pub fn sandbox_script() -> PathBuf {
    project_root().join("tests/sandbox/sandbox")
}

/// The built `unitgen` binary (cargo builds it for integration tests).
pub fn unitgen_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_unitgen"))
}

/// unitgen where every user of the sandbox can run it, wherever the checkout is (a home of mode
/// 0700 hides its target/): a copy inside the sandbox, made once.
pub fn unitgen_for_users(sb: &Sandbox) -> &'static str {
    static COPIED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    const PATH: &str = "/usr/local/libexec/unitgen-test/unitgen";
    COPIED.get_or_init(|| {
        sb.sh_ok(&format!(
            "install -D -m 755 {} {PATH}",
            unitgen_bin().display()
        ));
    });
    PATH
}

/// The profile folder this test binary was built into (`target/debug`, `target/release`, ...).
pub fn profile_dir() -> PathBuf {
    // <profile dir>/deps/systemd-<hash>
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project_root().join("target/debug"))
}

/// The cargo target folder (honours CARGO_TARGET_DIR and build.target-dir, since it is derived from
/// where this binary was built; with `--target TRIPLE` it is the triple's folder).
pub fn target_dir() -> PathBuf {
    profile_dir()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| project_root().join("target"))
}

/// The `demo_server` example, built next to this test binary (main() makes sure it is built).
pub fn demo_server_bin() -> PathBuf {
    profile_dir().join("examples/demo_server")
}

/// Builds `demo_server` with the profile of this test binary. `cargo test --test systemd` only
/// builds the test target and the `unitgen` binary, not examples, so main() calls this before
/// booting. Cargo releases its build lock before running tests, so the nested build does not block.
pub fn build_demo_server() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project_root()).args([
        "build",
        "--quiet",
        "--locked",
        "--example",
        "demo_server",
        "--example",
        "loadgen",
    ]);
    match profile_dir().file_name().and_then(OsStr::to_str) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    // build where this binary was built
    cmd.env("CARGO_TARGET_DIR", target_dir());
    let status = cmd
        .status()
        .context("running cargo build --example demo_server")?;
    let bin = demo_server_bin();
    if !status.success() {
        if bin.exists() {
            eprintln!(
                "warning: cargo build --example demo_server failed; using the existing {}",
                bin.display()
            );
            return Ok(bin);
        }
        bail!("cargo build --example demo_server failed ({status})");
    }
    if !bin.exists() {
        bail!(
            "cargo build --example demo_server did not produce {}",
            bin.display()
        );
    }
    Ok(bin)
}

/// A fresh folder under the target folder, visible at the same path inside every sandbox (the
/// target folder is bound). Removed when dropped.
pub fn scratch_dir() -> tempfile::TempDir {
    let base = target_dir().join("systemd-tests");
    std::fs::create_dir_all(&base).expect("create target/systemd-tests");
    tempfile::Builder::new()
        .prefix("t.")
        .tempdir_in(base)
        .expect("create a scratch folder")
}

/// Calls `cond` every 50 ms until it returns true; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if cond() {
            return;
        }
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// stdout + stderr + status of a command, for failure messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd` with `stdin` as input; kills its whole process group and panics after `timeout`.
pub fn run_with_timeout(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let shown = format!("{cmd:?}");
    let ran = unitgen::adapters::process::run(cmd, stdin, timeout, u64::MAX)
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let Some(status) = ran.status else {
        panic!(
            "timed out after {timeout:?}: {shown}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&ran.stderr)
        );
    };
    Output {
        status,
        stdout: ran.stdout,
        stderr: ran.stderr,
    }
}

/// A running sandbox. Dropping it (or [`Sandbox::down`]) powers it off.
pub struct Sandbox {
    state: PathBuf,
    upper: Option<PathBuf>,
    pid: u32,
    boot_time: Duration,
    is_down: AtomicBool,
}

impl Sandbox {
    /// Boots a sandbox whose state file is `state` (any sandbox already using that state file is
    /// powered off first). `upper`: keep the sandbox's writes in that folder (not under /tmp) so a
    /// later boot with the same `upper` is a reboot.
    pub fn boot(state: &Path, upper: Option<&Path>) -> Result<Sandbox> {
        let mut down = Self::script(state, upper);
        down.arg("down");
        let out = run_with_timeout(down, None, Duration::from_secs(60));
        if !out.status.success() {
            bail!(
                "cleaning a stale sandbox ({}) failed:\n{}",
                state.display(),
                describe(&out)
            );
        }
        let mut up = Self::script(state, upper);
        up.arg("up");
        let target = target_dir();
        if !target.starts_with(project_root()) {
            up.arg("--bind").arg(&target);
        }
        let start = Instant::now();
        let out = run_with_timeout(up, None, Duration::from_secs(120));
        let boot_time = start.elapsed();
        if !out.status.success() {
            bail!(
                "booting a sandbox ({}) failed:\n{}",
                state.display(),
                describe(&out)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let pid: u32 = stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .with_context(|| format!("sandbox up printed no PID:\n{}", describe(&out)))?;
        let sb = Sandbox {
            state: state.to_path_buf(),
            upper: upper.map(Path::to_path_buf),
            pid,
            boot_time,
            is_down: AtomicBool::new(false),
        };
        sb.spawn_watchdog();
        Ok(sb)
    }

    fn script(state: &Path, upper: Option<&Path>) -> Command {
        let mut cmd = Command::new(sandbox_script());
        cmd.current_dir(project_root())
            .env("UNITGEN_SANDBOX_STATE", state);
        match upper {
            Some(u) => cmd.env("SANDBOX_UPPER", u),
            None => cmd.env_remove("SANDBOX_UPPER"),
        };
        cmd
    }

    fn cmd(&self) -> Command {
        Self::script(&self.state, self.upper.as_deref())
    }

    /// Powers the sandbox off if this process dies without doing it (Ctrl-C, a crash, SIGKILL).
    fn spawn_watchdog(&self) {
        let script = r#"
            owner=$1 sbpid=$2; shift 2
            while kill -0 "$owner" 2>/dev/null && [ "$(cat "$UNITGEN_SANDBOX_STATE" 2>/dev/null)" = "$sbpid" ]; do
              sleep 0.5
            done
            [ "$(cat "$UNITGEN_SANDBOX_STATE" 2>/dev/null)" = "$sbpid" ] && exec "$@" down
            exit 0"#;
        let mut sh = Command::new("sh");
        sh.args(["-c", script, "watchdog"])
            .arg(std::process::id().to_string())
            .arg(self.pid.to_string())
            .arg(sandbox_script())
            .env("UNITGEN_SANDBOX_STATE", &self.state)
            .current_dir(project_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0); // not killed by the terminal's Ctrl-C
        if let Ok(mut child) = sh.spawn() {
            // reap it in the background so it does not linger as a zombie
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }

    /// Powers off and waits. Idempotent.
    pub fn down(&self) -> Result<()> {
        if self.is_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let mut cmd = self.cmd();
        cmd.arg("down");
        let out = run_with_timeout(cmd, None, Duration::from_secs(60));
        if !out.status.success() {
            bail!("sandbox down failed:\n{}", describe(&out));
        }
        Ok(())
    }

    /// The sandbox's PID 1 as seen from outside.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How long `up` took, until `systemctl is-system-running` said running/degraded.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    pub fn state_file(&self) -> &Path {
        &self.state
    }

    /// A D-Bus address for the sandbox's system bus, usable from OUTSIDE the sandbox
    /// (`unix:path=/proc/PID/root/run/dbus/system_bus_socket`).
    pub fn bus_address(&self) -> String {
        format!(
            "unix:path=/proc/{}/root/run/dbus/system_bus_socket",
            self.pid
        )
    }

    /// Runs `argv` inside the sandbox (all namespaces, cwd = project root); never panics on a
    /// non-zero exit, only when it takes longer than [`EXEC_TIMEOUT`].
    pub fn exec<S: AsRef<OsStr>>(&self, argv: &[S]) -> Output {
        self.exec_full(argv, None, EXEC_TIMEOUT)
    }

    /// [`Sandbox::exec`] with bytes on stdin and a timeout of your own.
    pub fn exec_full<S: AsRef<OsStr>>(
        &self,
        argv: &[S],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> Output {
        assert!(!argv.is_empty(), "exec needs a command");
        let mut cmd = self.cmd();
        cmd.arg("exec").args(argv);
        run_with_timeout(cmd, stdin, timeout)
    }

    /// Runs a bash script inside the sandbox (cwd = project root).
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["bash", "-c", script])
    }

    /// Like [`Sandbox::exec`] but panics (with stdout and stderr) unless it exits 0; returns stdout.
    pub fn ok<S: AsRef<OsStr>>(&self, argv: &[S]) -> String {
        let out = self.exec(argv);
        if !out.status.success() {
            let shown: Vec<_> = argv.iter().map(|a| a.as_ref().to_string_lossy()).collect();
            panic!("in the sandbox, {shown:?} failed\n{}", describe(&out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`Sandbox::sh`] but panics (with stdout and stderr) unless it exits 0; returns stdout.
    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        if !out.status.success() {
            panic!(
                "in the sandbox, script failed:\n{script}\n{}",
                describe(&out)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Writes `contents` to `path` inside the sandbox (creating parent folders), e.g. a unit file
    /// under /etc/systemd/system. Panics on failure.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let out = self.exec_full(
            &[
                "sh",
                "-c",
                r#"mkdir -p "$(dirname "$1")" && cat > "$1""#,
                "write",
                path,
            ],
            Some(contents.as_ref()),
            EXEC_TIMEOUT,
        );
        if !out.status.success() {
            panic!("writing {path} in the sandbox failed\n{}", describe(&out));
        }
    }

    /// Reads a file inside the sandbox. Panics if it cannot.
    pub fn read(&self, path: &str) -> String {
        self.ok(&["cat", path])
    }

    /// Runs the `unitgen` binary inside the sandbox with `args` (cwd = project root).
    pub fn unitgen<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut argv: Vec<std::ffi::OsString> = vec![unitgen_bin().into_os_string()];
        argv.extend(args.iter().map(|a| a.as_ref().to_os_string()));
        self.exec(&argv)
    }

    /// `systemctl is-active UNIT` (e.g. "active", "inactive", "failed", "activating").
    pub fn unit_state(&self, unit: &str) -> String {
        let out = self.exec(&["systemctl", "is-active", unit]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A unit property (`systemctl show -P NAME UNIT`).
    pub fn unit_property(&self, unit: &str, name: &str) -> String {
        self.ok(&["systemctl", "show", "-P", name, unit])
            .trim()
            .to_string()
    }

    /// Waits until `systemctl is-active UNIT` prints `state`.
    pub fn wait_unit_state(&self, unit: &str, state: &str, timeout: Duration) {
        let mut last = String::new();
        let start = Instant::now();
        while start.elapsed() < timeout {
            last = self.unit_state(unit);
            if last == state {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = self.exec(&["systemctl", "status", "--no-pager", "-n", "20", unit]);
        panic!(
            "timed out after {timeout:?} waiting for {unit} to be {state} (last: {last})\n{}",
            describe(&status)
        );
    }

    /// The journal of one unit (`journalctl -u UNIT -o cat`), after flushing pending lines.
    pub fn journal(&self, unit: &str) -> String {
        self.ok(&["journalctl", "--no-pager", "-o", "cat", "-u", unit])
    }

    /// `GET PATH` on 127.0.0.1:PORT from inside the sandbox (it has its own network namespace),
    /// with bash's /dev/tcp so no curl is needed. The whole response (status line, headers, body),
    /// or `None` if nothing answered within 5 s.
    pub fn http_get(&self, port: u16, path: &str) -> Option<String> {
        let script = r#"exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
            timeout 5 cat <&3"#;
        let out = self.exec_full(
            &["bash", "-c", script, "http_get", &port.to_string(), path],
            None,
            Duration::from_secs(10),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    }

    /// Waits until something answers HTTP on 127.0.0.1:PORT inside; returns the body of the answer.
    pub fn wait_http(&self, port: u16, timeout: Duration) -> String {
        let mut answer = None;
        wait_until(
            timeout,
            &format!("an HTTP answer on 127.0.0.1:{port} in the sandbox"),
            || {
                answer = self.http_get(port, "/");
                answer.is_some()
            },
        );
        let answer = answer.unwrap();
        match answer.split_once("\r\n\r\n") {
            Some((_, body)) => body.to_string(),
            None => answer,
        }
    }
}

impl Sandbox {
    /// Run the load generator (examples/loadgen: 8 connections, `Connection: close` or
    /// keep-alive) against 127.0.0.1:PORT inside the sandbox while `during` runs; return its JSON
    /// figures (requests, failed, kinds, p50_ms, p99_ms, max_ms).
    pub fn under_load(
        &self,
        port: u16,
        keepalive: bool,
        during: impl FnOnce(),
    ) -> serde_json::Value {
        let stop = format!("/tmp/loadgen-stop-{port}-{keepalive}");
        let out_file = format!("/tmp/loadgen-{port}-{keepalive}.json");
        let lg = demo_server_bin().with_file_name("loadgen");
        self.sh_ok(&format!(
            "rm -f {stop}; nohup {lg} --addr 127.0.0.1:{port} --connections 8 --duration-ms 180000 --stop-file {stop} {ka} > {out_file} 2>&1 &",
            lg = lg.display(),
            ka = if keepalive { "--keepalive" } else { "" }
        ));
        std::thread::sleep(Duration::from_millis(500));
        during();
        std::thread::sleep(Duration::from_millis(500));
        self.sh_ok(&format!("touch {stop}"));
        let mut text = String::new();
        wait_until(
            Duration::from_secs(20),
            "the load generator's figures",
            || {
                text = self.read(&out_file);
                text.contains("requests")
            },
        );
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Err(e) = self.down() {
            eprintln!("{e:#}");
        }
    }
}

/// One test: a name and a function that panics on failure.
pub struct Test {
    pub name: String,
    pub run: fn(&Sandbox),
}

impl Test {
    pub fn new(name: &str, run: fn(&Sandbox)) -> Test {
        // module_path!() starts with the crate name ("systemd::smoke")
        let name = name.strip_prefix("systemd::").unwrap_or(name);
        Test {
            name: name.to_string(),
            run,
        }
    }
}

/// `tests![a, b]` in a test module: a `Vec<Test>` named `module::a`, `module::b`.
#[macro_export]
macro_rules! tests {
    ($($f:ident),* $(,)?) => {
        vec![$($crate::harness::Test::new(concat!(module_path!(), "::", stringify!($f)), $f)),*]
    };
}

// ---- what most tests do

/// The demo_server example's path, for ecosystem files.
pub fn demo() -> String {
    demo_server_bin().to_str().expect("utf-8 path").to_string()
}

/// Write an ecosystem file inside the sandbox (under /srv/eco) and return its path.
pub fn eco(sb: &Sandbox, name: &str, text: &str) -> String {
    let path = format!("/srv/eco/{name}");
    sb.write(&path, text);
    path
}

/// `/srv/eco/NS.toml` for namespace `ns`, whose apps run as root unless they say otherwise,
/// with `apps` (TOML text) after that. Returns its path.
pub fn root_eco(sb: &Sandbox, ns: &str, apps: &str) -> String {
    let text = format!("namespace = \"{ns}\"\n[defaults]\nuser = \"root\"\n{apps}");
    eco(sb, &format!("{ns}.toml"), &text)
}

/// Run unitgen inside; panic unless it exits 0; return its stdout.
pub fn unitgen_ok(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.unitgen(args);
    assert!(
        out.status.success(),
        "unitgen {args:?} failed\n{}",
        describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `unitgen apply FILE`, which must succeed; its stdout.
pub fn apply(sb: &Sandbox, file: &str) -> String {
    unitgen_ok(sb, &["apply", file])
}

/// `unitgen status -n NS --json`: one JSON object per instance.
pub fn rows(sb: &Sandbox, ns: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&unitgen_ok(sb, &["status", "-n", ns, "--json"])).expect("json")
}

/// `unitgen status -n NS`'s table, and its line that starts with `start` (`ns/app@1 `, say).
pub fn status_line(sb: &Sandbox, ns: &str, start: &str) -> (String, String) {
    let table = unitgen_ok(sb, &["status", "-n", ns]);
    let line = table
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{table}"))
        .to_string();
    (table, line)
}

/// Wait until `count` instances of `ns` are online.
pub fn wait_online(sb: &Sandbox, ns: &str, count: usize) {
    wait_until(
        Duration::from_secs(30),
        &format!("{count} instances of {ns} online"),
        || {
            let r = rows(sb, ns);
            r.len() == count && r.iter().all(|r| r["state"] == "online")
        },
    );
}

// ---- output snapshots

/// What varies between runs of the same output, each replaced by a named placeholder (uv's
/// filtered snapshots, through insta's filters): the checkout's paths, PIDs and durations.
pub fn filters() -> Vec<(String, String)> {
    vec![
        (regex_escape(&demo()), "[DEMO]".into()),
        (regex_escape(env!("CARGO_MANIFEST_DIR")), "[REPO]".into()),
        (r"\bpid \d+( -> \d+)?".into(), "pid [PID]".into()),
        (r"\bPID \d+\b".into(), "PID [PID]".into()),
        (r"\b\d+\.\d+\s?(ms|s)\b".into(), "[TIME]".into()),
        // A checkout that the app's sandbox would hide is bound in (/tmp) or its home left
        // readable (/root): not elsewhere.
        (r"\n\s*\+BindReadOnlyPaths=[^\n]*".into(), String::new()),
        (
            r"ProtectHome=(yes|read-only)".into(),
            "ProtectHome=[HOME]".into(),
        ),
        (r"@@ -0,0 \+1,\d+ @@".into(), "@@ -0,0 +1,[LINES] @@".into()),
    ]
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// Snapshot a command's output with [`filters`], in `tests/systemd/snapshots/`.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $text:expr) => {{
        let filters = $crate::harness::filters();
        let filters: Vec<(&str, &str)> =
            filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true, filters => filters }, {
            insta::assert_snapshot!($name, $text);
        })
    }};
}
