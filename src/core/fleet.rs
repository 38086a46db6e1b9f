//! Several machines, one file: the pure decisions of a rollout across hosts. Which hosts go
//! together ([`batches`]), whether the rollout goes on after a batch ([`next`]), whether a
//! host's unitgen can take part ([`check_version`]), and the merge of their logs
//! ([`merge_logs`]). The calls themselves go through [`crate::adapters::ssh`].

use std::time::Duration;

/// The oldest unitgen another machine may run: the first with `--host`'s remote side
/// (`apply --json`, files on standard input, `--local`).
pub const MIN_REMOTE_VERSION: (u64, u64, u64) = (0, 1, 0);

/// A host as ssh takes it (`web1`, `deploy@web1`, an alias of `~/.ssh/config`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Host(String);

impl Host {
    /// A host name, or why it is not one: never empty, never an option to ssh (`-oProxyCommand=…`
    /// would run a command here), no white space or control characters.
    pub fn parse(s: &str) -> Result<Host, String> {
        if s.is_empty() {
            return Err("a host name cannot be empty".into());
        }
        if s.starts_with('-') {
            return Err(format!(
                "{s:?} begins with '-', which ssh would read as an option, not a host"
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{s:?} holds {c:?}: a host is a name, user@name or an alias of ~/.ssh/config"
            ));
        }
        if s.len() > 255 {
            return Err(format!("{s:?} is longer than 255 characters"));
        }
        Ok(Host(s.to_string()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// The hosts, each once, in the order first given.
pub fn dedup(hosts: Vec<Host>) -> Vec<Host> {
    let mut seen = std::collections::HashSet::new();
    hosts
        .into_iter()
        .filter(|h| seen.insert(h.clone()))
        .collect()
}

/// The hosts in rollout order, `parallel` at a time (at least one): batch after batch, each
/// host in exactly one batch.
pub fn batches(hosts: &[Host], parallel: usize) -> Vec<Vec<Host>> {
    hosts
        .chunks(parallel.max(1))
        .map(<[Host]>::to_vec)
        .collect()
}

/// How one host's part of a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Converged: every changed app ready.
    Done,
    /// unitgen there reported a unit that did not reach its wanted state (exit 1).
    Failed,
    /// unitgen there refused the file or the request (exit 2): nothing changed there.
    Refused,
    /// ssh got nowhere, or unitgen is missing or too old there: nothing changed there.
    Unreachable,
    /// Not tried: the rollout stopped before this host.
    NotTried,
}

impl Outcome {
    /// Did the host end where it was wanted?
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Done)
    }
}

/// What the rollout does after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The next batch (after the pause, if one is asked).
    Go(Duration),
    /// No more batches: every host is done.
    Finished,
    /// A host of the batch failed: stop; the hosts after it keep what they run.
    Stop,
}

/// After a batch ended with `outcomes`, with `left` batches still to go: stop at the first
/// failure, else go on after `pause`.
pub fn next(outcomes: &[Outcome], left: usize, pause: Duration) -> Next {
    if outcomes.iter().any(|o| !o.ok()) {
        Next::Stop
    } else if left == 0 {
        Next::Finished
    } else {
        Next::Go(pause)
    }
}

/// The exit status of a command across hosts, from each host's outcome: 3 when a host could
/// not be reached or runs no usable unitgen, else 2 when one refused the request, else 1 when
/// one failed (or the rollout stopped before a host), else 0.
pub fn exit_code(outcomes: &[Outcome]) -> i32 {
    if outcomes.contains(&Outcome::Unreachable) {
        3
    } else if outcomes.contains(&Outcome::Refused) {
        2
    } else if outcomes.iter().any(|o| !o.ok()) {
        1
    } else {
        0
    }
}

/// Why a host's unitgen cannot take part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionProblem {
    /// `unitgen --version` printed nothing unitgen would print.
    Unreadable(String),
    /// Older than [`MIN_REMOTE_VERSION`].
    TooOld(String),
}

/// Check what `unitgen --version` printed on a host (`unitgen 0.1.0`).
pub fn check_version(printed: &str) -> Result<(u64, u64, u64), VersionProblem> {
    let line = printed.lines().next().unwrap_or("").trim();
    let parsed = line
        .strip_prefix("unitgen ")
        .and_then(|v| {
            let mut parts = v.trim().split(['.', '-', '+']);
            let mut num = || parts.next()?.parse::<u64>().ok();
            Some((num()?, num()?, num()?))
        })
        .ok_or_else(|| VersionProblem::Unreadable(line.chars().take(80).collect()))?;
    if parsed < MIN_REMOTE_VERSION {
        return Err(VersionProblem::TooOld(format!(
            "{}.{}.{}",
            parsed.0, parsed.1, parsed.2
        )));
    }
    Ok(parsed)
}

