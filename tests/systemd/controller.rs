//! The controller against a real systemd: apply, re-apply, change, round trip, restarts,
//! concurrency, ops interplay, delete, reboot, the user manager. Each test uses namespaces and
//! ports of its own, so that they can share the sandbox and run in parallel.

use std::time::Duration;

use crate::harness::{apply, demo, eco, rows, wait_online};
use crate::harness::{describe, wait_until, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        apply_two_namespaces_brings_every_instance_online,
        reapply_unchanged_touches_nothing,
        changing_one_app_restarts_only_that_app,
        values_round_trip_byte_for_byte_and_inject_nothing,
        killed_instance_is_restarted_and_crash_loop_stops_errored,
        concurrent_applies_of_different_namespaces_all_succeed,
        concurrent_applies_of_one_namespace_are_serialized,
        ops_stop_dropins_and_foreign_units,
        delete_all_removes_one_namespace_only,
        user_manager_runs_apps_too,
        reboot_brings_every_namespace_back,
    ]
}

fn pids(sb: &Sandbox, ns: &str) -> Vec<(String, u64)> {
    rows(sb, ns)
        .iter()
        .map(|r| {
            (
                r["unit"].as_str().unwrap().to_string(),
                r["pid"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Namespaces of [`two_apps`] each, `(name, port, greeting)`, applied and all online.
fn two_namespaces_up(sb: &Sandbox, namespaces: [(&str, u16, &str); 2]) {
    let files = namespaces
        .map(|(ns, port, text)| eco(sb, &format!("{ns}.toml"), &two_apps(ns, port, text)));
    for f in &files {
        apply(sb, f);
    }
    for (ns, ..) in namespaces {
        wait_online(sb, ns, 3);
    }
}

/// A property of the service at `path`, as `busctl --json=short` gives it to anyone.
fn service_property(sb: &Sandbox, path: &str, name: &str) -> String {
    let interface = "org.freedesktop.systemd1.Service";
    let systemd = "org.freedesktop.systemd1";
    sb.ok(&[
        "busctl",
        "--json=short",
        "get-property",
        systemd,
        path,
        interface,
        name,
    ])
}

fn two_apps(ns: &str, port: u16, greeting: &str) -> String {
    format!(
        r#"namespace = "{ns}"
[apps.api]
user = "root"
command = "{demo} --echo-env GREETING --stdout-line started"
instances = 2
listen = [{port}]
env = {{ GREETING = "{greeting}" }}
[apps.worker]
user = "root"
command = "/usr/bin/sleep infinity"
depends_on = ["api"]
"#,
        demo = demo()
    )
}

/// Must-show 1: two namespaces, every instance online, the port answers, and systemctl and
/// journalctl see the same units.
fn apply_two_namespaces_brings_every_instance_online(sb: &Sandbox) {
    two_namespaces_up(
        sb,
        [
            ("c1prod", 3101, "hello prod"),
            ("c1test", 3102, "hello test"),
        ],
    );
    assert!(sb
        .wait_http(3101, Duration::from_secs(10))
        .contains("hello prod"));
    assert!(sb
        .wait_http(3102, Duration::from_secs(10))
        .contains("hello test"));
    let st = sb.exec(&["systemctl", "status", "--no-pager", "c1prod-api@1.service"]);
    assert!(
        String::from_utf8_lossy(&st.stdout).contains("active (running)"),
        "{}",
        describe(&st)
    );
    wait_until(
        Duration::from_secs(10),
        "the app's line in journalctl -u",
        || sb.journal("c1prod-api@1.service").contains("started"),
    );
    assert_eq!(
        sb.ok(&["systemctl", "is-enabled", "unitgen-c1prod.target"])
            .trim(),
        "enabled"
    );
}

fn reloads(sb: &Sandbox) -> usize {
    sb.ok(&["journalctl", "--no-pager", "-o", "cat", "_PID=1"])
        .lines()
        .filter(|l| l.starts_with("Reloading"))
        .count()
}

fn mtimes(sb: &Sandbox, ns: &str) -> String {
    sb.sh_ok(&format!(
        "stat -c '%n %y' /etc/systemd/system/{ns}-* /etc/systemd/system/unitgen-{ns}.*"
    ))
}

/// Must-show 2: a second apply writes nothing, reloads nothing, restarts nothing.
fn reapply_unchanged_touches_nothing(sb: &Sandbox) {
    let f = eco(sb, "c2.toml", &two_apps("c2", 3103, "same"));
    apply(sb, &f);
    wait_online(sb, "c2", 3);
    let (before_pids, before_files, before_reloads) =
        (pids(sb, "c2"), mtimes(sb, "c2"), reloads(sb));
    let entered = sb.unit_property("c2-api@1.service", "ActiveEnterTimestamp");
    let out = apply(sb, &f);
    assert!(out.contains("0 unit files written"), "{out}");
    assert_eq!(pids(sb, "c2"), before_pids, "instances were restarted");
    assert_eq!(mtimes(sb, "c2"), before_files, "files were written");
    assert_eq!(
        sb.unit_property("c2-api@1.service", "ActiveEnterTimestamp"),
        entered
    );
    // Other tests reload in parallel: only this test's own apply must not have, which the
    // unchanged files and PIDs show; the journal count is printed as a figure.
    eprintln!(
        "reloads seen during the no-op apply (any test): {}",
        reloads(sb) - before_reloads
    );
}

/// Must-show 3: change one app's env; only its instances restart, and systemd has the value.
fn changing_one_app_restarts_only_that_app(sb: &Sandbox) {
    let f = eco(sb, "c3.toml", &two_apps("c3", 3104, "one"));
    apply(sb, &f);
    wait_online(sb, "c3", 3);
    let before = pids(sb, "c3");
    sb.write(&f, two_apps("c3", 3104, "two"));
    apply(sb, &f);
    wait_online(sb, "c3", 3);
    let after = pids(sb, "c3");
    for ((unit, p0), (_, p1)) in before.iter().zip(&after) {
        if unit.contains("-api@") {
            assert_ne!(p0, p1, "{unit} was not restarted");
        } else {
            assert_eq!(p0, p1, "{unit} was restarted but did not change");
        }
    }
    assert!(process_env(sb, "c3-api@1.service").contains("GREETING=two"));
    assert!(sb
        .wait_http(3104, Duration::from_secs(10))
        .contains("\"two\""));
}

/// Must-show 4: quotes, backslashes, %, $, spaces, Unicode and a newline reach the process
/// byte for byte, and a newline cannot start a directive.
fn values_round_trip_byte_for_byte_and_inject_nothing(sb: &Sandbox) {
    let tricky = "q\"uo'te \\back\\slash 100% $HOME ${X} ünï ✓\ttab\nnew line";
    let evil = "x\nExecStartPre=/bin/touch /tmp/pwned";
    let mut file = String::from("namespace = \"c4\"\n[apps.echo]\nuser = \"root\"\n");
    file.push_str(&format!(
        "command = [{}, \"--port\", \"3105\", \"--echo-env\", \"TRICKY\", \"--echo-env\", \"EVIL\", {}, {}]\n",
        toml_str(&demo()),
        toml_str("--stdout-line"),
        toml_str(tricky)
    ));
    file.push_str(&format!(
        "env = {{ TRICKY = {}, EVIL = {} }}\n",
        toml_str(tricky),
        toml_str(evil)
    ));
    let f = eco(sb, "c4.toml", &file);
    apply(sb, &f);
    let body = sb.wait_http(3105, Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_str(body.trim()).expect("json");
    assert_eq!(v["env"]["TRICKY"], tricky, "{body}");
    assert_eq!(v["env"]["EVIL"], evil, "{body}");
    assert_eq!(v["argv"][8], tricky, "{body}");
    // What systemd itself holds, over D-Bus.
    let path = sb.ok(&[
        "busctl",
        "call",
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "LoadUnit",
        "s",
        "c4-echo@1.service",
    ]);
    let path = path.split('"').nth(1).expect("object path").to_string();
    let env = service_property(sb, &path, "Environment");
    let env: serde_json::Value = serde_json::from_str(&env).unwrap();
    let list: Vec<&str> = env["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The values live in a root-only environment file, not in what systemd shows everyone.
    assert!(
        !list
            .iter()
            .any(|e| e.starts_with("TRICKY=") || e.starts_with("EVIL=")),
        "{list:?}"
    );
    let exec = service_property(sb, &path, "ExecStart");
    let exec: serde_json::Value = serde_json::from_str(&exec).unwrap();
    // systemd keeps `$$` in the stored command line and folds it when it runs the program
    // (the argv above); so the stored form is the escaped one.
    let argv = exec["data"][0][1].as_array().expect("argv");
    assert_eq!(argv.last().unwrap(), &tricky.replace('$', "$$"), "{exec}");
    assert_eq!(
        sb.unit_property("c4-echo@1.service", "ExecStartPre"),
        "",
        "a directive was injected"
    );
    assert!(!sb.exec(&["test", "-e", "/tmp/pwned"]).status.success());
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Must-show 5: kill -9 → restarted with restarts = 1; a crash loop stops `errored`.
fn killed_instance_is_restarted_and_crash_loop_stops_errored(_shared: &Sandbox) {
    // A quiet systemd of its own: the other tests' daemon-reloads reset systemd 252's
    // start-limit counter, which would blur what one kill and one crash loop count.
    let state = std::path::PathBuf::from(format!(
        "/run/unitgen-sandbox-test-restarts-{}.pid",
        std::process::id()
    ));
    let own = Sandbox::boot(&state, None).expect("boot a sandbox for the restart counts");
    let sb = &own;
    let f = eco(
        sb,
        "c5.toml",
        &format!(
            r#"namespace = "c5"
[apps.api]
user = "root"
command = "{demo} --port 3106"
restart_delay = "200ms"
[apps.crash]
user = "root"
command = "{demo} --exit-at-start"
restart_delay = "100ms"
max_restarts = 3
restart_window = "60s"
"#,
            demo = demo()
        ),
    );
    let _ = sb.unitgen(&["apply", &f]);
    wait_online_app(sb, "c5", "api");
    let pid0 = app_row(sb, "c5", "api")["pid"].as_u64().unwrap();
    sb.ok(&["kill", "-9", &pid0.to_string()]);
    wait_until(
        Duration::from_secs(30),
        "the killed instance to come back with a new PID",
        || {
            let r = app_row(sb, "c5", "api");
            r["state"] == "online" && r["pid"].as_u64().is_some_and(|p| p != pid0)
        },
    );
    assert_eq!(
        app_row(sb, "c5", "api")["restarts"],
        1,
        "one kill -9, one restart"
    );
    wait_until(
        Duration::from_secs(20),
        "the crash loop to end errored",
        || app_row(sb, "c5", "crash")["state"] == "errored",
    );
    let r = app_row(sb, "c5", "crash");
    assert!(
        r["restarts"].as_u64().unwrap() <= 3,
        "max_restarts = 3: {r}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        app_row(sb, "c5", "crash")["state"],
        "errored",
        "it came back: not an end"
    );
    let result = sb.unit_property("c5-crash@1.service", "Result");
    assert!(
        ["exit-code", "start-limit-hit"].contains(&result.as_str()),
        "Result={result}"
    );
    own.down().expect("power off");
}

fn app_row(sb: &Sandbox, ns: &str, app: &str) -> serde_json::Value {
    rows(sb, ns)
        .into_iter()
        .find(|r| r["app"] == app)
        .unwrap_or_else(|| panic!("no {ns}/{app} in status"))
}

fn wait_online_app(sb: &Sandbox, ns: &str, app: &str) {
    wait_until(
        Duration::from_secs(30),
        &format!("{ns}/{app} online"),
        || app_row(sb, ns, app)["state"] == "online",
    );
}

/// The environment of a unit's main process, one `NAME=value` a line.
fn process_env(sb: &Sandbox, unit: &str) -> String {
    let pid = sb.unit_property(unit, "MainPID");
    sb.sh_ok(&format!("tr '\\0' '\\n' < /proc/{pid}/environ"))
}

fn simple(ns: &str, port: u16, value: usize) -> String {
    format!(
        "namespace = \"{ns}\"\n[apps.web]\nuser = \"root\"\ncommand = \"{} --port {port} --echo-env ITER\"\nenv = {{ ITER = \"{value}\" }}\n",
        demo()
    )
}

/// Must-show 6a: applies of two namespaces at the same moment, 20 times: both complete and right.
fn concurrent_applies_of_different_namespaces_all_succeed(sb: &Sandbox) {
    for i in 0..20 {
        let a = eco(sb, "c6a.toml", &simple("c6a", 3107, i));
        let b = eco(sb, "c6b.toml", &simple("c6b", 3108, i));
        let u = crate::harness::unitgen_bin();
        let out = sb.sh(&format!(
            "{u} apply {a} & p=$!; {u} apply {b}; rb=$?; wait $p; ra=$?; echo $ra $rb",
            u = u.display()
        ));
        let codes = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        assert_eq!(codes.trim(), "0 0", "round {i}\n{}", describe(&out));
        for (ns, port) in [("c6a", 3107), ("c6b", 3108)] {
            assert!(
                process_env(sb, &format!("{ns}-web@1.service")).contains(&format!("ITER={i}")),
                "round {i}: {ns}"
            );
            assert!(
                sb.wait_http(port, Duration::from_secs(10))
                    .contains(&format!("\"ITER\":\"{i}\"")),
                "round {i}: {ns} serves an old value"
            );
        }
    }
}

/// Must-show 6b: two applies of one namespace queue; the final state matches the file on disk.
fn concurrent_applies_of_one_namespace_are_serialized(sb: &Sandbox) {
    let one = eco(sb, "c7-one.toml", &simple("c7", 3109, 1));
    let two = eco(sb, "c7-two.toml", &simple("c7", 3109, 2));
    for _ in 0..5 {
        let u = crate::harness::unitgen_bin();
        let out = sb.sh(&format!(
            "{u} apply {one} & p=$!; {u} apply {two}; rb=$?; wait $p; echo $? $rb",
            u = u.display()
        ));
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().ends_with("0 0"),
            "{}",
            describe(&out)
        );
        let file = sb.read("/etc/unitgen/env/c7/web.env");
        let on_disk = if file.contains("ITER=\"1\"") {
            "ITER=1"
        } else {
            "ITER=2"
        };
        assert!(
            process_env(sb, "c7-web@1.service").contains(on_disk),
            "the running instance and the environment file disagree"
        );
        wait_until(
            Duration::from_secs(10),
            "the running instance to serve what the file says",
            || {
                sb.http_get(3109, "/")
                    .is_some_and(|b| b.contains(&format!("\"ITER\":\"{}\"", &on_disk[5..])))
            },
        );
    }
}

/// Must-show 7: ops staff's systemctl stop shows in status, their drop-in survives a re-apply,
/// and a hand-made unit with one of our names is refused and left untouched.
fn ops_stop_dropins_and_foreign_units(sb: &Sandbox) {
    let f = eco(sb, "c8.toml", &simple("c8", 3110, 1));
    apply(sb, &f);
    wait_online(sb, "c8", 1);
    sb.ok(&["systemctl", "stop", "c8-web@1.service"]);
    assert_eq!(app_row(sb, "c8", "web")["state"], "stopped");
    // A drop-in as `systemctl edit` writes it.
    sb.write(
        "/etc/systemd/system/c8-web@.service.d/override.conf",
        "[Service]\nEnvironment=FROM_OPS=1\n",
    );
    sb.ok(&["systemctl", "daemon-reload"]);
    let f2 = eco(sb, "c8.toml", &simple("c8", 3110, 2));
    apply(sb, &f2);
    assert_eq!(
        sb.read("/etc/systemd/system/c8-web@.service.d/override.conf"),
        "[Service]\nEnvironment=FROM_OPS=1\n"
    );
    assert!(sb
        .unit_property("c8-web@1.service", "Environment")
        .contains("FROM_OPS=1"));
    // A unit ops staff made by hand, with a name unitgen would use.
    let hand = "[Service]\nExecStart=/usr/bin/sleep infinity\n";
    sb.write("/etc/systemd/system/c8b-web@.service", hand);
    let g = eco(sb, "c8b.toml", &simple("c8b", 3111, 1));
    let out = sb.unitgen(&["apply", &g]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("c8b-web@.service"),
        "{}",
        describe(&out)
    );
    assert_eq!(sb.read("/etc/systemd/system/c8b-web@.service"), hand);
    assert!(
        !sb.exec(&["test", "-e", "/etc/systemd/system/unitgen-c8b.target"])
            .status
            .success(),
        "something was written"
    );
}

/// Must-show 8: `delete all -n NS` removes that namespace's units and files, and nothing else.
fn delete_all_removes_one_namespace_only(sb: &Sandbox) {
    two_namespaces_up(sb, [("c9prod", 3112, "prod"), ("c9test", 3113, "test")]);
    let before = pids(sb, "c9prod");
    let out = sb.unitgen(&["delete", "all", "-n", "c9test"]);
    assert!(out.status.success(), "{}", describe(&out));
    let left = sb.sh_ok("ls /etc/systemd/system | grep -c c9test || true");
    assert_eq!(left.trim(), "0", "files of c9test are left");
    let units = sb.sh_ok("systemctl list-units --all --no-legend 'c9test-*' | grep -v -e inactive -e 'not-found' || true");
    assert!(
        units.trim().is_empty(),
        "units of c9test still loaded and active:\n{units}"
    );
    assert_eq!(pids(sb, "c9prod"), before, "prod was touched");
    assert!(sb.wait_http(3112, Duration::from_secs(5)).contains("prod"));
    assert!(
        sb.http_get(3113, "/").is_none(),
        "the test namespace's port still answers"
    );
}

/// Must-show 10: the same, under the calling user's manager with --user.
fn user_manager_runs_apps_too(sb: &Sandbox) {
    sb.ok(&["systemctl", "start", "user@0.service"]);
    // --user: the user manager runs the app as its own user, and takes no `user`.
    let text = simple("c10", 3114, 7).replace("user = \"root\"\n", "");
    let f = eco(sb, "c10.toml", &text);
    let env = "XDG_RUNTIME_DIR=/run/user/0";
    let u = crate::harness::unitgen_bin();
    let out = sb.sh(&format!("{env} {} --user apply {f}", u.display()));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(sb
        .wait_http(3114, Duration::from_secs(10))
        .contains("\"ITER\":\"7\""));
    let st = sb.sh_ok(&format!("{env} {} --user status --json", u.display()));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&st).unwrap();
    assert!(
        rows.iter()
            .any(|r| r["namespace"] == "c10" && r["state"] == "online"),
        "{st}"
    );
    let enabled = sb.sh_ok(&format!(
        "{env} systemctl --user is-enabled unitgen-c10.target"
    ));
    assert_eq!(enabled.trim(), "enabled");
    let out = sb.sh(&format!("{env} {} --user delete all -n c10", u.display()));
    assert!(out.status.success(), "{}", describe(&out));
}

/// Must-show 9: power off and boot again with the same disk: every applied namespace is back
/// online with no command run (no `pm2 save`, no `pm2 resurrect`).
fn reboot_brings_every_namespace_back(_shared: &Sandbox) {
    let upper = crate::harness::target_dir().join(format!(
        "systemd-tests/controller-reboot-upper-{}",
        std::process::id()
    ));
    let state = &std::path::PathBuf::from(format!(
        "/run/unitgen-sandbox-test-controller-reboot-{}.pid",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&upper);
    let sb = Sandbox::boot(state, Some(&upper)).expect("boot the reboot sandbox");
    let prod = eco(&sb, "rprod.toml", &two_apps("rprod", 3120, "back"));
    let test = eco(&sb, "rtest.toml", &simple("rtest", 3121, 3));
    apply(&sb, &prod);
    apply(&sb, &test);
    wait_online(&sb, "rprod", 3);
    sb.down().expect("power off");
    drop(sb);
    let sb = Sandbox::boot(state, Some(&upper)).expect("boot again");
    wait_online(&sb, "rprod", 3);
    wait_online(&sb, "rtest", 1);
    assert!(sb.wait_http(3120, Duration::from_secs(10)).contains("back"));
    assert!(sb
        .wait_http(3121, Duration::from_secs(10))
        .contains("\"ITER\":\"3\""));
    sb.down().expect("power off");
    drop(sb);
    std::fs::remove_dir_all(&upper).expect("remove the kept overlay");
}
