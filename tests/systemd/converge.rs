//! `apply` as a deploy step nobody watches: it converges from whatever state an earlier run
//! left, stops nothing before its files are written, respects what admins decided, claims
//! ports atomically, cannot be blocked by other users, and tells the truth in its exit code.

use std::time::{Duration, Instant};

use crate::harness::{apply, demo, eco};
use crate::harness::{describe, wait_until, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        files_written_behind_apply_s_back_are_applied,
        apply_killed_at_any_point_converges_on_the_next_run,
        failed_writes_and_a_refused_reload_stop_nothing_and_the_next_apply_converges,
        masked_and_linked_units_are_refused_and_nothing_changes,
        a_forged_mark_is_stopped_before_its_file_is_removed,
        port_claims_are_atomic_across_namespaces,
        locks_are_out_of_other_users_reach_and_waits_are_bounded,
        an_app_that_crashes_at_start_fails_the_apply,
        removed_instances_leave_nothing_behind,
        secrets_are_readable_by_root_and_the_app_only,
        every_instance_gets_its_number_and_its_own_port,
        a_socket_failed_by_a_crash_loop_listens_again_on_the_next_apply,
    ]
}

/// A namespace of `apps` apps: the first `listen`s, the others bind a port of their own, all
/// echo `VERSION`.
fn versioned(ns: &str, port: u16, apps: u16, version: &str) -> String {
    let mut s = format!("namespace = \"{ns}\"\n");
    for i in 0..apps {
        let p = port + i;
        s.push_str(&format!(
            "[apps.a{i}]\ncommand = \"{demo} --echo-env VERSION\"\nuser = \"root\"\nenv = {{ VERSION = \"{version}\", PORT = \"{p}\" }}\n",
            demo = demo()
        ));
        if i == 0 {
            s.push_str(&format!("instances = 2\nlisten = [{p}]\n"));
        }
    }
    s
}

/// The main PID of every running instance of a namespace.
fn main_pids(sb: &Sandbox, ns: &str) -> Vec<(String, u32)> {
    let out = sb.sh_ok(&format!(
        "for u in $(systemctl list-units --no-legend --plain --state=active '{ns}-a*@*.service' | cut -d' ' -f1); do echo \"$u $(systemctl show -P MainPID $u)\"; done"
    ));
    let mut v: Vec<(String, u32)> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(u, p)| (u.to_string(), p.trim().parse().unwrap_or(0)))
        .collect();
    v.sort();
    v
}

