//! `unitgen __watch NS/APP --cwd DIR --delay D [--ignore PATTERN]... -- PATH...`: what an app's
//! watcher unit runs (`watch` in the ecosystem file). Prints what it sees and does to its
//! journal (`journalctl -u NS-APP-watch`).

use std::time::Duration;

use super::{unit_dir, Failure, Problem};
use crate::cli::{Global, WatchArgs};
use crate::ops::watch::{restart, watch, Report, WatchOptions};
use crate::watch::Ignore;

/// Watch until stopped.
pub fn run(global: &Global, args: &WatchArgs) -> Result<(), Failure> {
    let Some((ns, app)) = args.app.split_once('/') else {
        return Err(Failure::usage(format!("{:?} is not NS/APP", args.app)));
    };
    let ignore = Ignore::new(&args.cwd, &args.ignore)
        .map_err(|e| Failure::usage(format!("--ignore {e}")))?;
    let opts = WatchOptions {
        paths: args.paths.clone(),
        ignore,
        delay: args.delay,
    };
    let dir = unit_dir(global);
    let shown: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
    let printer = global.printer();
    let mut report = |r: Report| match r {
        Report::Watching(n) => printer.line(format!(
            "watching {} ({n} directories) for {ns}/{app}; ignoring: {}; delay {} ms",
            shown.join(", "),
            if args.ignore.is_empty() {
                "nothing".to_string()
            } else {
                args.ignore.join(" ")
            },
            args.delay.as_millis()
        )),
        Report::Warning(w) => printer.note(format!("warning: {w}")),
        Report::Settled(p, n) => printer.line(format!(
            "{} change{} ({}{}): restarting {ns}/{app}",
            n,
            if n == 1 { "" } else { "s" },
            p.display(),
            if n > 1 { " first" } else { "" }
        )),
    };
    let mut again = || match restart(global.user, &dir, ns, app, Duration::from_secs(120)) {
        Ok(lines) => lines.iter().for_each(|l| printer.line(l)),
        Err(e) => printer.problem(Problem::new(e)),
    };
    watch(&opts, &mut report, &mut again).map_err(Failure::failed)
}
