//! The sandbox itself works: systemd runs, journald records, transient units serve, sockets are
//! passed, and a kept overlay makes down+up a reboot.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::demo;
use crate::harness::{project_root, target_dir, wait_until, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        system_is_running,
        journald_records_lines,
        transient_demo_server_answers,
        demo_server_notifies_ready,
        demo_server_takes_sockets_from_systemd,
        demo_server_stops_gracefully,
        node_app_answers,
        node_app_takes_socket_from_systemd,
        write_and_read_files,
        bus_reachable_from_outside,
        unitgen_runs_inside,
        reboot_keeps_enabled_units,
    ]
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

fn system_is_running(sb: &Sandbox) {
    let out = sb.exec(&["systemctl", "is-system-running"]);
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        state == "running" || state == "degraded",
        "systemctl is-system-running: {state:?}\n{}",
        sb.exec(&["systemctl", "--failed", "--no-pager"])
            .stdout
            .escape_ascii()
    );
    assert_eq!(sb.ok(&["cat", "/proc/1/comm"]).trim(), "systemd");
    assert_eq!(
        sb.ok(&["pwd"]).trim(),
        project_root().to_str().unwrap(),
        "cwd is the project root"
    );
}

fn journald_records_lines(sb: &Sandbox) {
    let line = format!("smoke line {}", std::process::id());
    sb.exec_full(
        &["systemd-cat", "-t", "unitgen-smoke"],
        Some(line.as_bytes()),
        Duration::from_secs(10),
    );
    sb.ok(&["logger", "-t", "unitgen-smoke-logger", &line]);
    wait_until(Duration::from_secs(10), "both lines in the journal", || {
        let a = sb.ok(&[
            "journalctl",
            "--no-pager",
            "-o",
            "cat",
            "-t",
            "unitgen-smoke",
        ]);
        let b = sb.ok(&[
            "journalctl",
            "--no-pager",
            "-o",
            "cat",
            "-t",
            "unitgen-smoke-logger",
        ]);
        a.contains(&line) && b.contains(&line)
    });
}

fn transient_demo_server_answers(sb: &Sandbox) {
    let demo = demo();
    sb.ok(&[
        "systemd-run",
        "--unit=t1",
        "-p",
        "Environment=GREETING=hi",
        &demo,
        "--port",
        "18080",
        "--echo-env",
        "GREETING",
    ]);
    // a bare TCP connection first, as a client that knows nothing of HTTP would
    wait_until(
        Duration::from_secs(10),
        "a TCP connection to 127.0.0.1:18080",
        || sb.sh("exec 3<>/dev/tcp/127.0.0.1/18080").status.success(),
    );
    let body = json(&sb.wait_http(18080, Duration::from_secs(5)));
    let main_pid: u64 = sb.unit_property("t1.service", "MainPID").parse().unwrap();
    assert_eq!(
        body["pid"].as_u64(),
        Some(main_pid),
        "answered by the unit's main process: {body}"
    );
    assert_eq!(body["env"]["GREETING"], "hi", "{body}");
    sb.ok(&["systemctl", "stop", "t1.service"]);
}