/// Whether every instance of `ns` runs `version` (read from the process's own environment)
/// and systemd has read every file: the running configuration is the file's.
fn runs_version(sb: &Sandbox, ns: &str, instances: usize, version: &str) -> Result<(), String> {
    let pids = main_pids(sb, ns);
    if pids.len() != instances {
        return Err(format!(
            "{} instances run, want {instances}: {pids:?}",
            pids.len()
        ));
    }
    for (unit, pid) in &pids {
        let env = sb.sh_ok(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"));
        if !env.lines().any(|l| l == format!("VERSION={version}")) {
            return Err(format!("{unit} (pid {pid}) does not run VERSION={version}"));
        }
        if sb.unit_property(unit, "NeedDaemonReload") != "no" {
            return Err(format!("{unit} waits for a daemon-reload"));
        }
    }
    Ok(())
}

/// The issue's reproduction: the files are already right when apply runs, but systemd still
/// runs what it read before.
fn files_written_behind_apply_s_back_are_applied(sb: &Sandbox) {
    let v1 = eco(sb, "g1.toml", &versioned("g1", 3400, 2, "v1"));
    apply(sb, &v1);
    wait_until(Duration::from_secs(20), "g1 at v1", || {
        runs_version(sb, "g1", 3, "v1").is_ok()
    });
    let v2 = eco(sb, "g1.toml", &versioned("g1", 3400, 2, "v2"));
    let out = sb.unitgen(&["render", &v2, "--out", "/etc/systemd/system"]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan = String::from_utf8_lossy(&sb.unitgen(&["plan", &v2]).stdout).into_owned();
    // Until a daemon-reload systemd has not read the new file; after one (another test's
    // apply in this sandbox may do it) the instance runs an older version of its file.
    assert!(
        [
            "restart g1-a0@1.service (systemd has not read its unit file",
            "restart g1-a0@1.service (runs an older version of its unit file"
        ]
        .iter()
        .any(|want| plan.contains(want)),
        "plan does not say what apply will do:\n{plan}"
    );
    let out = apply(sb, &v2);
    assert!(out.contains("restarted 2"), "{out}");
    runs_version(sb, "g1", 3, "v2").unwrap();
    assert!(sb
        .wait_http(3400, Duration::from_secs(10))
        .contains("\"VERSION\":\"v2\""));
}

/// kill -9 at points spread over a whole apply, then one more apply: every time, the running
/// configuration is the file's, no temporary file is left, and another namespace is untouched.
fn apply_killed_at_any_point_converges_on_the_next_run(sb: &Sandbox) {
    let other = eco(sb, "g2other.toml", &versioned("g2other", 3410, 1, "x"));
    apply(sb, &other);
    let other_pids = main_pids(sb, "g2other");
    let first = eco(sb, "g2.toml", &versioned("g2", 3420, 4, "v0"));
    apply(sb, &first);
    let delays_ms = [0u64, 20, 50, 90, 140, 200, 300, 450, 650, 900];
    let mut converged = 0;
    for (round, delay) in delays_ms.iter().enumerate() {
        let version = format!("v{}", round + 1);
        let f = eco(sb, "g2.toml", &versioned("g2", 3420, 4, &version));
        // Start the apply, kill it after `delay`, then apply again.
        sb.sh_ok(&format!(
            "{ug} apply {f} >/dev/null 2>&1 & p=$!; sleep {s}; kill -9 $p 2>/dev/null; wait $p 2>/dev/null; true",
            ug = crate::harness::unitgen_bin().display(),
            s = *delay as f64 / 1000.0
        ));
        let out = sb.unitgen(&["apply", &f]);
        assert!(out.status.success(), "round {round}: {}", describe(&out));
        match runs_version(sb, "g2", 5, &version) {
            Ok(()) => converged += 1,
            Err(e) => panic!("round {round} (kill after {delay} ms) did not converge: {e}"),
        }
        let left = sb.sh_ok("ls -a /etc/systemd/system | grep -c '\\.unitgen-' || true");
        assert_eq!(left.trim(), "0", "temporary files left in round {round}");
    }
    eprintln!(
        "apply killed at {} points, then applied again: {converged} of {} converged",
        delays_ms.len(),
        delays_ms.len()
    );
    assert_eq!(
        main_pids(sb, "g2other"),
        other_pids,
        "another namespace was touched"
    );
}

/// In a systemd of its own (the unit directory is made read-only, full, and daemon-reload is
/// refused): a failed apply stops nothing, exits 1, and the next apply converges.
fn failed_writes_and_a_refused_reload_stop_nothing_and_the_next_apply_converges(_: &Sandbox) {
    let state = std::path::PathBuf::from(format!(
        "/run/unitgen-sandbox-test-faults-{}.pid",
        std::process::id()
    ));
    let sb = &Sandbox::boot(&state, None).expect("boot a sandbox for the faults");
    let with_gone = |version: &str| {
        format!(
            "{}[apps.gone]\ncommand = \"/usr/bin/sleep infinity\"\nuser = \"root\"\n",
            versioned("g3", 3430, 3, version)
        )
    };
    let v1 = eco(sb, "g3.toml", &with_gone("v1"));
    apply(sb, &v1);
    let gone_pid = sb.unit_property("g3-gone@1.service", "MainPID");
    let v2 = eco(sb, "g3.toml", &versioned("g3", 3430, 3, "v2"));

    // Read-only: nothing is written, nothing stops.
    sb.sh_ok("mount --bind /etc/systemd/system /etc/systemd/system && mount -o remount,bind,ro /etc/systemd/system");
    let out = sb.unitgen(&["apply", &v2]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{}",
        describe(&out)
    );
    assert_eq!(sb.unit_property("g3-gone@1.service", "MainPID"), gone_pid);
    runs_version(sb, "g3", 4, "v1").unwrap();
    sb.sh_ok("umount /etc/systemd/system");

    // Full: some files written, then ENOSPC; still nothing stops.
    sb.sh_ok(
        "cp -a /etc/systemd/system /run/sys-copy && mount -t tmpfs -o size=1M tmpfs /etc/systemd/system \
         && cp -a /run/sys-copy/. /etc/systemd/system/ \
         && (dd if=/dev/zero of=/etc/systemd/system/fill bs=1k 2>/dev/null || true) && rm -f /etc/systemd/system/fill2 \
         && truncate -s -3K /etc/systemd/system/fill",
    );
    let out = sb.unitgen(&["apply", &v2]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No space left"),
        "{}",
        describe(&out)
    );
    assert_eq!(sb.unit_property("g3-gone@1.service", "MainPID"), gone_pid);
    sb.sh_ok("rm /etc/systemd/system/fill");
    let out = apply(sb, &v2);
    assert!(out.contains("g3/gone: stopped and removed"), "{out}");
    runs_version(sb, "g3", 4, "v2").unwrap();

    // A refused daemon-reload: the files are written, apply exits 1; the next one converges.
    // (a unit file changes too: a change of environment files alone needs no reload)
    let v3 = eco(
        sb,
        "g3.toml",
        &versioned("g3", 3430, 3, "v3")
            .replace("[apps.a1]\n", "[apps.a1]\ndescription = \"three\"\n"),
    );
    sb.write(
        "/etc/dbus-1/system.d/zz-deny-reload.conf",
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><policy context="mandatory"><deny send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="Reload"/></policy></busconfig>
"#,
    );
    sb.sh_ok("systemctl reload dbus && sleep 0.5");
    let out = sb.unitgen(&["apply", &v3]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("reload its unit files"),
        "{}",
        describe(&out)
    );
    runs_version(sb, "g3", 4, "v2").unwrap_err();
    sb.sh_ok("rm /etc/dbus-1/system.d/zz-deny-reload.conf && systemctl reload dbus && sleep 0.5");
    let out = apply(sb, &v3);
    assert!(
        out.contains("0 unit files written") && out.contains("systemd reloaded"),
        "{out}"
    );
    runs_version(sb, "g3", 4, "v3").unwrap();

    // systemd itself stopped: every command gives up within its time limit.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sb.pid() as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .expect("stop systemd");
    let start = Instant::now();
    let out = sb.unitgen(&["apply", "--timeout", "3", &v3]);
    let apply_took = start.elapsed();
    let start = Instant::now();
    let status = sb.unitgen(&["status"]);
    let status_took = start.elapsed();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sb.pid() as i32),
        nix::sys::signal::Signal::SIGCONT,
    )
    .expect("continue systemd");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer within 3 s"),
        "{}",
        describe(&out)
    );
    assert!(
        apply_took < Duration::from_secs(15),
        "apply took {apply_took:?}"
    );
    assert!(!status.status.success(), "{}", describe(&status));
    assert!(
        status_took < Duration::from_secs(25),
        "status took {status_took:?}"
    );
    eprintln!(
        "with systemd stopped: apply --timeout 3 gave up after {:.1} s, status after {:.1} s",
        apply_took.as_secs_f64(),
        status_took.as_secs_f64()
    );
    sb.down().expect("power off");
}

