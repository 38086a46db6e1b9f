//! `unitgen restart NAME|all [-n NS]`: every instance at once (`reload` is one at a time).

use super::{act, Failure};
use crate::adapters::systemd::Verb;
use crate::cli::{Global, TargetArgs};

/// Restart the instances of the selected apps.
pub fn run(global: &Global, args: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(global, "restart", args, &hosts);
    }
    act(global, args, |s| {
        s.instance_units()
            .into_iter()
            .map(|u| (u, Verb::Restart))
            .collect()
    })
}
