//! Messages tell the truth, against the real systemd: what `logs`, `delete` and `status` say is
//! what the journal and systemd hold. Namespaces `msg1`..`msg7`, no ports.

use std::time::Duration;

use crate::harness::{demo, eco, rows, status_line, unitgen_ok};
use crate::harness::{describe, unitgen_bin, wait_until, Sandbox, Test};
use crate::tests;

pub fn tests() -> Vec<Test> {
    tests![
        logs_since_prints_the_newest_lines_of_the_window_in_time_order,
        logs_with_a_bad_since_exits_2_and_says_why,
        logs_as_a_user_who_cannot_read_the_journal_says_why_and_fails,
        user_mode_logs_label_each_line_with_its_app_and_instance,
        delete_all_counts_each_file_once,
        delete_leaves_no_unit_behind_in_systemd,
        status_says_crashing_during_a_crash_loop,
    ]
}

fn row(sb: &Sandbox, ns: &str, app: &str) -> serde_json::Value {
    rows(sb, ns)
        .into_iter()
        .find(|r| r["app"] == app)
        .unwrap_or_else(|| panic!("no {ns}/{app} in status"))
}

/// An app that writes `line1` .. `lineN` at once, then sleeps.
fn counting_app(n: u32) -> String {
    format!(
        r#"command = ["/bin/sh", "-c", "i=1; while [ $i -le {n} ]; do echo line$i; i=$((i+1)); done; exec sleep infinity"]"#
    )
}

/// Namespace `ns` with one app, `count`, that writes `line1`..`lineN` (applied, as root); its
/// file, once its last line is in the journal.
fn counting_namespace(sb: &Sandbox, ns: &str, n: u32) -> String {
    let f = eco(
        sb,
        &format!("{ns}.toml"),
        &format!(
            "namespace = \"{ns}\"\n[defaults]\nuser = \"root\"\n[apps.count]\n{}\n",
            counting_app(n)
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    wait_for_line(sb, &format!("{ns}-count@1.service"), &format!("line{n}"));
    f
}

/// The `lineN` messages of `logs` output, in the order printed.
fn messages(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, m)| m))
        .collect()
}

/// Until journald has all of an app's lines.
fn wait_for_line(sb: &Sandbox, unit: &str, line: &str) {
    wait_until(
        Duration::from_secs(20),
        &format!("{line:?} in the journal of {unit}"),
        || sb.journal(unit).lines().any(|l| l == line),
    );
}

/// `--since` with `--lines 5`: the last 5 lines of the window, oldest first. journalctl's
/// `-n` with `--since` gives the first 5 of the window, which is what unitgen printed.
fn logs_since_prints_the_newest_lines_of_the_window_in_time_order(sb: &Sandbox) {
    counting_namespace(sb, "msg1", 40);
    // `unitgen logs -n msg1 --nostream` and more.
    let logs = |more: &[&str]| {
        let args: Vec<&str> = ["logs", "-n", "msg1", "--nostream"]
            .iter()
            .chain(more)
            .copied()
            .collect();
        unitgen_ok(sb, &args)
    };
    let out = logs(&["count", "--since", "10 min ago", "--lines", "5"]);
    assert_eq!(
        messages(&out),
        ["line36", "line37", "line38", "line39", "line40"],
        "not the newest 5 lines of the window, oldest first:\n{out}"
    );
    assert!(out.lines().all(|l| l.contains(" msg1/count@1 | ")), "{out}");
    // The window still bounds what is shown: a window after every line holds none.
    let out = logs(&["count", "--since", "+1h"]);
    assert_eq!(out, "", "lines from before --since");
    // Without --since, the same newest lines; with --json, the same entries.
    let out = logs(&["--lines", "3"]);
    assert_eq!(messages(&out), ["line38", "line39", "line40"], "{out}");
    let out = logs(&["--lines", "2", "--since", "1 hour ago", "--json"]);
    let got: Vec<String> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["MESSAGE"].to_string())
        .collect();
    assert_eq!(got, ["\"line39\"", "\"line40\""], "{out}");
    unitgen_ok(sb, &["delete", "all", "-n", "msg1"]);
}