fn demo_server_notifies_ready(sb: &Sandbox) {
    let demo = demo();
    let start = Instant::now();
    // systemd-run waits for the start job: it ends when READY=1 arrives
    sb.ok(&[
        "systemd-run",
        "--unit=t-notify",
        "-p",
        "Type=notify",
        &demo,
        "--port",
        "18081",
        "--notify",
        "--ready-delay",
        "700",
    ]);
    let took = start.elapsed();
    assert_eq!(sb.unit_state("t-notify.service"), "active");
    assert!(
        took >= Duration::from_millis(700),
        "start finished before READY=1: {took:?}"
    );
    assert!(sb
        .unit_property("t-notify.service", "StatusText")
        .starts_with("listening on 127.0.0.1:18081"));

    // --never-ready: the start job does not finish
    sb.ok(&[
        "systemd-run",
        "--no-block",
        "--unit=t-never",
        "-p",
        "Type=notify",
        &demo,
        "--port",
        "18086",
        "--never-ready",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sb.unit_state("t-never.service"), "activating");
    sb.ok(&["systemctl", "stop", "t-notify.service", "t-never.service"]);
}

fn demo_server_takes_sockets_from_systemd(sb: &Sandbox) {
    let demo = demo();
    sb.write(
        "/etc/systemd/system/t-sock.socket",
        "[Socket]\nListenStream=127.0.0.1:18082\n",
    );
    sb.write(
        "/etc/systemd/system/t-sock.service",
        format!("[Service]\nExecStart={demo}\n"),
    );
    sb.ok(&["systemctl", "daemon-reload"]);
    sb.ok(&["systemctl", "start", "t-sock.socket"]);
    assert_eq!(
        sb.unit_state("t-sock.service"),
        "inactive",
        "not started before the first connection"
    );
    let body = json(&sb.wait_http(18082, Duration::from_secs(10)));
    assert_eq!(body["listen"][0], "127.0.0.1:18082", "{body}");
    assert_eq!(sb.unit_state("t-sock.service"), "active");
    sb.ok(&["systemctl", "stop", "t-sock.socket", "t-sock.service"]);
}

fn demo_server_stops_gracefully(sb: &Sandbox) {
    let demo = demo();
    sb.ok(&[
        "systemd-run",
        "--unit=t-grace",
        "-p",
        "RemainAfterExit=no",
        &demo,
        "--port",
        "18085",
    ]);
    sb.wait_http(18085, Duration::from_secs(10));
    // a request in flight when the stop arrives is still answered
    let slow = std::thread::scope(|s| {
        let slow = s.spawn(|| sb.http_get(18085, "/sleep/1500"));
        std::thread::sleep(Duration::from_millis(400));
        sb.ok(&["systemctl", "stop", "t-grace.service"]);
        slow.join().unwrap()
    });
    let slow = slow.expect("the in-flight request got an answer");
    assert!(slow.starts_with("HTTP/1.1 200 OK"), "{slow}");
    wait_until(
        Duration::from_secs(5),
        "the graceful exit in the journal",
        || {
            let j = sb.journal("t-grace.service");
            j.contains("shutting down gracefully") && j.contains("stopped after")
        },
    );
}

fn node_app_answers(sb: &Sandbox) {
    let app = project_root().join("examples/node-app/server.js");
    sb.ok(&[
        "systemd-run",
        "--unit=t-node",
        "-p",
        "Environment=PORT=18083",
        "/usr/bin/node",
        app.to_str().unwrap(),
    ]);
    let body = json(&sb.wait_http(18083, Duration::from_secs(15)));
    let main_pid: u64 = sb
        .unit_property("t-node.service", "MainPID")
        .parse()
        .unwrap();
    assert_eq!(body["pid"].as_u64(), Some(main_pid), "{body}");
    sb.ok(&["systemctl", "stop", "t-node.service"]);
    wait_until(
        Duration::from_secs(5),
        "node's graceful exit in the journal",
        || sb.journal("t-node.service").contains("closing"),
    );
}

fn node_app_takes_socket_from_systemd(sb: &Sandbox) {
    let app = project_root().join("examples/node-app/server.js");
    sb.write(
        "/etc/systemd/system/t-nodesock.socket",
        "[Socket]\nListenStream=127.0.0.1:18084\n",
    );
    sb.write(
        "/etc/systemd/system/t-nodesock.service",
        format!("[Service]\nExecStart=/usr/bin/node {}\n", app.display()),
    );
    sb.ok(&["systemctl", "daemon-reload"]);
    sb.ok(&["systemctl", "start", "t-nodesock.socket"]);
    let body = json(&sb.wait_http(18084, Duration::from_secs(15)));
    assert_eq!(body["listen"], "fd:3", "{body}");
    sb.ok(&[
        "systemctl",
        "stop",
        "t-nodesock.socket",
        "t-nodesock.service",
    ]);
}

fn write_and_read_files(sb: &Sandbox) {
    // through the sandbox's own filesystem
    sb.write("/etc/unitgen-smoke/a.txt", "hello\n");
    assert_eq!(sb.read("/etc/unitgen-smoke/a.txt"), "hello\n");
    assert!(
        !Path::new("/etc/unitgen-smoke").exists(),
        "the sandbox's /etc must not leak to the host"
    );
    // through a scratch folder bound at the same path
    let dir = crate::harness::scratch_dir();
    let f = dir.path().join("b.txt");
    std::fs::write(&f, "from outside").unwrap();
    assert_eq!(sb.read(f.to_str().unwrap()), "from outside");
}

fn bus_reachable_from_outside(sb: &Sandbox) {
    // what a D-Bus client on the host (zbus, busctl) would use to drive the sandbox's systemd
    let out = std::process::Command::new("busctl")
        .arg(format!("--address={}", sb.bus_address()))
        .args([
            "get-property",
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "Version",
        ])
        .output()
        .expect("run busctl");
    assert!(out.status.success(), "{}", crate::harness::describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("s \""));
}

fn unitgen_runs_inside(sb: &Sandbox) {
    let out = sb.unitgen(&["--help"]);
    assert!(out.status.success(), "{}", crate::harness::describe(&out));
}

fn reboot_keeps_enabled_units(_shared: &Sandbox) {
    let upper = target_dir().join(format!("systemd-tests/reboot-upper-{}", std::process::id()));
    let state = &std::path::PathBuf::from(format!(
        "/run/unitgen-sandbox-test-reboot-{}.pid",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&upper);
    let sb = Sandbox::boot(state, Some(&upper)).expect("boot the reboot sandbox");
    eprintln!(
        "reboot test: first boot took {:.2} s",
        sb.boot_time().as_secs_f64()
    );
    sb.write(
        "/etc/systemd/system/tiny.service",
        "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n",
    );
    sb.ok(&["systemctl", "enable", "tiny.service"]);
    assert_eq!(sb.unit_state("tiny.service"), "inactive");
    sb.down().expect("power off");
    drop(sb);

    let sb = Sandbox::boot(state, Some(&upper)).expect("boot the reboot sandbox again");
    eprintln!(
        "reboot test: reboot took {:.2} s",
        sb.boot_time().as_secs_f64()
    );
    sb.wait_unit_state("tiny.service", "active", Duration::from_secs(10));
    sb.down().expect("power off");
    drop(sb);
    std::fs::remove_dir_all(&upper).expect("remove the kept overlay");
}
