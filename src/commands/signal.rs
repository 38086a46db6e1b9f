//! `unitgen signal SIG NAME [-n NS]`.

use super::{Failure, Problem};
use crate::adapters::systemd::block_on;
use crate::cli::{Global, SignalArgs};
use crate::core::config::Signal;

/// Send the signal to the main process of each selected instance.
pub fn run(global: &Global, args: &SignalArgs) -> Result<(), Failure> {
    let printer = global.printer();
    let sig = Signal::parse(&args.signal).map_err(|(m, h)| {
        let mut p = Problem::new(format!("expected {m}"));
        p.help = h.map(|h| h.to_string());
        Failure::Usage(p)
    })?;
    let number = sig
        .0
        .parse::<nix::sys::signal::Signal>()
        .map_err(|e| Failure::usage(format!("{e}")))? as i32;
    let selected = super::selected(global, Some(&args.name), &args.namespace, true)?;
    let sd = super::connect(global, std::time::Duration::from_secs(10))?;
    let mut errors = Vec::new();
    for s in &selected {
        for unit in s.instance_units() {
            match block_on(sd.kill(&unit, number)) {
                Ok(()) => {
                    printer.line(format!("{} sent to {unit}", sig.0));
                }
                Err(e) => errors.push(Failure::from(e)),
            }
        }
    }
    Failure::all(errors)
}