/// `systemctl mask` of an instance and `systemctl link` of a unit name: refused, naming the
/// link and the fix, and nothing is written or started.
fn masked_and_linked_units_are_refused_and_nothing_changes(sb: &Sandbox) {
    sb.ok(&["systemctl", "mask", "g4-a0@2.service"]);
    let f = eco(sb, "g4.toml", &versioned("g4", 3440, 1, "v1"));
    let out = sb.unitgen(&["apply", &f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        err.contains("/etc/systemd/system/g4-a0@2.service is masked")
            && err.contains("systemctl unmask g4-a0@2.service"),
        "{err}"
    );
    assert!(!sb
        .exec(&["test", "-e", "/etc/systemd/system/unitgen-g4.target"])
        .status
        .success());
    assert_eq!(sb.unit_state("g4-a0@1.service"), "inactive");

    sb.write(
        "/srv/g4b/g4b-a0@.service",
        "[Service]\nExecStart=/usr/bin/sleep infinity\n",
    );
    sb.ok(&["systemctl", "link", "/srv/g4b/g4b-a0@.service"]);
    let f = eco(sb, "g4b.toml", &versioned("g4b", 3445, 1, "v1"));
    let out = sb.unitgen(&["apply", &f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        err.contains("is a link to /srv/g4b/g4b-a0@.service"),
        "{err}"
    );
    assert_eq!(
        sb.read("/srv/g4b/g4b-a0@.service"),
        "[Service]\nExecStart=/usr/bin/sleep infinity\n"
    );
    sb.ok(&["systemctl", "unmask", "g4-a0@2.service"]);
}

/// A file that claims to be the namespace's but is not one of its units is stopped before it
/// is removed, never left running without a file.
fn a_forged_mark_is_stopped_before_its_file_is_removed(sb: &Sandbox) {
    sb.write(
        "/etc/systemd/system/g5-forged.service",
        "[Unit]\nX-Unitgen-Namespace=g5\n[Service]\nExecStart=/usr/bin/sleep infinity\n",
    );
    sb.ok(&["systemctl", "daemon-reload"]);
    sb.ok(&["systemctl", "start", "g5-forged.service"]);
    let f = eco(sb, "g5.toml", &versioned("g5", 3450, 1, "v1"));
    apply(sb, &f);
    assert!(!sb
        .exec(&["test", "-e", "/etc/systemd/system/g5-forged.service"])
        .status
        .success());
    assert_eq!(sb.unit_state("g5-forged.service"), "inactive");
}

/// Two namespaces applied at the same moment with one port: exactly one wins, every round.
fn port_claims_are_atomic_across_namespaces(sb: &Sandbox) {
    let rounds = 10;
    let mut one_winner = 0;
    for r in 0..rounds {
        let port = 3460 + r;
        let a = eco(
            sb,
            &format!("g6a{r}.toml"),
            &versioned(&format!("g6a{r}"), port, 1, "a"),
        );
        let b = eco(
            sb,
            &format!("g6b{r}.toml"),
            &versioned(&format!("g6b{r}"), port, 1, "b"),
        );
        let out = sb.sh_ok(&format!(
            "ug={ug}; $ug apply -q {a} >/dev/null 2>&1 & pa=$!; $ug apply -q {b} >/dev/null 2>&1 & pb=$!; wait $pa; ea=$?; wait $pb; eb=$?; echo $ea $eb",
            ug = crate::harness::unitgen_bin().display()
        ));
        let codes: Vec<i32> = out.split_whitespace().map(|c| c.parse().unwrap()).collect();
        let winners = codes.iter().filter(|&&c| c == 0).count();
        let losers_refused = codes.iter().filter(|&&c| c == 2).count();
        if winners == 1 && losers_refused == 1 {
            one_winner += 1;
        }
        let installed = sb.sh_ok(&format!(
            "ls /etc/systemd/system | grep -c -e '^unitgen-g6a{r}.target' -e '^unitgen-g6b{r}.target' || true"
        ));
        assert_eq!(installed.trim(), "1", "round {r}: exit codes {codes:?}");
        for ns in [format!("g6a{r}"), format!("g6b{r}")] {
            let _ = sb.unitgen(&["delete", "all", "-n", &ns]);
        }
    }
    eprintln!("concurrent claims of one port by two namespaces: exactly one winner in {one_winner} of {rounds} rounds");
    assert_eq!(one_winner, rounds);
}

/// Another user cannot hold a namespace's lock; a lock held by another unitgen is waited for a
/// bounded time, naming the holder.
fn locks_are_out_of_other_users_reach_and_waits_are_bounded(sb: &Sandbox) {
    let f = eco(sb, "g7.toml", &versioned("g7", 3480, 1, "v1"));
    apply(sb, &f);
    sb.sh_ok("id g7user >/dev/null 2>&1 || useradd --no-create-home g7user");
    let out = sb.sh("runuser -u g7user -- flock -n /run/unitgen/g7.lock true");
    assert!(
        !out.status.success(),
        "another user took the lock\n{}",
        describe(&out)
    );
    assert_eq!(sb.sh_ok("stat -c %a /run/unitgen").trim(), "700");
    // Root holds it (as another apply would): apply waits --timeout, then says so.
    sb.sh_ok("nohup flock /run/unitgen/g7.lock sleep 20 >/dev/null 2>&1 &");
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let out = sb.unitgen(&["apply", "--timeout", "2", &f]);
    let took = start.elapsed();
    sb.sh("pkill -f 'flock /run/unitgen/g7.lock'");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("gave up waiting"),
        "{}",
        describe(&out)
    );
    assert!(took < Duration::from_secs(10), "waited {took:?}");
}

/// An app that dies as soon as it starts makes apply exit 1, naming it with its last lines.
fn an_app_that_crashes_at_start_fails_the_apply(sb: &Sandbox) {
    let f = eco(
        sb,
        "g8.toml",
        &format!(
            "namespace = \"g8\"\n[apps.fine]\ncommand = \"/usr/bin/sleep infinity\"\nuser = \"root\"\n[apps.broken]\ncommand = \"{} --exit-at-start\"\nuser = \"root\"\nrestart_delay = \"100ms\"\n",
            demo()
        ),
    );
    let out = sb.unitgen(&["apply", &f]);
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        err.contains("g8/broken") && err.contains("did not stay up"),
        "{err}"
    );
    assert!(err.contains("exiting at start"), "no log lines: {err}");
    assert!(stdout.contains("g8/fine: started 1"), "{stdout}");
    assert!(stdout.contains("g8/broken: FAILED 1"), "{stdout}");
    let _ = sb.unitgen(&["delete", "all", "-n", "g8"]);
}

