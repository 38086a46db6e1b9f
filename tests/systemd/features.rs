//! What PM2 users pick PM2 for, each against the real systemd: zero-downtime reload, a reload
//! that stops at a broken instance, readiness, scale, logs, memory limits, scheduled restarts.

use std::time::{Duration, Instant};

use crate::harness::{demo, eco, rows, unitgen_ok, wait_online};
use crate::harness::{describe, wait_until, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        reload_under_load_refuses_no_connection,
        reload_stops_at_the_first_instance_that_fails,
        notify_readiness_is_waited_for,
        scale_up_and_down_under_load,
        scale_refuses_a_file_edited_since_it_was_applied,
        logs_merge_instances_and_split_stderr,
        memory_max_is_written_and_enforced_where_possible,
        cron_restart_restarts_one_instance_after_the_other,
    ]
}

/// Must-show 1: 3 reloads under load, 2 instances and 1 instance: 0 failed requests.
fn reload_under_load_refuses_no_connection(sb: &Sandbox) {
    let f = eco(sb, "f1.toml", &format!(
        "namespace = \"f1\"\n[apps.two]\nuser = \"root\"\ncommand = \"{d}\"\ninstances = 2\nlisten = [3201]\n[apps.one]\nuser = \"root\"\ncommand = \"{d}\"\nlisten = [3202]\n",
        d = demo()
    ));
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f1", 3);
    for (app, port) in [("two", 3201), ("one", 3202)] {
        let figures = sb.under_load(port, false, || {
            for _ in 0..3 {
                unitgen_ok(sb, &["reload", app, "-n", "f1"]);
            }
        });
        eprintln!("reload x3 of f1/{app} under load (Connection: close): {figures}");
        assert!(
            figures["requests"].as_u64().unwrap() > 1000,
            "too little load to show anything: {figures}"
        );
        assert_eq!(
            figures["failed"], 0,
            "failed requests during reloads of {app}: {figures}"
        );
    }
    // The keep-alive figure, reported: a closed idle connection fails the request sent on it.
    let ka = sb.under_load(3201, true, || {
        for _ in 0..3 {
            unitgen_ok(sb, &["reload", "two", "-n", "f1"]);
        }
    });
    eprintln!("reload x3 of f1/two under load (keep-alive): {ka}");
}

