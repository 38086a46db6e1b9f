//! How a command ends when it does not succeed: one type, its exit status, and one way of
//! printing it (`error: …`, indented detail lines, `= help: …`), as unitgen(1) describes.

use std::fmt;
use std::path::PathBuf;

use crate::core::diagnostic::Diagnostics;
use crate::ops::apply::UnitFailure;

/// One thing that went wrong: what, the lines that explain it, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What went wrong, one line (more only when the message quotes text, such as a log).
    pub message: String,
    /// Lines printed indented under it.
    pub details: Vec<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Problem {
    /// A problem without detail or hint.
    pub fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            details: Vec::new(),
            help: None,
        }
    }

    /// Add a line under the message.
    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    /// Add the "last log lines" block of a unit (the one place it is written).
    pub fn logs(mut self, logs: &str) -> Self {
        if logs.trim().is_empty() {
            self.details.push("last log lines: (none)".into());
        } else {
            self.details.push("last log lines:".into());
            self.details.extend(logs.lines().map(|l| format!("  {l}")));
        }
        self
    }

    /// Add the hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for d in &self.details {
            write!(f, "\n  {d}")?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// How a command ended when it did not succeed; [`Failure::exit_code`] is its exit status.
#[derive(Debug)]
pub enum Failure {
    /// Bad config; nothing changed (exit 2).
    Config(Diagnostics),
    /// Bad usage; nothing changed (exit 2).
    Usage(Problem),
    /// Something did not reach its wanted state (exit 1).
    Failed(Problem),
    /// Problems that stopped a command before it changed anything, and what that means
    /// ("nothing was changed") on the last line (exit 2).
    Refused {
        /// Each problem.
        problems: Vec<Problem>,
        /// The last line.
        outcome: &'static str,
    },
    /// A unit that did not reach its wanted state, in namespace `namespace` when known (exit 1).
    Unit {
        /// The namespace, when the command knows it.
        namespace: Option<String>,
        /// The unit, what was asked of it, what happened and its last log lines.
        failure: Box<UnitFailure>,
    },
    /// An operating-system error on a path (exit 1).
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Any other error from below (exit 1).
    Other(anyhow::Error),
    /// Several of the above, each printed; the exit status is the worst.
    Several(Vec<Failure>),
    /// A command across hosts that did not end well on every one: the hosts' own error lines,
    /// and the status that says the worst ([`crate::core::fleet::exit_code`]).
    Hosts {
        /// What went wrong, host by host, as the hosts printed it.
        message: String,
        /// The exit status.
        code: i32,
    },
}

impl Failure {
    /// Bad usage, said in one line.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::Usage(Problem::new(message))
    }

    /// A failure, said in one line.
    pub fn failed(message: impl Into<String>) -> Self {
        Failure::Failed(Problem::new(message))
    }

    /// An operating-system error on a path.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Failure::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// All of `failures`: none is success, one is itself.
    pub fn all(mut failures: Vec<Failure>) -> Result<(), Self> {
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(Failure::Several(failures)),
        }
    }

    /// The units of `namespace` that did not reach their wanted state, each with its logs.
    pub fn units(namespace: &str, failures: &[UnitFailure]) -> Vec<Failure> {
        failures
            .iter()
            .map(|f| Failure::Unit {
                namespace: Some(namespace.to_string()),
                failure: Box::new(f.clone()),
            })
            .collect()
    }

    /// The process exit status.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Config(_) | Failure::Usage(_) | Failure::Refused { .. } => 2,
            Failure::Failed(_) | Failure::Unit { .. } | Failure::Io { .. } | Failure::Other(_) => 1,
            Failure::Several(all) => all.iter().map(Failure::exit_code).max().unwrap_or(1),
            Failure::Hosts { code, .. } => *code,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Config(d) => write!(f, "{d}"),
            Failure::Usage(p) | Failure::Failed(p) => write!(f, "{p}"),
            Failure::Refused { problems, outcome } => {
                for p in problems {
                    writeln!(f, "{p}")?;
                }
                f.write_str(outcome)
            }
            Failure::Unit { namespace, failure } => {
                let u = failure;
                let place = match (namespace, &u.app) {
                    (Some(ns), Some(app)) => format!("{ns}/{app}: "),
                    (Some(ns), None) => format!("{ns}: "),
                    (None, _) => String::new(),
                };
                let result = u
                    .result
                    .as_deref()
                    .map(|r| format!(" (unit result: {r})"))
                    .unwrap_or_default();
                let message = format!("{place}{} {}: {}{result}", u.verb.as_str(), u.unit, u.what);
                write!(f, "{}", Problem::new(message).logs(&u.logs))
            }
            Failure::Io { path, source } => write!(f, "error: {}: {source}", path.display()),
            Failure::Other(e) => write!(f, "error: {e:#}"),
            Failure::Several(all) => {
                for (i, one) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n\n")?;
                    }
                    write!(f, "{one}")?;
                }
                Ok(())
            }
            Failure::Hosts { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Failure {}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<crate::adapters::systemd::Error> for Failure {
    fn from(e: crate::adapters::systemd::Error) -> Self {
        let mut p = Problem::new(e.to_string());
        p.help = e.help().map(str::to_string);
        Failure::Failed(p)
    }
}

impl From<crate::core::import::Errors> for Failure {
    /// Each a problem found by a check, as [`Problem`]'s.
    fn from(e: crate::core::import::Errors) -> Self {
        let mut all: Vec<Failure> = e.0.into_iter().map(Failure::from).collect();
        match all.len() {
            1 => all.remove(0),
            _ => Failure::Several(all),
        }
    }
}

impl From<crate::adapters::lock::LockError> for Failure {
    fn from(e: crate::adapters::lock::LockError) -> Self {
        let p = Problem::new(e.to_string());
        Failure::Failed(match e {
            crate::adapters::lock::LockError::Busy { .. } => {
                p.help("wait for it to finish, or stop it if it hangs")
            }
            _ => p,
        })
    }
}

impl From<Problem> for Failure {
    /// A problem found by a check is bad usage: nothing was changed.
    fn from(p: Problem) -> Self {
        Failure::Usage(p)
    }
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Self {
        Failure::Config(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_prints_error_details_and_help_in_that_order() {
        let p = Problem::new("port 80 is taken")
            .detail("--> api.toml:3")
            .help("pick another port");
        assert_eq!(
            p.to_string(),
            "error: port 80 is taken\n  --> api.toml:3\n  = help: pick another port"
        );
    }

    #[test]
    fn several_failures_print_each_and_exit_with_the_worst() {
        let f = Failure::all(vec![Failure::failed("a"), Failure::usage("b")]).unwrap_err();
        assert_eq!(f.to_string(), "error: a\n\nerror: b");
        assert_eq!(f.exit_code(), 2);
        assert!(Failure::all(Vec::new()).is_ok());
        assert_eq!(
            Failure::all(vec![Failure::failed("x")])
                .unwrap_err()
                .exit_code(),
            1
        );
    }

    #[test]
    fn an_io_error_names_the_path() {
        let f = Failure::io(
            std::path::Path::new("/etc/x"),
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(f.to_string(), "error: /etc/x: permission denied");
        assert_eq!(f.exit_code(), 1);
    }
}
