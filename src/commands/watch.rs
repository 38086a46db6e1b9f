//! `unitgen __watch NS/APP --cwd DIR --delay D [--ignore PATTERN]... -- PATH...`: what an app's
//! watcher unit runs (`watch` in the ecosystem file). Prints what it sees and does to its
//! journal (`journalctl -u NS-APP-watch`).

use std::time::Duration;

use super::{unit_dir, Failure};
use crate::cli::{Global, WatchArgs};
use crate::ops::watch::{restart, watch, Report, WatchOptions};
use crate::watch::Ignore;

/// Watch until stopped.
pub fn run(g: &Global, a: &WatchArgs) -> Result<(), Failure> {
    let Some((ns, app)) = a.app.split_once('/') else {
        return Err(Failure::usage(format!("{:?} is not NS/APP", a.app)));
    };
    let ignore =
        Ignore::new(&a.cwd, &a.ignore).map_err(|e| Failure::usage(format!("--ignore {e}")))?;
    let opts = WatchOptions {
        paths: a.paths.clone(),
        ignore,
        delay: a.delay,
    };
    let dir = unit_dir(g);
    let shown: Vec<String> = a.paths.iter().map(|p| p.display().to_string()).collect();
    let mut report = |r: Report| match r {
        Report::Watching(n) => println!(
            "watching {} ({n} directories) for {ns}/{app}; ignoring: {}; delay {} ms",
            shown.join(", "),
            if a.ignore.is_empty() {
                "nothing".to_string()
            } else {
                a.ignore.join(" ")
            },
            a.delay.as_millis()
        ),
        Report::Warning(w) => eprintln!("warning: {w}"),
        Report::Settled(p, n) => println!(
            "{} change{} ({}{}): restarting {ns}/{app}",
            n,
            if n == 1 { "" } else { "s" },
            p.display(),
            if n > 1 { " first" } else { "" }
        ),
    };
    let mut again = || match restart(g.user, &dir, ns, app, Duration::from_secs(120)) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => eprintln!("error: {e}"),
    };
    watch(&opts, &mut report, &mut again).map_err(Failure::failed)
}