/// Must-show 2: new code that fails to start: the reload stops at the first instance, the
/// others keep serving, exit 1 with that instance's last log lines.
fn reload_stops_at_the_first_instance_that_fails(sb: &Sandbox) {
    let good = format!("#!/bin/sh\nexec {} --stdout-line 'good code'\n", demo());
    sb.write("/srv/f2/run.sh", &good);
    sb.ok(&["chmod", "+x", "/srv/f2/run.sh"]);
    // hardening off: the script runs a program of the build tree, which may be under /tmp.
    let f = eco(sb, "f2.toml", "namespace = \"f2\"\n[apps.api]\nuser = \"root\"\ncwd = \"/srv/f2\"\ncommand = \"./run.sh\"\ninstances = 3\nlisten = [3203]\nhardening = \"off\"\n");
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f2", 3);
    let before = rows(sb, "f2");
    sb.write(
        "/srv/f2/run.sh",
        "#!/bin/sh\necho 'SyntaxError: the new code is broken' >&2\nexit 1\n",
    );
    let out = sb.unitgen(&["reload", "api", "-n", "f2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(err.contains("f2-api@1.service"), "{err}");
    assert!(
        err.contains("the new code is broken"),
        "no log lines: {err}"
    );
    let after = rows(sb, "f2");
    for i in [1usize, 2] {
        assert_eq!(
            after[i]["pid"],
            before[i]["pid"],
            "instance {} was touched",
            i + 1
        );
        assert_eq!(after[i]["state"], "online");
    }
    assert!(
        sb.wait_http(3203, Duration::from_secs(5)).contains("pid"),
        "nothing serves"
    );
}

/// Must-show 3: `ready = "notify"`: apply returns after READY=1; never ready fails clearly.
fn notify_readiness_is_waited_for(sb: &Sandbox) {
    let f = eco(sb, "f3.toml", &format!(
        "namespace = \"f3\"\n[apps.slow]\nuser = \"root\"\ncommand = \"{} --port 3204 --notify --ready-delay 1500\"\nready = \"notify\"\n",
        demo()
    ));
    let t0 = Instant::now();
    unitgen_ok(sb, &["apply", &f]);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "apply returned after {took:?}, before READY=1"
    );
    assert_eq!(
        rows(sb, "f3")[0]["state"],
        "online",
        "not online when apply returned"
    );
    let t0 = Instant::now();
    unitgen_ok(sb, &["reload", "slow", "-n", "f3", "--settle", "0"]);
    assert!(
        t0.elapsed() >= Duration::from_millis(1400),
        "reload did not wait for READY=1"
    );

    let g = eco(sb, "f3b.toml", &format!(
        "namespace = \"f3b\"\n[apps.mute]\nuser = \"root\"\ncommand = \"{} --port 3205 --notify --never-ready\"\nready = \"notify\"\nstart_timeout = \"2s\"\nrestart = \"never\"\n",
        demo()
    ));
    let out = sb.unitgen(&["apply", &g]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        err.contains("f3b-mute@1.service") && err.contains("timeout"),
        "{err}"
    );
}

/// Must-show 4: scale 4 then 1: instance count, one shared socket, nothing dropped.
fn scale_up_and_down_under_load(sb: &Sandbox) {
    let f = eco(
        sb,
        "f4.toml",
        &format!(
            "namespace = \"f4\"\n[apps.api]\nuser = \"root\"\ncommand = \"{}\"\ninstances = 2\nlisten = [3206]\n",
            demo()
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f4", 2);
    let figures = sb.under_load(3206, false, || {
        let out = unitgen_ok(sb, &["scale", "api", "4", "-n", "f4"]);
        assert!(
            out.contains("instances = 4"),
            "scale does not say which line to change: {out}"
        );
        wait_online(sb, "f4", 4);
        // Every instance takes connections from the one socket.
        let mut pids = std::collections::BTreeSet::new();
        wait_until(
            Duration::from_secs(20),
            "answers from 4 different instances",
            || {
                if let Some(body) = sb.http_get(3206, "/") {
                    if let Some(p) = body
                        .split("\"pid\":")
                        .nth(1)
                        .and_then(|r| r.split(',').next())
                    {
                        pids.insert(p.to_string());
                    }
                }
                pids.len() == 4
            },
        );
        unitgen_ok(sb, &["scale", "api", "1", "-n", "f4"]);
        wait_online(sb, "f4", 1);
    });
    eprintln!("scale 2 -> 4 -> 1 under load: {figures}");
    assert_eq!(figures["failed"], 0, "{figures}");
    assert_eq!(sb.unit_state("f4-api.socket"), "active");
}

/// Scale applies the file the units came from at the new count: an edit of that file not yet
/// applied is not deployed behind the user's back — scale refuses and changes nothing.
fn scale_refuses_a_file_edited_since_it_was_applied(sb: &Sandbox) {
    let file = |version: &str| {
        format!(
            "namespace = \"f4b\"\n[apps.api]\nuser = \"root\"\ncommand = \"{} --echo-env VERSION\"\nenv = {{ VERSION = \"{version}\" }}\nlisten = [3216]\n",
            demo()
        )
    };
    let f = eco(sb, "f4b.toml", &file("v1"));
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f4b", 1);
    let pid = sb.sh_ok("systemctl show -P MainPID f4b-api@1.service");
    eco(sb, "f4b.toml", &file("v2"));
    let out = sb.unitgen(&["scale", "api", "3", "-n", "f4b"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        err.contains("changed since it was applied")
            && err.contains("unitgen apply /srv/eco/f4b.toml"),
        "{err}"
    );
    assert_eq!(sb.sh_ok("systemctl show -P MainPID f4b-api@1.service"), pid);
    assert_eq!(sb.unit_state("f4b-api@2.service"), "inactive");
    assert!(sb
        .wait_http(3216, Duration::from_secs(5))
        .contains("\"VERSION\":\"v1\""));
    // Once applied, scale goes ahead.
    unitgen_ok(sb, &["apply", &f]);
    unitgen_ok(sb, &["scale", "api", "3", "-n", "f4b"]);
    wait_online(sb, "f4b", 3);
    unitgen_ok(sb, &["delete", "all", "-n", "f4b"]);
}

/// Must-show 5: logs across instances in time order; --err only stderr; journalctl sees both.
fn logs_merge_instances_and_split_stderr(sb: &Sandbox) {
    let f = eco(sb, "f5.toml", &format!(
        "namespace = \"f5\"\n[apps.api]\nuser = \"root\"\ncommand = \"{} --log-every 100 --stderr-line 'E: something failed'\"\ninstances = 2\nlisten = [3207]\n",
        demo()
    ));
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f5", 2);
    std::thread::sleep(Duration::from_millis(2500));
    let out = unitgen_ok(
        sb,
        &["logs", "api", "-n", "f5", "--nostream", "--lines", "20"],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20, "{out}");
    let times: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not in time order:\n{out}"
    );
    assert!(
        out.contains("f5/api@1") && out.contains("f5/api@2"),
        "not merged across instances:\n{out}"
    );
    let err = unitgen_ok(
        sb,
        &[
            "logs",
            "api",
            "-n",
            "f5",
            "--nostream",
            "--err",
            "--lines",
            "50",
        ],
    );
    assert!(err.contains("E: something failed"), "{err}");
    assert!(
        err.lines().all(|l| l.contains("E: something failed")),
        "--err shows more than stderr:\n{err}"
    );
    let all = sb.ok(&["journalctl", "--no-pager", "-o", "cat", "-u", "f5-api@*"]);
    assert!(
        all.contains("E: something failed") && all.lines().count() > 20,
        "journalctl -u misses lines"
    );
}

/// Must-show 6: MemoryMax= on the unit; where the memory controller works, the leaking app is
/// killed and restarted with Result=oom-kill.
fn memory_max_is_written_and_enforced_where_possible(sb: &Sandbox) {
    let f = eco(sb, "f6.toml", &format!(
        "namespace = \"f6\"\n[apps.leak]\nuser = \"root\"\ncommand = \"{} --port 3208 --leak-mb-per-sec 50\"\nmemory_max = \"64M\"\n",
        demo()
    ));
    unitgen_ok(sb, &["apply", &f]);
    assert_eq!(
        sb.unit_property("f6-leak@1.service", "MemoryMax"),
        (64u64 << 20).to_string()
    );
    let controllers = sb.read("/sys/fs/cgroup/cgroup.controllers");
    if !controllers.split_whitespace().any(|c| c == "memory") {
        eprintln!("SKIPPED part of memory_max test: the cgroup memory controller is not available in this sandbox (controllers: {:?}); MemoryMax= is written but the kernel cannot enforce it here", controllers.trim());
        let show = unitgen_ok(sb, &["show", "leak", "-n", "f6"]);
        assert!(
            show.contains("not enforced"),
            "show does not say the limit is not enforced:\n{show}"
        );
        return;
    }
    wait_until(Duration::from_secs(30), "an oom-kill and a restart", || {
        sb.unit_property("f6-leak@1.service", "NRestarts") != "0"
    });
    assert!(
        sb.journal("f6-leak@1.service").contains("oom"),
        "no oom-kill in the journal"
    );
}

/// cron_restart: the timer is scheduled, and its service restarts the instances one by one.
fn cron_restart_restarts_one_instance_after_the_other(sb: &Sandbox) {
    let f = eco(sb, "f7.toml", &format!(
        "namespace = \"f7\"\n[apps.api]\nuser = \"root\"\ncommand = \"{}\"\ninstances = 2\nlisten = [3209]\ncron_restart = \"0 3 * * *\"\n",
        demo()
    ));
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "f7", 2);
    assert_eq!(sb.unit_state("f7-api-restart.timer"), "active");
    let next = sb.unit_property("f7-api-restart.timer", "NextElapseUSecRealtime");
    assert!(next.contains("03:00:00"), "next elapse {next}");
    let before: Vec<u64> = rows(sb, "f7")
        .iter()
        .map(|r| r["pid"].as_u64().unwrap())
        .collect();
    sb.ok(&["systemctl", "start", "f7-api-restart.service"]);
    let after: Vec<u64> = rows(sb, "f7")
        .iter()
        .map(|r| r["pid"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        before.iter().zip(&after).all(|(a, b)| a != b && *b != 0),
        "{before:?} -> {after:?}"
    );
}
