//! Several hosts, one file: `--host` against disposable systemds of their own, each reached by
//! the real `ssh` client and a real `sshd` (`sshd -i`, started inside the sandbox by an
//! ssh_config `ProxyCommand`: no network, nothing beyond this machine). unitgen runs here as
//! the controller, with a `ssh` in its PATH that reads the test's ssh_config.
//!
//! Hosts: `fleet-a` and `fleet-b` have unitgen in /usr/local/bin; `fleet-bare` has none;
//! `fleet-down` cannot be reached (its ProxyCommand fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use crate::harness::*;
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        one_file_rolls_across_two_hosts_under_load_and_stops_at_the_first_failure,
        unreachable_missing_and_old_hosts_are_said_and_change_nothing,
        logs_of_two_hosts_merge_in_time_order,
    ]
}

/// The hosts, booted once for the tests of this module.
struct Fleet {
    a: Sandbox,
    b: Sandbox,
    bare: Sandbox,
    /// Keys, configs and the `ssh` wrapper.
    dir: tempfile::TempDir,
}

static FLEET: OnceLock<Fleet> = OnceLock::new();
static BOOT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Power the hosts off (main() calls this after the tests).
pub fn teardown() {
    if let Some(f) = FLEET.get() {
        for sb in [&f.a, &f.b, &f.bare] {
            let _ = sb.down();
        }
    }
}

/// Install the OpenSSH client and server when this machine has them not.
fn need_openssh() {
    if Path::new("/usr/sbin/sshd").exists() && Path::new("/usr/bin/ssh").exists() {
        return;
    }
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client",
    ]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(600));
    assert!(
        out.status.success(),
        "installing openssh failed\n{}",
        describe(&out)
    );
}

fn sh_here(script: &str) -> String {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script]);
    let out = run_with_timeout(cmd, None, Duration::from_secs(60));
    assert!(out.status.success(), "{script}\n{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fleet() -> &'static Fleet {
    let _guard = BOOT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(f) = FLEET.get() {
        return f;
    }
    need_openssh();
    let dir = scratch_dir();
    let d = dir.path().display().to_string();
    let state = |name: &str| {
        PathBuf::from(format!(
            "/run/unitgen-sandbox-fleet-{}-{name}.pid",
            std::process::id()
        ))
    };
    let boot = |name: &str| {
        Sandbox::boot(&state(name), None).unwrap_or_else(|e| panic!("boot {name}: {e:#}"))
    };
    let (a, b, bare) = (boot("a"), boot("b"), boot("bare"));
    let unitgen = unitgen_bin().display().to_string();
    for sb in [&a, &b] {
        sb.sh_ok(&format!("ln -sf {unitgen} /usr/local/bin/unitgen"));
    }
    // No unitgen at all on this one, whatever this machine has installed.
    bare.sh_ok("for p in $(type -ap unitgen); do rm -f \"$p\"; done; ! command -v unitgen");
    sh_here(&format!(
        r#"set -e; cd {d}
        ssh-keygen -q -t ed25519 -N '' -C fleet-client -f client_key
        ssh-keygen -q -t ed25519 -N '' -C fleet-host -f host_key
        cp client_key.pub authorized_keys
        for h in fleet-a fleet-b fleet-bare; do echo "$h $(cut -d' ' -f1,2 host_key.pub)"; done > known_hosts
        cat > sshd_config <<EOF
HostKey {d}/host_key
AuthorizedKeysFile {d}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
LogLevel ERROR
EOF
        mkdir bin
        printf '#!/bin/sh\nexec /usr/bin/ssh -F {d}/ssh_config "$@"\n' > bin/ssh
        chmod +x bin/ssh"#
    ));
    let mut config = String::new();
    for (alias, sb) in [("fleet-a", &a), ("fleet-b", &b), ("fleet-bare", &bare)] {
        config.push_str(&format!(
            "Host {alias}\n  ProxyCommand env UNITGEN_SANDBOX_STATE={} {} exec sh -c 'mkdir -p /run/sshd && exec /usr/sbin/sshd -i -f {d}/sshd_config'\n",
            sb.state_file().display(),
            sandbox_script().display()
        ));
    }
    config.push_str(&format!(
        "Host fleet-down\n  ProxyCommand sh -c 'echo no route to fleet-down >&2; exit 1'\nHost fleet-*\n  User root\n  IdentityFile {d}/client_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n"
    ));
    std::fs::write(dir.path().join("ssh_config"), config).expect("write ssh_config");
    let _ = FLEET.set(Fleet { a, b, bare, dir });
    FLEET.get().expect("set")
}

