//! `unitgen signal SIG NAME [-n NS]`.

use super::{unit_dir, Failure};
use crate::cli::{Global, SignalArgs};
use crate::config::Signal;
use crate::selector::select;
use crate::systemd::{block_on, Systemd};

/// Send the signal to the main process of each selected instance.
pub fn run(g: &Global, a: &SignalArgs) -> Result<(), Failure> {
    let printer = g.printer();
    let sig = Signal::parse(&a.signal).map_err(|(m, h)| {
        Failure::Usage(format!(
            "error: expected {m}{}",
            h.map(|h| format!("\n  = help: {h}")).unwrap_or_default()
        ))
    })?;
    let number = sig
        .0
        .parse::<nix::sys::signal::Signal>()
        .map_err(|e| Failure::Usage(format!("error: {e}")))? as i32;
    let selected = select(&unit_dir(g), Some(&a.name), a.namespace.as_deref(), true)
        .map_err(Failure::Usage)?;
    let sd = block_on(Systemd::connect_within(
        g.user,
        std::time::Duration::from_secs(10),
    ))?;
    let mut errors = Vec::new();
    for s in &selected {
        for unit in s.instance_units() {
            match block_on(sd.kill(&unit, number)) {
                Ok(()) => {
                    printer.line(format!("{} sent to {unit}", sig.0));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(errors.join("\n")))
    }
}
