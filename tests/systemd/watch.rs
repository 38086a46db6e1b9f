//! Watch mode (`watch`, `ignore_watch`, `watch_delay`): an app's watcher unit restarts it when
//! its files change, once per burst, not for ignored paths; `status` says the app is watched;
//! turning `watch` off removes the watcher.

use std::time::{Duration, Instant};

use crate::harness::{apply, demo, eco, rows, wait_online, wait_until, Sandbox};
use crate::tests;

pub fn tests() -> Vec<crate::harness::Test> {
    tests![
        an_edit_restarts_the_app_an_ignored_one_does_not_and_a_burst_restarts_it_once,
        a_listening_app_rolls_on_a_change,
    ]
}

/// The PIDs of a namespace's instances, from `status --json`.
fn pids(sb: &Sandbox, ns: &str) -> Vec<u64> {
    rows(sb, ns)
        .iter()
        .map(|r| r["pid"].as_u64().unwrap_or(0))
        .collect()
}

/// How many times the app started: it writes a line into its own (ignored) logs/ at each start.
fn starts(sb: &Sandbox, dir: &str) -> usize {
    sb.sh_ok(&format!("cat {dir}/logs/starts 2>/dev/null || true"))
        .lines()
        .count()
}

fn an_edit_restarts_the_app_an_ignored_one_does_not_and_a_burst_restarts_it_once(sb: &Sandbox) {
    let dir = "/srv/watch1/app";
    sb.write(&format!("{dir}/src/server.js"), "// v1\n");
    sb.write(&format!("{dir}/logs/.keep"), "");
    sb.write(
        &format!("{dir}/run.sh"),
        "#!/bin/sh\necho \"$$\" >> logs/starts\nexec sleep 100000\n",
    );
    sb.ok(&["chmod", "+x", &format!("{dir}/run.sh")]);
    let text = |watch: &str| {
        format!(
            "namespace = \"wa\"\n[defaults]\nuser = \"root\"\n[apps.api]\ncommand = \"{dir}/run.sh\"\ncwd = \"{dir}\"\ninstances = 2\n{watch}"
        )
    };
    let f = eco(
        sb,
        "wa.toml",
        &text("watch = true\nignore_watch = [\"logs\", \"*.tmp\"]\nwatch_delay = \"1s\"\n"),
    );
    apply(sb, &f);
    wait_online(sb, "wa", 2);
    sb.wait_unit_state("wa-api-watch.service", "active", Duration::from_secs(10));
    let r = rows(sb, "wa");
    assert!(r.iter().all(|r| r["watch"] == "on"), "{r:?}");
    let table = crate::harness::unitgen_ok(sb, &["status", "-n", "wa"]);
    assert!(table.lines().next().unwrap().contains("WATCH"), "{table}");
    // The watcher says it watches before the first edit can count.
    wait_until(Duration::from_secs(10), "the watcher to watch", || {
        sb.journal("wa-api-watch.service").contains("watching ")
    });

    // One edit: both instances restart, within the delay (plus the restart itself).
    let before = pids(sb, "wa");
    let n0 = starts(sb, dir);
    let t0 = Instant::now();
    sb.sh_ok(&format!("echo '// v2' > {dir}/src/server.js"));
    wait_until(Duration::from_secs(15), "a restart after the edit", || {
        let now = pids(sb, "wa");
        now.iter().zip(&before).all(|(a, b)| a != b && *a != 0)
    });
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "restarted before the delay: {took:?}"
    );
    assert!(
        took < Duration::from_secs(6),
        "restart took {took:?} for a delay of 1s"
    );
    wait_online(sb, "wa", 2);
    assert_eq!(starts(sb, dir), n0 + 2, "each instance started once");

    // Ignored paths: a log directory, a pattern.
    let before = pids(sb, "wa");
    sb.sh_ok(&format!(
        "echo x >> {dir}/logs/app.log; echo y > {dir}/src/scratch.tmp"
    ));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        pids(sb, "wa"),
        before,
        "an ignored change restarted the app"
    );

    // 20 edits within one second: one restart.
    let n1 = starts(sb, dir);
    sb.sh_ok(&format!(
        "for i in $(seq 1 20); do echo \"// $i\" > {dir}/src/server.js; sleep 0.05; done"
    ));
    wait_until(Duration::from_secs(15), "the burst's restart", || {
        starts(sb, dir) >= n1 + 2
    });
    std::thread::sleep(Duration::from_secs(3));
    wait_online(sb, "wa", 2);
    assert_eq!(
        starts(sb, dir),
        n1 + 2,
        "20 edits in a second: each instance restarts once\n{}",
        sb.journal("wa-api-watch.service")
    );

    // `stop` stops the watcher too: an edit does not bring a stopped app back.
    crate::harness::unitgen_ok(sb, &["stop", "wa/api"]);
    assert_eq!(sb.unit_state("wa-api-watch.service"), "inactive");
    crate::harness::unitgen_ok(sb, &["start", "wa/api"]);
    sb.wait_unit_state("wa-api-watch.service", "active", Duration::from_secs(10));
    wait_online(sb, "wa", 2);

    // Watch off: the watcher is stopped and its unit removed; status has no WATCH column.
    let f = eco(sb, "wa.toml", &text(""));
    let out = apply(sb, &f);
    assert!(
        sb.exec(&["test", "-e", "/etc/systemd/system/wa-api-watch.service"])
            .status
            .code()
            == Some(1),
        "{out}"
    );
    assert_eq!(sb.unit_state("wa-api-watch.service"), "inactive");
    assert!(rows(sb, "wa").iter().all(|r| r["watch"].is_null()));
    let before = pids(sb, "wa");
    sb.sh_ok(&format!("echo '// v3' > {dir}/src/server.js"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pids(sb, "wa"), before, "restarted with watch off");
    crate::harness::unitgen_ok(sb, &["delete", "all", "-n", "wa"]);
}

fn a_listening_app_rolls_on_a_change(sb: &Sandbox) {
    let dir = "/srv/watch2";
    sb.write(&format!("{dir}/config/app.json"), "{}\n");
    let f = eco(
        sb,
        "wb.toml",
        &format!(
            "namespace = \"wb\"\n[defaults]\nuser = \"root\"\n[apps.web]\ncommand = \"{}\"\ncwd = \"{dir}\"\nlisten = [3291]\nwatch = [\"config\"]\nwatch_delay = \"300ms\"\n",
            demo()
        ),
    );
    apply(sb, &f);
    wait_online(sb, "wb", 1);
    sb.wait_unit_state("wb-web-watch.service", "active", Duration::from_secs(10));
    wait_until(Duration::from_secs(10), "the watcher to watch", || {
        sb.journal("wb-web-watch.service").contains("watching ")
    });
    let before = pids(sb, "wb");
    sb.sh_ok(&format!("echo '{{\"a\": 1}}' > {dir}/config/app.json"));
    wait_until(Duration::from_secs(20), "the roll after the edit", || {
        sb.journal("wb-web-watch.service")
            .contains("restarted wb-web@1.service")
    });
    let log = sb.journal("wb-web-watch.service");
    // One instance: a spare serves while it restarts.
    assert!(log.contains("started the spare wb-web@2.service"), "{log}");
    wait_online(sb, "wb", 1);
    assert_ne!(pids(sb, "wb"), before);
    sb.wait_http(3291, Duration::from_secs(10));
    crate::harness::unitgen_ok(sb, &["delete", "all", "-n", "wb"]);
}
