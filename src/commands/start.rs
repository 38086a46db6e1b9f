//! `unitgen start NAME|all [-n NS]`.

use super::{act, Failure};
use crate::adapters::systemd::Verb;
use crate::cli::{Global, TargetArgs};

/// Start the sockets, instances and watchers of the selected apps.
pub fn run(global: &Global, args: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(global, "start", args, &hosts);
    }
    act(global, args, |s| {
        let mut units: Vec<(String, Verb)> = s
            .installed
            .socket
            .iter()
            .filter(|_| s.instance.is_none())
            .map(|u| (u.clone(), Verb::Start))
            .collect();
        units.extend(s.instance_units().into_iter().map(|u| (u, Verb::Start)));
        units.extend(
            s.installed
                .watch
                .iter()
                .filter(|_| s.instance.is_none())
                .map(|u| (u.clone(), Verb::Start)),
        );
        units
    })
}
