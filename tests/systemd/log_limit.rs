//! No log line lost silently: an app writing 5,000 lines a second has every line in
//! `unitgen logs` under the default `log_rate_limit`, and under a low one the lines journald
//! drops are reported there (and in `show`), to the line. The full 5,000/s × 20 s run is
//! `bench/log-rate`.

use std::time::Duration;

use crate::harness::{apply, eco, project_root, unitgen_ok, wait_until, Sandbox};
use crate::tests;

pub fn tests() -> Vec<crate::harness::Test> {
    tests![every_line_is_in_logs_or_its_suppression_is]
}

/// Lines read by `unitgen logs`, and lines journald says it dropped, for one app.
fn count(sb: &Sandbox, app: &str) -> (u64, u64, String) {
    let out = unitgen_ok(sb, &["logs", app, "--nostream", "--lines", "1000000"]);
    let mut read = 0;
    let mut dropped = 0;
    for l in out.lines() {
        let msg = l.split_once(" | ").map_or("", |(_, m)| m);
        if msg.starts_with("line ") {
            read += 1;
        } else if let Some(rest) = msg.strip_prefix("[unitgen] journald dropped ") {
            dropped += rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (read, dropped, out)
}

fn every_line_is_in_logs_or_its_suppression_is(sb: &Sandbox) {
    let flood = project_root().join("tests/apps/flood/flood.sh");
    let flood = flood.display();
    let f = eco(
        sb,
        "lr.toml",
        &format!(
            "namespace = \"lr\"\n[defaults]\nuser = \"root\"\n\
             [apps.fast]\ncommand = \"{flood} 5000 3\"\n\
             [apps.capped]\ncommand = \"{flood} 5000 3\"\nlog_rate_limit = \"1000/1s\"\n"
        ),
    );
    apply(sb, &f);
    for app in ["lr/fast", "lr/capped"] {
        wait_until(Duration::from_secs(30), &format!("{app} to finish"), || {
            count(sb, app).2.contains("| done 15000")
        });
    }
    // The default limit fits 5,000 lines a second: every one of them is there.
    let (read, dropped, _) = count(sb, "lr/fast");
    assert_eq!((read, dropped), (15_000, 0));
    // Past a low limit, journald drops lines, and `logs` says how many, to the line.
    let (read, dropped, out) = count(sb, "lr/capped");
    assert!(dropped > 0, "nothing dropped under 1000/1s?\n{out}");
    assert_eq!(read + dropped, 15_000, "lines lost without a word\n{out}");
    let err = unitgen_ok(
        sb,
        &["logs", "lr/capped", "--err", "--nostream", "--lines", "100"],
    );
    assert!(err.contains("journald dropped"), "{err}");
    let show = unitgen_ok(sb, &["show", "lr/capped"]);
    assert!(show.contains("log limit     1000 lines per 1s"), "{show}");
    assert!(
        show.contains(&format!("dropped logs  {dropped} lines")),
        "{show}"
    );
    unitgen_ok(sb, &["delete", "all", "-n", "lr"]);
}