/// One journal line of one host, as `logs --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Where it was written.
    pub host: Host,
    /// When, in microseconds since the epoch (0 when the line says nothing).
    pub time_us: u64,
    /// The line as the host gave it (journal JSON).
    pub json: String,
}

impl LogLine {
    /// A line of `logs --json` from `host`.
    pub fn parse(host: &Host, json: &str) -> LogLine {
        let time_us = serde_json::from_str::<serde_json::Value>(json)
            .ok()
            .map(|v| crate::adapters::journal::field(&v, "__REALTIME_TIMESTAMP"))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        LogLine {
            host: host.clone(),
            time_us,
            json: json.to_string(),
        }
    }
}

/// The lines of every host in time order; lines of one time keep their hosts' order, and each
/// host's own order.
pub fn merge_logs(per_host: Vec<Vec<LogLine>>) -> Vec<LogLine> {
    let mut all: Vec<(usize, usize, LogLine)> = per_host
        .into_iter()
        .enumerate()
        .flat_map(|(h, lines)| lines.into_iter().enumerate().map(move |(i, l)| (h, i, l)))
        .collect();
    all.sort_by_key(|(h, i, l)| (l.time_us, *h, *i));
    all.into_iter().map(|(_, _, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> Vec<Host> {
        names.iter().map(|n| Host::parse(n).unwrap()).collect()
    }

    #[test]
    fn one_host_at_a_time_by_default_and_batches_of_n() {
        let h = hosts(&["a", "b", "c"]);
        assert_eq!(batches(&h, 1).len(), 3);
        assert_eq!(batches(&h, 0), batches(&h, 1));
        let b = batches(&h, 2);
        assert_eq!(b, vec![hosts(&["a", "b"]), hosts(&["c"])]);
        assert_eq!(batches(&h, 10), vec![h.clone()]);
    }

    #[test]
    fn the_first_failure_stops_the_rollout() {
        let p = Duration::from_secs(5);
        assert_eq!(next(&[Outcome::Done], 2, p), Next::Go(p));
        assert_eq!(next(&[Outcome::Done, Outcome::Done], 0, p), Next::Finished);
        assert_eq!(next(&[Outcome::Done, Outcome::Failed], 1, p), Next::Stop);
        assert_eq!(next(&[Outcome::Unreachable], 0, p), Next::Stop);
    }

    #[test]
    fn exit_codes_say_the_worst() {
        assert_eq!(exit_code(&[Outcome::Done, Outcome::Done]), 0);
        assert_eq!(exit_code(&[Outcome::Failed, Outcome::NotTried]), 1);
        assert_eq!(exit_code(&[Outcome::Refused, Outcome::Failed]), 2);
        assert_eq!(exit_code(&[Outcome::Done, Outcome::Unreachable]), 3);
    }

    #[test]
    fn host_names_that_would_be_options_are_refused() {
        assert!(Host::parse("-oProxyCommand=sh").is_err());
        assert!(Host::parse("").is_err());
        assert!(Host::parse("a b").is_err());
        assert!(Host::parse("web1\n").is_err());
        assert_eq!(Host::parse("deploy@web1").unwrap().as_str(), "deploy@web1");
        assert_eq!(dedup(hosts(&["a", "b", "a"])), hosts(&["a", "b"]));
    }

    #[test]
    fn versions_are_read_and_compared() {
        assert_eq!(check_version("unitgen 0.1.0\n"), Ok((0, 1, 0)));
        assert_eq!(check_version("unitgen 1.2.3-rc1"), Ok((1, 2, 3)));
        assert_eq!(
            check_version("unitgen 0.0.9"),
            Err(VersionProblem::TooOld("0.0.9".into()))
        );
        assert!(matches!(
            check_version("bash: unitgen: command not found"),
            Err(VersionProblem::Unreadable(_))
        ));
    }

    #[test]
    fn logs_merge_in_time_order_keeping_each_hosts_order() {
        let a = Host::parse("a").unwrap();
        let b = Host::parse("b").unwrap();
        let line = |h: &Host, t: u64, m: &str| {
            LogLine::parse(
                h,
                &format!(r#"{{"__REALTIME_TIMESTAMP":"{t}","MESSAGE":"{m}"}}"#),
            )
        };
        let merged = merge_logs(vec![
            vec![line(&a, 10, "a1"), line(&a, 30, "a2")],
            vec![line(&b, 20, "b1"), line(&b, 30, "b2")],
        ]);
        let order: Vec<(String, u64)> = merged
            .iter()
            .map(|l| (l.host.to_string(), l.time_us))
            .collect();
        assert_eq!(
            order,
            vec![
                ("a".into(), 10),
                ("b".into(), 20),
                ("a".into(), 30),
                ("b".into(), 30)
            ]
        );
    }
}