/// A `--since` journalctl cannot read is bad usage: exit 2, naming the value and the fix.
fn logs_with_a_bad_since_exits_2_and_says_why(sb: &Sandbox) {
    counting_namespace(sb, "msg2", 3);
    let out = sb.unitgen(&[
        "logs",
        "-n",
        "msg2",
        "--nostream",
        "--since",
        "bogus o'clock",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--since \"bogus o'clock\"") && err.contains("help:") && err.contains("ago"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    unitgen_ok(sb, &["delete", "all", "-n", "msg2"]);
}

/// A user outside the groups that read the system journal got nothing and exit 0; now the
/// reason, the file and the fix, and a failure. In group systemd-journal, the lines.
fn logs_as_a_user_who_cannot_read_the_journal_says_why_and_fails(sb: &Sandbox) {
    counting_namespace(sb, "msg3", 5);
    let user = "msgreader";
    sb.sh_ok(&format!(
        "id {user} >/dev/null 2>&1 || useradd --no-create-home {user}"
    ));
    let logs = format!(
        "cd / && runuser -u {user} -- {} logs -n msg3 --nostream",
        crate::harness::unitgen_for_users(sb)
    );
    let out = sb.sh(&logs);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        user,
        "cannot read the system journal",
        "system.journal",
        "systemd-journal",
        &format!("usermod -aG systemd-journal {user}"),
    ] {
        assert!(err.contains(want), "no {want:?} in:\n{err}");
    }
    // The fix it names works.
    sb.sh_ok(&format!("usermod -aG systemd-journal {user}"));
    let out = sb.sh(&logs);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        messages(&String::from_utf8_lossy(&out.stdout)),
        ["line1", "line2", "line3", "line4", "line5"],
        "{}",
        describe(&out)
    );
    unitgen_ok(sb, &["delete", "all", "-n", "msg3"]);
}