impl Fleet {
    /// unitgen here, as the controller: its `ssh` reads the fleet's ssh_config.
    fn unitgen(&self, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(unitgen_bin());
        cmd.args(args)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        run_with_timeout(cmd, None, Duration::from_secs(300))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.unitgen(args);
        assert!(
            out.status.success(),
            "unitgen {args:?} failed\n{}",
            describe(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// An ecosystem file here (the scratch folder is the same path inside every host).
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write the ecosystem file");
        p.display().to_string()
    }
}

fn pids(sb: &Sandbox, ns: &str) -> Vec<serde_json::Value> {
    rows(sb, ns).iter().map(|r| r["pid"].clone()).collect()
}

/// Must-show: one file applied to two hosts; status over both; a change rolled host by host
/// under load on both with 0 failed requests; a change that fails on the first host stops the
/// rollout there, the second host untouched.
fn one_file_rolls_across_two_hosts_under_load_and_stops_at_the_first_failure(_: &Sandbox) {
    let f = fleet();
    let eco = |version: &str| {
        format!(
            "namespace = \"fl1\"\n[defaults]\nuser = \"root\"\n[apps.web]\ncommand = \"{d} --echo-env VERSION\"\ninstances = 2\nlisten = [3801]\nenv = {{ VERSION = \"{version}\" }}\n",
            d = demo()
        )
    };
    let file = f.file("fl1.toml", &eco("1"));
    let out = f.ok(&["apply", &file, "--host", "fleet-a", "--host", "fleet-b"]);
    for h in ["fleet-a", "fleet-b"] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{h}: "))
                && l.ends_with("fl1/web: started 2 (2 instances, as root)")),
            "{out}"
        );
    }
    for sb in [&f.a, &f.b] {
        wait_online(sb, "fl1", 2);
        assert!(sb
            .wait_http(3801, Duration::from_secs(10))
            .contains("\"VERSION\":\"1\""));
    }

    // status over both: every instance, with its host.
    let json: Vec<serde_json::Value> = serde_json::from_str(&f.ok(&[
        "status", "-n", "fl1", "--json", "--host", "fleet-a", "--host", "fleet-b",
    ]))
    .expect("status --json");
    let seen: Vec<(String, u64)> = json
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap().to_string(),
                r["instance"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("fleet-a".into(), 1),
            ("fleet-a".into(), 2),
            ("fleet-b".into(), 1),
            ("fleet-b".into(), 2)
        ],
        "{json:?}"
    );
    assert!(json.iter().all(|r| r["state"] == "online"), "{json:?}");
    let table = f.ok(&[
        "status", "-n", "fl1", "--host", "fleet-a", "--host", "fleet-b",
    ]);
    assert!(table.starts_with("HOST"), "{table}");
    assert_eq!(
        table.lines().filter(|l| l.starts_with("fleet-a")).count(),
        2,
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.starts_with("fleet-b")).count(),
        2,
        "{table}"
    );

    // plan shows each host's diff before anything changes.
    f.file("fl1.toml", &eco("2"));
    let plan = f.ok(&["plan", &file, "--host", "fleet-a", "--host", "fleet-b"]);
    assert!(
        plan.contains("== fleet-a") && plan.contains("== fleet-b"),
        "{plan}"
    );
    assert!(pids(&f.a, "fl1").iter().all(|p| !p.is_null()));

    // A config change, rolled host by host, under load on both hosts' ports.
    let before_a = pids(&f.a, "fl1");
    let mut applied = None;
    let load_a = f.a.under_load(3801, false, || {
        let load_b = f.b.under_load(3801, false, || {
            applied = Some(f.unitgen(&["apply", &file, "--host", "fleet-a", "--host", "fleet-b"]));
        });
        eprintln!("fleet-b under a rolling apply: {load_b}");
        assert_eq!(load_b["failed"], 0, "failed requests on fleet-b: {load_b}");
        assert!(load_b["requests"].as_u64().unwrap() > 100, "{load_b}");
    });
    eprintln!("fleet-a under a rolling apply: {load_a}");
    assert_eq!(load_a["failed"], 0, "failed requests on fleet-a: {load_a}");
    assert!(load_a["requests"].as_u64().unwrap() > 100, "{load_a}");
    let applied = applied.unwrap();
    assert!(applied.status.success(), "{}", describe(&applied));
    assert_ne!(pids(&f.a, "fl1"), before_a, "fleet-a was not restarted");
    for sb in [&f.a, &f.b] {
        assert!(sb
            .wait_http(3801, Duration::from_secs(10))
            .contains("\"VERSION\":\"2\""));
    }

    // A change whose app cannot start: fleet-a fails, the rollout stops, fleet-b is untouched.
    let unit = "/etc/systemd/system/fl1-web@.service";
    let b_unit = f.b.read(unit);
    let b_pids = pids(&f.b, "fl1");
    f.file(
        "fl1.toml",
        &format!(
            "namespace = \"fl1\"\n[defaults]\nuser = \"root\"\n[apps.web]\ncommand = \"{d} --stderr-line 'the new code is broken' --exit-at-start\"\ninstances = 2\nlisten = [3801]\nenv = {{ VERSION = \"3\" }}\n",
            d = demo()
        ),
    );
    let out = f.unitgen(&["apply", &file, "--host", "fleet-a", "--host", "fleet-b"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        err.contains("error: fleet-a: fl1/web:"),
        "which host and app: {err}"
    );
    assert!(
        err.contains("the new code is broken"),
        "its last log lines: {err}"
    );
    assert!(
        err.contains("the rollout stopped at fleet-a") && err.contains("fleet-b"),
        "{err}"
    );
    assert_eq!(f.b.read(unit), b_unit, "fleet-b's unit changed");
    assert_eq!(
        pids(&f.b, "fl1"),
        b_pids,
        "fleet-b's instances were touched"
    );
    assert!(f
        .b
        .wait_http(3801, Duration::from_secs(5))
        .contains("\"VERSION\":\"2\""));

    f.ok(&[
        "delete", "all", "-n", "fl1", "--host", "fleet-a", "--host", "fleet-b",
    ]);
    for sb in [&f.a, &f.b] {
        assert_eq!(sb.unit_state("fl1-web@1.service"), "inactive");
    }
}

