//! The one output path of the commands (uv's `Printer`): a command's report goes through it,
//! and it knows `--quiet` (nothing but errors and the output asked for: a table, a plan, JSON)
//! and colour.

use std::fmt::Display;

use serde::Serialize;

/// Where a command's report goes.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    quiet: bool,
    color: bool,
}

impl Printer {
    /// A printer for `--quiet` or not, with colour or not.
    pub fn new(quiet: bool, color: bool) -> Self {
        Printer { quiet, color }
    }

    /// One line of a report; nothing with `--quiet`.
    pub fn line(&self, text: impl Display) {
        if !self.quiet {
            println!("{text}");
        }
    }

    /// Text that ends its own lines, shown at once (progress, also into a pipe); nothing with
    /// `--quiet`.
    pub fn text(&self, text: impl Display) {
        if !self.quiet {
            use std::io::Write;
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
    }

    /// A note about the run on standard error (not part of the report); nothing with `--quiet`.
    pub fn note(&self, text: impl Display) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A problem found by a command that goes on (each followed by a blank line), on standard
    /// error: printed even with `--quiet`, as errors are.
    pub fn problem(&self, problem: impl Display) {
        eprintln!("{problem}\n");
    }

    /// What the user asked for (a table, a plan, a script), as text that ends its own lines:
    /// printed even with `--quiet`.
    pub fn output(&self, text: impl Display) {
        use std::io::Write;
        print!("{text}");
        let _ = std::io::stdout().flush();
    }

    /// JSON the user asked for: printed even with `--quiet`.
    pub fn json(&self, value: &impl Serialize) -> Result<(), crate::commands::Failure> {
        let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
        println!("{text}");
        Ok(())
    }

    /// Whether to colour what it prints.
    pub fn color(&self) -> bool {
        self.color
    }
}
