//! `unitgen status [NAME] [-n NS] [--json]`: one row per instance.

use super::Failure;
use crate::adapters::systemd::block_on;
use crate::cli::{Global, StatusArgs};
use crate::ops::status::collect_figures;
use crate::status::{notes, table, Figures, Instance};

/// Print the table, or with `--json` one JSON array for scripts.
pub fn run(global: &Global, args: &StatusArgs) -> Result<(), Failure> {
    let hosts = super::fleet::hosts_of(&args.remote)?;
    if !hosts.is_empty() {
        return super::fleet::status(global, args, &hosts);
    }
    let selected = super::selected(global, args.name.as_deref(), &args.namespace, false)?;
    let t0 = std::time::Instant::now();
    tracing::debug!("selected {} apps", selected.len());
    let sd = super::connect(global, std::time::Duration::from_secs(10))?;
    tracing::debug!("connected by {:?}", t0.elapsed());
    let figures = Figures {
        cpu_window: Some(crate::status::CPU_WINDOW),
        all_restarts: true,
    };
    let report = block_on(collect_figures(&sd, &selected, figures))?;
    let printer = global.printer();
    if args.json {
        return printer.json(&report.instances);
    }
    print_table(printer, &report.instances, &notes(&report), None);
    Ok(())
}

/// Print the table (see [`crate::status::table`]).
pub(crate) fn print_table(
    printer: crate::printer::Printer,
    rows: &[Instance],
    notes: &[String],
    hosts: Option<&[crate::core::fleet::Host]>,
) {
    printer.output(table(rows, notes, hosts, printer.color()));
}
