//! What PM2 users look at every day, against the real systemd: `status`'s CPU % and restarts,
//! `show` of a failing app, and the shells' completion of app names. Namespaces `sta1`..`sta4`,
//! ports 4701..4712.

use std::time::Duration;

use crate::harness::{
    demo, root_eco, rows, status_line, unitgen_ok, wait_online, wait_until, Sandbox, Test,
};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        status_cpu_tells_a_busy_instance_from_an_idle_one,
        restarts_count_restart_and_reload,
        show_of_an_app_that_crashed_at_start_gives_the_reason_and_error_first,
        completion_offers_the_installed_apps,
    ]
}

fn row<'a>(rows: &'a [serde_json::Value], app: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["app"] == app)
        .unwrap_or_else(|| panic!("no {app} in {rows:?}"))
}

/// A demo server spinning a core against an idle one, in the same run of `status`.
fn status_cpu_tells_a_busy_instance_from_an_idle_one(sb: &Sandbox) {
    let f = root_eco(
        sb,
        "sta1",
        &format!(
            "[apps.busy]\ncommand = [\"{d}\", \"--spin\"]\nlisten = [4701]\n\
             [apps.idle]\ncommand = \"{d}\"\nlisten = [4702]\n",
            d = demo()
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "sta1", 2);
    let r = rows(sb, "sta1");
    if r.iter().any(|r| r["cpu_ns"].is_null()) {
        // No cpu.stat in these cgroups: `-` and a note, never a number.
        assert!(r.iter().all(|r| r["cpu_percent"].is_null()), "{r:?}");
        let table = unitgen_ok(sb, &["status", "-n", "sta1"]);
        assert!(table.contains("note: CPU is `-`"), "{table}");
        let _ = sb.unitgen(&["delete", "all", "-n", "sta1"]);
        return;
    }
    // The spinner shares two cores with whatever else runs: status's figure must be what the
    // kernel says the process got meanwhile (its utime + stime over the call), near 100% when
    // it has a core to itself, and the idle server's near 0.
    let pid = row(&r, "busy")["pid"].as_u64().expect("busy pid");
    let ticks = || -> u64 {
        let stat = sb.read(&format!("/proc/{pid}/stat"));
        let after = stat.rsplit_once(')').expect("stat").1;
        let f: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 (utime, stime), counted after the command's ')'.
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let mut seen = Vec::new();
    let mut ok = false;
    for _ in 0..6 {
        let (t0, w0) = (ticks(), std::time::Instant::now());
        let r = rows(sb, "sta1");
        let (t1, wall) = (ticks(), w0.elapsed());
        let kernel = (t1 - t0) as f64 / hz / wall.as_secs_f64() * 100.0;
        let busy = row(&r, "busy")["cpu_percent"]
            .as_f64()
            .expect("busy cpu_percent");
        let idle = row(&r, "idle")["cpu_percent"]
            .as_f64()
            .expect("idle cpu_percent");
        seen.push(format!(
            "busy {busy:.1}% (the kernel: {kernel:.1}% over the call), idle {idle:.1}%"
        ));
        assert!(busy <= 115.0, "one spinning thread above a core: {seen:?}");
        assert!(idle < 5.0, "an idle server: {seen:?}");
        if (busy - kernel).abs() <= 25.0 && busy >= 25.0 && (kernel < 90.0 || busy >= 75.0) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!("status CPU: {}", seen.join("; "));
    assert!(
        ok,
        "busy not what the kernel says, or not near 100%: {seen:?}"
    );
    // The table shows it as a percentage, and the namespace's summary adds it up.
    let (table, line) = status_line(sb, "sta1", "sta1/busy@1 ");
    assert!(line.contains('%'), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("sta1: 2 instances (2 online); CPU ")),
        "{table}"
    );
    let _ = sb.unitgen(&["delete", "all", "-n", "sta1"]);
}

/// systemd's NRestarts resets on a start by hand; unitgen's count goes on, by one for a
/// restart and by one for a reload.
fn restarts_count_restart_and_reload(sb: &Sandbox) {
    let f = root_eco(
        sb,
        "sta2",
        &format!(
            "[apps.web]\ncommand = \"{}\"\ninstances = 2\nlisten = [4703]\n",
            demo()
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    wait_online(sb, "sta2", 2);
    let count = || {
        let r = rows(sb, "sta2");
        let one = r.iter().find(|r| r["instance"] == 1).expect("@1").clone();
        (
            one["restarts"].as_u64().expect("restarts"),
            one["auto_restarts"].as_u64().expect("auto_restarts"),
        )
    };
    let (before, _) = count();
    unitgen_ok(sb, &["restart", "web", "-n", "sta2"]);
    wait_online(sb, "sta2", 2);
    let (after_restart, auto) = count();
    assert_eq!(after_restart, before + 1, "after `unitgen restart`");
    assert_eq!(auto, 0, "systemd's own counter does not count it");
    unitgen_ok(sb, &["reload", "web", "-n", "sta2"]);
    wait_online(sb, "sta2", 2);
    let (after_reload, auto) = count();
    assert_eq!(after_reload, before + 2, "after `unitgen reload`");
    assert_eq!(auto, 0);
    let (table, line) = status_line(sb, "sta2", "sta2/web@1 ");
    assert!(
        line.split_whitespace()
            .any(|w| w == after_reload.to_string()),
        "{table}"
    );
    let _ = sb.unitgen(&["delete", "all", "-n", "sta2"]);
}

/// An app that dies at start: `show` says why (exit code 1) and its last error line before
/// anything else; limits in units; secrets masked.
fn show_of_an_app_that_crashed_at_start_gives_the_reason_and_error_first(sb: &Sandbox) {
    let f = root_eco(
        sb,
        "sta3",
        &format!(
            "[apps.crash]\ncommand = [\"{}\", \"--stderr-line\", \"Error: connect ECONNREFUSED 10.0.0.9:5432\", \"--exit-at-start\"]\n\
             tasks_max = 64\nmemory_max = \"256M\"\n\
             env = {{ API_TOKEN = \"hunter2-secret\", NODE_ENV = \"production\" }}\n",
            demo()
        ),
    );
    let out = sb.unitgen(&["apply", &f]);
    assert_eq!(out.status.code(), Some(1), "the app cannot start");
    wait_until(Duration::from_secs(30), "sta3/crash errored", || {
        rows(sb, "sta3")[0]["state"] == "errored"
    });
    let show = unitgen_ok(sb, &["show", "crash", "-n", "sta3"]);
    let lines: Vec<&str> = show.lines().collect();
    assert_eq!(lines[0], "sta3/crash", "{show}");
    assert!(
        lines[1].contains("FAILING") && lines[1].contains("exited with code 1"),
        "the reason first:\n{show}"
    );
    assert!(
        lines[2].starts_with("  last error") && lines[2].contains("exiting at start"),
        "the last error line second:\n{show}"
    );
    // The recent logs start with the app's own errors, before systemd's lines.
    let logs = show
        .split_once("recent logs")
        .map(|(_, l)| l)
        .unwrap_or_else(|| panic!("{show}"));
    let first_error = logs
        .find("ECONNREFUSED")
        .unwrap_or_else(|| panic!("{show}"));
    let first_systemd = logs.find("systemd[1]").unwrap_or(usize::MAX);
    assert!(first_error < first_systemd, "errors first:\n{show}");
    // Limits in their units, the command and who runs it, secrets masked.
    assert!(show.contains("tasks_max      64 tasks"), "{show}");
    assert!(show.contains("memory_max     256 MiB"), "{show}");
    assert!(show.contains("--exit-at-start"), "{show}");
    assert!(show.contains("  user          root"), "{show}");
    assert!(show.contains("API_TOKEN=********"), "{show}");
    assert!(show.contains("NODE_ENV=production"), "{show}");
    assert!(!show.contains("hunter2"), "a secret shown:\n{show}");
    let _ = sb.unitgen(&["delete", "all", "-n", "sta3"]);
}

/// bash completes NAME with the installed apps (through `unitgen __complete`), still
/// completes commands, and offers no hidden command.
fn completion_offers_the_installed_apps(sb: &Sandbox) {
    let f = root_eco(
        sb,
        "sta4",
        &format!(
            "[apps.alphaweb]\ncommand = \"{d}\"\nlisten = [4704]\n\
             [apps.alphaworker]\ncommand = \"{d}\"\nlisten = [4705]\n",
            d = demo()
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    let script = unitgen_ok(sb, &["completions", "bash"]);
    sb.write("/srv/eco/unitgen.bash", &script);
    let bin = crate::harness::unitgen_bin();
    let dir = bin.parent().expect("dir").display().to_string();
    let complete = |line: &str| -> Vec<String> {
        let words: Vec<&str> = line.split(' ').collect();
        let out = sb.sh_ok(&format!(
            "export PATH={dir}:$PATH; source /srv/eco/unitgen.bash || exit 1
             COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
             f=$(complete -p unitgen | sed 's/.*-F \\([^ ]*\\) .*/\\1/')
             $f unitgen \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            cword = words.len() - 1,
        ));
        out.lines().map(str::to_string).collect()
    };
    let got = complete("unitgen restart alp");
    assert_eq!(
        got,
        ["alphaweb", "alphaworker"],
        "completion of `unitgen restart alp`"
    );
    let got = complete("unitgen show sta4/");
    assert_eq!(got, ["sta4/alphaweb", "sta4/alphaworker"]);
    let got = complete("unitgen logs -n st");
    assert!(
        got.contains(&"sta4".to_string()),
        "namespaces for -n: {got:?}"
    );
    let mut got = complete("unitgen st");
    got.sort();
    assert_eq!(got, ["start", "status", "stop"]);
    let all = complete("unitgen ");
    assert!(
        !all.iter().any(|w| w.starts_with("__")),
        "hidden commands offered: {all:?}"
    );
    // zsh and fish call the same helper.
    for shell in ["zsh", "fish"] {
        let s = unitgen_ok(sb, &["completions", shell]);
        assert!(s.contains("__complete apps"), "{shell}");
        assert!(!s.contains("__man"), "{shell} offers __man");
    }
    let _ = sb.unitgen(&["delete", "all", "-n", "sta4"]);
}