/// Under a user manager, each line names its app and instance (it said `user@0.service`), and
/// `show`'s recent lines are there too (journalctl --user read no file of root's).
fn user_mode_logs_label_each_line_with_its_app_and_instance(sb: &Sandbox) {
    sb.ok(&["systemctl", "start", "user@0.service"]);
    let f = eco(
        sb,
        "msg4.toml",
        "namespace = \"msg4\"\n[apps.hello]\ncommand = [\"/bin/sh\", \"-c\", \"echo hello from $UNITGEN_INSTANCE; exec sleep infinity\"]\ninstances = 2\ninstance_var = \"UNITGEN_INSTANCE\"\n",
    );
    let user = |args: &str| {
        format!(
            "XDG_RUNTIME_DIR=/run/user/0 {} --user {args}",
            unitgen_bin().display()
        )
    };
    let out = sb.sh(&user(&format!("apply {f}")));
    assert!(out.status.success(), "{}", describe(&out));
    let mut text = String::new();
    wait_until(Duration::from_secs(20), "both instances' lines", || {
        text = sb.sh_ok(&user("logs -n msg4 --nostream"));
        text.contains("hello from 0") && text.contains("hello from 1")
    });
    for l in text.lines() {
        assert!(
            !l.contains("user@"),
            "labelled with the user manager:\n{text}"
        );
    }
    assert!(
        text.lines()
            .any(|l| l.ends_with(" msg4/hello@1 | hello from 0")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.ends_with(" msg4/hello@2 | hello from 1")),
        "{text}"
    );
    let show = sb.sh_ok(&user("show msg4/hello"));
    assert!(
        show.contains("hello from"),
        "no recent logs in show:\n{show}"
    );
    let out = sb.sh(&user("delete all -n msg4"));
    assert!(out.status.success(), "{}", describe(&out));

    // A user who is not root: journald keeps their lines in user-UID.journal where the journal
    // is persistent (each line said `user@UID.service`), and in the system journal, which
    // they cannot read, where it is not (said nothing).
    let name = "msgowner";
    let uid = sb.sh_ok(&format!(
        "id -u {name} 2>/dev/null || {{ useradd -m {name} && id -u {name}; }}"
    ));
    let uid = uid.trim();
    sb.ok(&["systemctl", "start", &format!("user@{uid}.service")]);
    let as_them = |args: &str| {
        format!(
            "cd / && runuser -u {name} -- env XDG_RUNTIME_DIR=/run/user/{uid} {} --user {args}",
            crate::harness::unitgen_for_users(sb)
        )
    };
    let out = sb.sh(&as_them(&format!("apply {f}")));
    assert!(out.status.success(), "{}", describe(&out));
    let persistent = sb
        .sh("ls -d /var/log/journal/*/ >/dev/null 2>&1")
        .status
        .success();
    if persistent {
        let mut text = String::new();
        wait_until(Duration::from_secs(20), "their instances' lines", || {
            text = sb.sh_ok(&as_them("logs -n msg4 --nostream"));
            text.contains("hello from 0") && text.contains("hello from 1")
        });
        assert!(
            text.lines().all(|l| l.contains(" msg4/hello@")),
            "labelled with something else than the app:\n{text}"
        );
    } else {
        let out = sb.sh(&as_them("logs -n msg4 --nostream"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(err.contains("not persistent"), "{err}");
    }
    let out = sb.sh(&as_them("delete all -n msg4"));
    assert!(out.status.success(), "{}", describe(&out));
}

/// `delete all` counted the apps' unit files twice (once as the app's, once as the
/// namespace's); now each file once, the environment files apart.
fn delete_all_counts_each_file_once(sb: &Sandbox) {
    let f = eco(
        sb,
        "msg5.toml",
        &format!(
            "namespace = \"msg5\"\n[defaults]\nuser = \"root\"\n[apps.a]\n{}\ninstances = 2\nenv = {{ X = \"1\" }}\n[apps.b]\n{}\ncron_restart = \"0 3 * * *\"\n",
            counting_app(1),
            counting_app(1)
        ),
    );
    unitgen_ok(sb, &["apply", &f]);
    let units: usize = sb
        .sh_ok("grep -l '^X-Unitgen-Namespace=msg5$' /etc/systemd/system/* | wc -l")
        .trim()
        .parse()
        .unwrap();
    let envs: usize = sb
        .sh_ok("ls /etc/unitgen/env/msg5 | wc -l")
        .trim()
        .parse()
        .unwrap();
    assert!(units >= 5 && envs >= 3, "units {units}, env files {envs}");
    let out = unitgen_ok(sb, &["delete", "all", "-n", "msg5"]);
    assert!(
        out.contains(&format!(
            "removed {units} unit files and {envs} environment files"
        )),
        "{units} unit files and {envs} environment files were installed:\n{out}"
    );
    assert_eq!(
        sb.sh_ok("ls /etc/systemd/system | grep -c msg5 || true")
            .trim(),
        "0"
    );
    assert!(
        !sb.exec(&["test", "-e", "/etc/unitgen/env/msg5"])
            .status
            .success(),
        "the namespace's environment directory is left"
    );
}

/// Units that failed (a crash at start with no restart) stayed in systemd as `not-found
/// failed` after delete; delete resets them, one app or the whole namespace.
fn delete_leaves_no_unit_behind_in_systemd(sb: &Sandbox) {
    let f = eco(
        sb,
        "msg6.toml",
        &format!(
            "namespace = \"msg6\"\n[defaults]\nuser = \"root\"\n[apps.dies]\ncommand = \"{d} --exit-at-start\"\nrestart = \"never\"\n[apps.lives]\n{}\n[apps.dies2]\ncommand = \"{d} --exit-at-start\"\nrestart = \"never\"\ninstances = 2\n",
            counting_app(1),
            d = demo()
        ),
    );
    let _ = sb.unitgen(&["apply", &f]); // fails: two apps die at start
    for unit in [
        "msg6-dies@1.service",
        "msg6-dies2@1.service",
        "msg6-dies2@2.service",
    ] {
        sb.wait_unit_state(unit, "failed", Duration::from_secs(20));
    }
    let list = |pattern: &str| {
        sb.ok(&[
            "systemctl",
            "list-units",
            "--all",
            "--no-legend",
            "--plain",
            pattern,
        ])
    };
    let out = unitgen_ok(sb, &["delete", "dies", "-n", "msg6"]);
    assert!(out.contains("reset 1 failed unit"), "{out}");
    assert_eq!(list("msg6-dies@*"), "", "after delete dies:\n{out}");
    assert_eq!(sb.unit_state("msg6-lives@1.service"), "active");
    let out = unitgen_ok(sb, &["delete", "all", "-n", "msg6"]);
    assert!(out.contains("reset 2 failed units"), "{out}");
    let left = format!("{}{}", list("msg6-*"), list("unitgen-msg6.*"));
    assert_eq!(left, "", "after delete all:\n{out}");
}

/// An app that exits 1 at once, restarted every 300 ms: `status` said `starting` or `online`
/// between deaths; now `crashing` in every sample, in the table and in JSON, until the start
/// limit ends it `errored`. A healthy app beside it stays `online`.
fn status_says_crashing_during_a_crash_loop(sb: &Sandbox) {
    let f = eco(
        sb,
        "msg7.toml",
        &format!(
            r#"namespace = "msg7"
[defaults]
user = "root"
[apps.loop]
command = "{d} --exit-at-start"
restart_delay = "300ms"
max_restarts = 40
restart_window = "120s"
[apps.fine]
{fine}
"#,
            d = demo(),
            fine = counting_app(1)
        ),
    );
    let _ = sb.unitgen(&["apply", &f]); // fails: the loop app does not stay up
    wait_until(
        Duration::from_secs(20),
        "msg7/loop restarted by systemd",
        || row(sb, "msg7", "loop")["restarts"].as_u64().unwrap_or(0) >= 1,
    );
    let mut seen = Vec::new();
    for _ in 0..12 {
        let r = row(sb, "msg7", "loop");
        seen.push(format!(
            "{} ({} {}, restarts {})",
            r["state"], r["active_state"], r["sub_state"], r["restarts"]
        ));
        if r["state"] == "errored" {
            break; // the start limit: also a true answer, and the end of the loop
        }
        std::thread::sleep(Duration::from_millis(130));
    }
    assert!(
        seen.iter()
            .all(|s| s.starts_with("\"crashing\"") || s.starts_with("\"errored\"")),
        "status during the crash loop:\n{}",
        seen.join("\n")
    );
    assert!(seen[0].starts_with("\"crashing\""), "{}", seen.join("\n"));
    let (table, line) = status_line(sb, "msg7", "msg7/loop@");
    assert!(
        line.contains(" crashing ") || line.contains(" errored "),
        "{table}"
    );
    assert_eq!(row(sb, "msg7", "fine")["state"], "online");
    let _ = sb.unitgen(&["delete", "all", "-n", "msg7"]);
}
