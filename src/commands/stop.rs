//! `unitgen stop NAME|all [-n NS]`.

use super::{act, Failure};
use crate::adapters::systemd::Verb;
use crate::cli::{Global, TargetArgs};

/// Stop the instances of the selected apps, their socket (else a connection would start the
/// app again) and their watcher (else an edit would), unless only one instance was named.
pub fn run(global: &Global, args: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(global, "stop", args, &hosts);
    }
    act(global, args, |s| {
        // The watcher first: a stopped app is not restarted by the next edit.
        let mut units: Vec<(String, Verb)> = s
            .installed
            .watch
            .iter()
            .filter(|_| s.instance.is_none())
            .map(|u| (u.clone(), Verb::Stop))
            .collect();
        units.extend(s.instance_units().into_iter().map(|u| (u, Verb::Stop)));
        units.extend(
            s.installed
                .socket
                .iter()
                .filter(|_| s.instance.is_none())
                .map(|u| (u.clone(), Verb::Stop)),
        );
        units
    })
}
