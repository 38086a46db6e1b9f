//! What `plan`, `apply` and `delete` print, snapshotted (`tests/systemd/snapshots/`) with the
//! parts that vary between runs filtered out: a change of wording or of what a command decides
//! shows up as a diff to review. Bless with `INSTA_UPDATE=always cargo test --test systemd --
//! outputs::`.

use crate::harness::{demo, eco, unitgen_ok, wait_online, Sandbox, Test};
use crate::{snapshot, tests};

pub fn tests() -> Vec<Test> {
    tests![plan_apply_and_delete_say_what_they_do]
}

fn plan_apply_and_delete_say_what_they_do(sb: &Sandbox) {
    let file = |version: &str| {
        format!(
            "namespace = \"out1\"\n[defaults]\nuser = \"root\"\n\
             [apps.web]\ncommand = \"{} --echo-env VERSION\"\ninstances = 2\nlisten = [3701]\nenv = {{ VERSION = \"{version}\" }}\n\
             [apps.worker]\ncommand = \"/usr/bin/sleep infinity\"\n",
            demo()
        )
    };
    let f = eco(sb, "out1.toml", &file("v1"));
    snapshot!("plan-new", unitgen_ok(sb, &["plan", &f]));
    snapshot!("apply-new", unitgen_ok(sb, &["apply", &f]));
    wait_online(sb, "out1", 3);
    snapshot!("apply-unchanged", unitgen_ok(sb, &["apply", &f]));
    eco(sb, "out1.toml", &file("v2"));
    snapshot!("plan-env-change", unitgen_ok(sb, &["plan", &f]));
    snapshot!("apply-env-change", unitgen_ok(sb, &["apply", &f]));
    snapshot!(
        "delete-one-app",
        unitgen_ok(sb, &["delete", "worker", "-n", "out1"])
    );
    snapshot!(
        "delete-all",
        unitgen_ok(sb, &["delete", "all", "-n", "out1"])
    );
}