/// An unreachable host, a host without unitgen and one with an old unitgen: each said as
/// such, exit 3, and nothing changed on the good host; `--skip-unreachable` goes on without.
fn unreachable_missing_and_old_hosts_are_said_and_change_nothing(_: &Sandbox) {
    let f = fleet();
    let file = f.file(
        "fl2.toml",
        &format!(
            "namespace = \"fl2\"\n[defaults]\nuser = \"root\"\n[apps.web]\ncommand = \"{} --port 3802\"\n",
            demo()
        ),
    );
    let installed = |sb: &Sandbox| {
        sb.exec(&["test", "-e", "/etc/systemd/system/fl2-web@.service"])
            .status
            .success()
    };

    let out = f.unitgen(&["apply", &file, "--host", "fleet-a", "--host", "fleet-down"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(err.contains("fleet-down: unreachable"), "{err}");
    assert!(err.contains("nothing was changed on any host"), "{err}");
    assert!(
        !installed(&f.a),
        "fleet-a changed although a host was unreachable"
    );

    let out = f.unitgen(&["apply", &file, "--host", "fleet-a", "--host", "fleet-bare"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        err.contains("fleet-bare: unitgen is not installed there"),
        "{err}"
    );
    assert!(!installed(&f.a));

    // An old unitgen on fleet-bare, for this part only.
    f.bare.sh_ok("printf '#!/bin/sh\\necho unitgen 0.0.9\\n' > /usr/local/bin/unitgen; chmod +x /usr/local/bin/unitgen");
    let out = f.unitgen(&["status", "--host", "fleet-bare"]);
    f.bare.sh_ok("rm -f /usr/local/bin/unitgen");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        err.contains("fleet-bare: unitgen there is too old (0.0.9)"),
        "{err}"
    );

    // status: the host that answers is shown, the other said unreachable, never "no apps".
    f.ok(&["apply", &file, "--host", "fleet-a"]);
    let out = f.unitgen(&[
        "status",
        "-n",
        "fl2",
        "--host",
        "fleet-a",
        "--host",
        "fleet-down",
    ]);
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(so.contains("fleet-a") && so.contains("web"), "{so}");
    assert!(!so.contains("fleet-down"), "{so}");
    assert!(se.contains("fleet-down: unreachable"), "{se}");

    // Asked to: go on without the unreachable host; the exit status still says so.
    let out = f.unitgen(&[
        "restart",
        "web",
        "-n",
        "fl2",
        "--host",
        "fleet-down",
        "--host",
        "fleet-a",
        "--skip-unreachable",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("fleet-a: restart fl2-web@1.service"),
        "{}",
        describe(&out)
    );
    f.ok(&["delete", "all", "-n", "fl2", "--host", "fleet-a"]);
}

/// `logs --host a --host b --nostream`: both hosts' lines, in time order, with their host.
fn logs_of_two_hosts_merge_in_time_order(_: &Sandbox) {
    let f = fleet();
    // Both hosts tick at the same instants, one a second from 6 s from now, so that their
    // lines interleave in time however long each host takes to start the app.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 6;
    let file = f.file(
        "fl3.toml",
        &format!(
            "namespace = \"fl3\"\n[defaults]\nuser = \"root\"\n[apps.tick]\ncommand = [\"/bin/sh\", \"-c\", \"for i in 1 2 3 4 5; do while [ $(date +%s) -lt $(({start} + i)) ]; do sleep 0.05; done; echo tick $i; done; exec sleep 600\"]\n"
        ),
    );
    f.ok(&[
        "apply",
        &file,
        "--host",
        "fleet-a",
        "--host",
        "fleet-b",
        "--parallel",
        "2",
    ]);
    let args = [
        "logs",
        "tick",
        "-n",
        "fl3",
        "--nostream",
        "--lines",
        "50",
        "--host",
        "fleet-a",
        "--host",
        "fleet-b",
    ];
    let mut text = String::new();
    wait_until(Duration::from_secs(40), "5 ticks from each host", || {
        text = f.ok(&args);
        text.matches("tick 5").count() == 2
    });
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("fleet-a ") || l.starts_with("fleet-b ")),
        "{text}"
    );
    for h in ["fleet-a", "fleet-b"] {
        for i in 1..=5 {
            let want = format!("fl3/tick@1 | tick {i}");
            assert!(
                lines.iter().any(|l| l.starts_with(h) && l.ends_with(&want)),
                "no {want:?} from {h}:\n{text}"
            );
        }
    }
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json = f.ok(&json_args);
    let entries: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let times: Vec<u64> = entries
        .iter()
        .map(|e| e["__REALTIME_TIMESTAMP"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not in time order: {times:?}"
    );
    assert!(entries.iter().any(|e| e["host"] == "fleet-a"));
    assert!(entries.iter().any(|e| e["host"] == "fleet-b"));
    // Merged, not one host after the other: the hosts ticked at the same time.
    let hosts: Vec<&str> = entries
        .iter()
        .map(|e| e["host"].as_str().unwrap())
        .collect();
    assert!(
        hosts.windows(2).filter(|w| w[0] != w[1]).count() >= 3,
        "{hosts:?}"
    );
    f.ok(&[
        "delete", "all", "-n", "fl3", "--host", "fleet-a", "--host", "fleet-b",
    ]);
}
