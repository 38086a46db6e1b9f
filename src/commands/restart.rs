//! `unitgen restart NAME|all [-n NS]`: every instance at once (`reload` is one at a time).

use super::{act, Failure};
use crate::adapters::systemd::Verb;
use crate::cli::{Global, TargetArgs};

/// Restart the instances of the selected apps.
pub fn run(g: &Global, a: &TargetArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&a.remote)?;
    if !hosts.is_empty() {
        return super::fleet::act(g, "restart", a, &hosts);
    }
    act(g, a, |s| {
        s.instance_units()
            .into_iter()
            .map(|u| (u, Verb::Restart))
            .collect()
    })
}
