//! `unitgen reload NAME|all [-n NS]`: a rolling restart, one instance at a time
//! ([`crate::ops::roll`]): each ready and settled before the next goes; an app that only one
//! instance serves gets a spare first. The first instance that does not come back stops the
//! reload, and the command says what still serves.

use std::time::Duration;

use super::{Failure, Problem};
use crate::adapters::systemd::block_on;
use crate::cli::{Global, ReloadArgs};
use crate::ops::roll::{roll, Roll, RollOptions};

/// Reload the selected apps, instance by instance.
pub fn run(global: &Global, args: &ReloadArgs) -> Result<(), Failure> {
    let printer = global.printer();
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::reload(global, args, &hosts);
    }
    let limit = Duration::from_secs(args.timeout);
    let selected = super::selected(global, Some(&args.name), &args.namespace, true)?;
    let sd = super::connect(global, limit)?;
    let opts = RollOptions {
        timeout: limit,
        settle: Duration::from_millis(args.settle),
    };
    let mut namespaces: Vec<&str> = selected.iter().map(|s| s.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    // The spare instance is the namespace's to take: no apply or scale at the same time.
    let _locks = namespaces
        .iter()
        .map(|n| crate::adapters::lock::namespace(n, global.user, limit))
        .collect::<Result<Vec<_>, _>>()?;
    for s in &selected {
        let r = Roll {
            namespace: s.namespace.clone(),
            app: s.app.clone(),
            instances: s
                .instance
                .map_or_else(|| s.installed.instances.clone(), |i| vec![i]),
            all_instances: s.installed.instances.clone(),
            socket: s.installed.socket.is_some(),
            in_place: s.installed.reload_in_place,
        };
        let report = roll(&sd, &r, opts)?;
        for d in &report.done {
            let pids = match d.pids {
                (Some(args), Some(b)) if args != b => format!("pid {args} -> {b}"),
                (_, Some(b)) => format!("pid {b}"),
                _ => String::new(),
            };
            let what = if d.spare {
                "started the spare"
            } else {
                d.verb.past()
            };
            printer.line(format!(
                "{what} {}: ready in {:.1}s, {pids}",
                d.unit,
                d.ready_in.as_secs_f64()
            ));
        }

        if let Some(f) = report.failure {
            let props = block_on(sd.unit(&f.unit)).unwrap_or_default();
            let logs = crate::adapters::journal::failure_lines(
                &f.unit,
                global.user,
                crate::adapters::systemd::num(&props, "ExecMainStartTimestamp"),
            );
            let serving = if f.serving.is_empty() {
                "nothing of the app serves now".to_string()
            } else {
                format!("serving now: {}", f.serving.join(", "))
            };
            let left = if f.not_rolled.is_empty() {
                String::new()
            } else {
                format!("; not reloaded (old version): {}", f.not_rolled.join(", "))
            };
            let message = format!(
                "{}/{}: {} {}: {}{}; the reload stopped there",
                s.namespace,
                s.app,
                f.verb.as_str(),
                f.unit,
                f.what,
                f.result
                    .map(|r| format!(" (unit result: {r})"))
                    .unwrap_or_default(),
            );
            return Err(Failure::Failed(
                Problem::new(message)
                    .detail(format!("{serving}{left}"))
                    .logs(&logs),
            ));
        }
    }
    Ok(())
}