/// Lowering `instances` stops the extra instances and leaves no failed unit behind, even for
/// an app that exits with an error when stopped.
fn removed_instances_leave_nothing_behind(sb: &Sandbox) {
    let three = "namespace = \"g9\"\n[apps.w]\ncommand = [\"/bin/sh\", \"-c\", \"trap 'exit 3' TERM; while :; do sleep 0.2; done\"]\nuser = \"root\"\ninstances = 3\n";
    let f = eco(sb, "g9.toml", three);
    apply(sb, &f);
    let f = eco(
        sb,
        "g9.toml",
        &three.replace("instances = 3", "instances = 1"),
    );
    let out = apply(sb, &f);
    assert!(out.contains("g9-w@2.service: stopped"), "{out}");
    assert!(out.contains("g9-w@3.service: stopped"), "{out}");
    let listed =
        sb.sh_ok("systemctl list-units --all --no-legend --plain 'g9-w@*' | cut -d' ' -f1");
    assert_eq!(listed.trim(), "g9-w@1.service", "left behind:\n{listed}");
    let rows = sb.unitgen(&["status", "-n", "g9", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&rows.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// `env` values reach the app, and nobody else: not the unit file, not systemd's D-Bus
/// properties (readable by any user), not the environment file (0600, root's).
fn secrets_are_readable_by_root_and_the_app_only(sb: &Sandbox) {
    sb.sh_ok("id g10app >/dev/null 2>&1 || useradd --no-create-home g10app; id g10other >/dev/null 2>&1 || useradd --no-create-home g10other");
    // Where g10app can reach it, wherever the checkout is (a home of mode 0700, say).
    sb.sh_ok(&format!(
        "install -D -m 755 {} /srv/g10/demo_server",
        demo()
    ));
    let f = eco(
        sb,
        "g10.toml",
        "namespace = \"g10\"\n[apps.api]\ncommand = \"/srv/g10/demo_server --port 3490 --echo-env DB_PASSWORD\"\nuser = \"g10app\"\nhardening = \"off\"\nenv = { DB_PASSWORD = \"s3cr3t-value\" }\n",
    );
    apply(sb, &f);
    assert!(sb
        .wait_http(3490, Duration::from_secs(10))
        .contains("s3cr3t-value"));
    let unit = sb.read("/etc/systemd/system/g10-api@.service");
    assert!(!unit.contains("s3cr3t"), "{unit}");
    let shown = sb.ok(&[
        "systemctl",
        "show",
        "-p",
        "Environment",
        "g10-api@1.service",
    ]);
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert_eq!(
        sb.sh_ok("stat -c '%a %U' /etc/unitgen/env/g10/api.env /etc/unitgen/env/g10")
            .lines()
            .collect::<Vec<_>>(),
        ["600 root", "700 root"]
    );
    for who in ["g10other", "g10app"] {
        let out = sb.sh(&format!(
            "runuser -u {who} -- cat /etc/unitgen/env/g10/api.env"
        ));
        assert!(!out.status.success(), "{who} read the environment file");
    }
    let out = sb.unitgen(&["show", "api", "-n", "g10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DB_PASSWORD=********"), "{}", describe(&out));
}

/// `instance_var` (NODE_APP_INSTANCE, 0-based as PM2 counts) and `increment_var`: each instance
/// gets its number and its own port, for any program (here not Node).
fn every_instance_gets_its_number_and_its_own_port(sb: &Sandbox) {
    let f = eco(
        sb,
        "g11.toml",
        &format!(
            "namespace = \"g11\"\n[apps.api]\ncommand = \"{} --echo-env NODE_APP_INSTANCE\"\nuser = \"root\"\ninstances = 3\nincrement_var = \"PORT\"\nenv = {{ PORT = \"3495\" }}\n",
            demo()
        ),
    );
    apply(sb, &f);
    for (i, port) in [3495u16, 3496, 3497].iter().enumerate() {
        let body = sb.wait_http(*port, Duration::from_secs(10));
        assert!(
            body.contains(&format!("\"NODE_APP_INSTANCE\":\"{i}\"")),
            "port {port}: {body}"
        );
    }
}

/// A bad version crash-loops its first instance past `max_restarts`; systemd then fails the
/// socket, while the second instance still serves on the old listening socket. The good file
/// applied again converges: the instance holding the port stops, the socket listens again,
/// both instances serve.
fn a_socket_failed_by_a_crash_loop_listens_again_on_the_next_apply(sb: &Sandbox) {
    let file = |command: &str| {
        format!(
            "namespace = \"g9\"\n[apps.web]\ncommand = \"{} {command}\"\nuser = \"root\"\ninstances = 2\nlisten = [3431]\nrestart_delay = \"100ms\"\nmax_restarts = 3\n",
            demo()
        )
    };
    let f = eco(sb, "g9.toml", &file("--echo-env VERSION"));
    apply(sb, &f);
    eco(sb, "g9.toml", &file("--exit-at-start"));
    let out = sb.unitgen(&["apply", &f]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    wait_until(Duration::from_secs(30), "the socket failed", || {
        sb.unit_state("g9-web.socket") == "failed"
    });
    assert_eq!(sb.unit_state("g9-web@2.service"), "active");
    eco(sb, "g9.toml", &file("--echo-env VERSION"));
    let plan = String::from_utf8_lossy(&sb.unitgen(&["plan", &f]).stdout).into_owned();
    assert!(
        plan.contains("g9-web@2.service (holds the port its socket must listen on again)"),
        "{plan}"
    );
    let out = sb.unitgen(&["apply", &f]);
    assert!(out.status.success(), "{}", describe(&out));
    for unit in ["g9-web.socket", "g9-web@1.service", "g9-web@2.service"] {
        assert_eq!(sb.unit_state(unit), "active", "{unit}");
    }
    assert!(sb
        .wait_http(3431, Duration::from_secs(10))
        .contains("\"pid\""));
    let _ = sb.unitgen(&["delete", "all", "-n", "g9"]);
}
