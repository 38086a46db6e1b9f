//! Commands across hosts: each host's own unitgen does the work, with its own guarantees,
//! reached through [`crate::adapters::ssh`]; this module runs the calls, all at once ([`each`]) or
//! batch after batch, stopping at the first host that fails ([`roll`], decided by
//! [`crate::core::fleet::next`]).

use std::time::Duration;

use crate::adapters::ssh::{CallError, Remote, Reply};
use crate::core::fleet::{self, Host, Next, Outcome, VersionProblem};

/// Why a host gave no answer from a usable unitgen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// ssh got nowhere (or took too long).
    Unreachable(String),
    /// No unitgen there (the remote shell's 127), or not one that can run (126).
    Missing(String),
    /// A unitgen older than [`fleet::MIN_REMOTE_VERSION`], or one whose version says nothing.
    TooOld(String),
}

impl HostError {
    /// What went wrong on the host, and what to do.
    pub fn problem(&self) -> crate::error::Problem {
        use crate::error::Problem;
        let (a, b, c) = fleet::MIN_REMOTE_VERSION;
        match self {
            HostError::Unreachable(why) => Problem::new(format!("unreachable: {why}")).help(
                "check that `ssh -o BatchMode=yes HOST true` works (keys, known_hosts, ~/.ssh/config)",
            ),
            HostError::Missing(said) => Problem::new(format!(
                "unitgen is not installed there ({said})"
            ))
            .help("install the unitgen .deb on that host, or name the command with --remote-command"),
            HostError::TooOld(v) => Problem::new(format!(
                "unitgen there is too old ({v}); --host needs {a}.{b}.{c} or newer"
            ))
            .help("install this version's .deb on that host"),
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.problem())
    }
}

impl From<CallError> for HostError {
    fn from(e: CallError) -> Self {
        HostError::Unreachable(match e {
            CallError::Unreachable(why) => why,
            other => other.to_string(),
        })
    }
}

/// Run unitgen with `args` on `host`, its version checked in the same connection; the reply
/// (whatever unitgen's exit status) without the version line.
pub fn call(
    remote: &Remote,
    host: &Host,
    args: &[String],
    input: Option<&[u8]>,
    limit: Duration,
) -> Result<Reply, HostError> {
    let mut reply = remote.call(host, args, true, input, limit)?;
    if reply.code == 127 || reply.code == 126 {
        let said = reply.stderr.trim();
        return Err(HostError::Missing(
            said.lines()
                .last()
                .unwrap_or("command not found")
                .to_string(),
        ));
    }
    let (first, rest) = reply
        .stdout
        .split_once('\n')
        .unwrap_or((reply.stdout.as_str(), ""));
    match fleet::check_version(first) {
        Ok(_) => {}
        Err(VersionProblem::TooOld(v)) => return Err(HostError::TooOld(v)),
        Err(VersionProblem::Unreadable(said)) => {
            let said = if said.is_empty() {
                reply.stderr.trim().lines().last().unwrap_or("").to_string()
            } else {
                said
            };
            return Err(HostError::TooOld(format!(
                "its --version said {said:?}, not \"unitgen X.Y.Z\""
            )));
        }
    }
    reply.stdout = rest.to_string();
    Ok(reply)
}

/// `f` on every host at once; the results in the hosts' order.
pub fn each<T: Send>(hosts: &[Host], f: impl Fn(&Host) -> T + Sync) -> Vec<(Host, T)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| {
                let f = &f;
                s.spawn(move || f(h))
            })
            .collect();
        hosts
            .iter()
            .cloned()
            .zip(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a host's thread")),
            )
            .collect()
    })
}

/// `step` on the hosts, `parallel` at a time, `pause` between batches; after a batch where a
/// host did not end [`Outcome::Done`], no more. `done` sees each host's result as its batch
/// ends. Every host gets an outcome: the ones not tried, [`Outcome::NotTried`].
pub fn roll<T: Send>(
    hosts: &[Host],
    parallel: usize,
    pause: Duration,
    step: impl Fn(&Host) -> (Outcome, T) + Sync,
    mut done: impl FnMut(&Host, &Outcome, &T),
) -> Vec<(Host, Outcome)> {
    let batches = fleet::batches(hosts, parallel);
    let mut outcomes: Vec<(Host, Outcome)> = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        let results = each(batch, &step);
        for (h, (o, t)) in &results {
            done(h, o, t);
        }
        let batch_outcomes: Vec<Outcome> = results.iter().map(|(_, (o, _))| o.clone()).collect();
        outcomes.extend(results.into_iter().map(|(h, (o, _))| (h, o)));
        match fleet::next(&batch_outcomes, batches.len() - i - 1, pause) {
            Next::Go(p) => std::thread::sleep(p),
            Next::Finished => break,
            Next::Stop => {
                for later in &batches[i + 1..] {
                    outcomes.extend(later.iter().map(|h| (h.clone(), Outcome::NotTried)));
                }
                break;
            }
        }
    }
    outcomes
}

/// The outcome of a reply from a usable unitgen, by its exit status: 0 done, 2 refused,
/// else failed.
pub fn outcome_of(reply: &Reply) -> Outcome {
    match reply.code {
        0 => Outcome::Done,
        2 => Outcome::Refused,
        _ => Outcome::Failed,
    }
}
