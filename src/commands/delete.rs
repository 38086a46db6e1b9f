//! `unitgen delete NAME|all -n NS`: stop and remove units ([`crate::ops::delete`]). `all`
//! removes the namespace.

use std::time::Duration;

use super::{target, unit_dir, Failure, Problem};
use crate::cli::{Global, TargetArgs};
use crate::ops::delete::{delete, DeleteOptions};

/// Stop the selected apps' units, remove their files and reload.
pub fn run(global: &Global, args: &TargetArgs) -> Result<(), Failure> {
    let printer = global.printer();
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(global, "delete", args, &hosts);
    }
    if args.namespace.is_none() && !args.name.contains('/') {
        return Err(Failure::Usage(
            Problem::new(
                "delete needs the namespace, so that it never hits another environment's apps",
            )
            .help(format!("unitgen delete {} -n NS", args.name)),
        ));
    }
    let dir = unit_dir(global);
    let selected = super::selected(global, Some(&args.name), &args.namespace, true)?;
    let ns = match (&args.namespace, args.name.split_once('/')) {
        (_, Some((n, _))) => n.to_string(),
        (Some(n), None) => n.clone(),
        (None, None) => unreachable!("checked above"),
    };
    let whole = args.name == "all" || args.name.ends_with("/all");
    let limit = Duration::from_secs(args.timeout);
    let _lock = crate::adapters::lock::namespace(&ns, global.user, limit)?;
    let sd = super::connect(global, limit)?;
    let opts = DeleteOptions {
        dir,
        env_dir: crate::adapters::unit_dir::EnvDir::new(target(global).env_dir),
        namespace: ns.clone(),
        apps: selected.iter().map(|s| s.app.clone()).collect(),
        whole,
        timeout: limit,
    };
    let r = delete(&sd, &opts)?;
    let what = if whole {
        format!("namespace {ns}")
    } else {
        opts.apps
            .iter()
            .map(|app| format!("{ns}/{app}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut done = vec![
        format!("stopped {}", plural(r.stopped, "unit")),
        format!(
            "removed {} and {}",
            plural(r.unit_files, "unit file"),
            plural(r.env_files, "environment file")
        ),
    ];
    if r.reset > 0 {
        done.push(format!(
            "reset {} (systemd forgets them)",
            plural(r.reset, "failed unit")
        ));
    }
    printer.line(format!("deleted {what}: {}", done.join(", ")));
    if !whole {
        printer
            .line("  (the ecosystem file still names it: the next `unitgen apply` brings it back)");
    }

    Ok(())
}

/// `3 units`, `1 unit file`.
fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
