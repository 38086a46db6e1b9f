//! The adapter to other machines: the system's OpenSSH client (`ssh` from `PATH`, so that the
//! user's `~/.ssh/config`, keys, agent, `known_hosts` and `ProxyJump` all apply) runs
//! `unitgen` there. Every call is bounded in time and in what it reads back.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::process;
use crate::core::fleet::Host;

/// The most read back from one call (a `status --json` of thousands of instances is far less).
pub const MAX_REPLY: u64 = 64 * 1024 * 1024;

/// How long ssh may take to connect (`ConnectTimeout=`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach unitgen on the hosts.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The command that runs unitgen there, as the remote shell reads it (`unitgen`,
    /// `sudo -n unitgen`, `/usr/local/bin/unitgen`).
    pub command: String,
    /// Drive the remote user's systemd (`--user`) instead of the system one.
    pub user: bool,
}

/// What one call brought back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The remote command's exit status (ssh passes it on).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (and ssh's own messages).
    pub stderr: String,
}

/// Why a call brought nothing back from unitgen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// ssh could not connect, log in or keep the connection (its exit status 255).
    Unreachable(String),
    /// The call took longer than its limit; ssh was stopped.
    TimedOut(Duration),
    /// `ssh` itself cannot be run here.
    NoSsh(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable(why) => write!(f, "unreachable: {why}"),
            CallError::TimedOut(d) => {
                write!(f, "no answer within {} s (ssh was stopped)", d.as_secs())
            }
            CallError::NoSsh(why) => write!(f, "cannot run ssh: {why}"),
        }
    }
}

/// One word for the remote shell, quoted so that it stays one word whatever it holds.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Remote {
    /// The `ssh` command line that runs unitgen with `args` on `host`: no terminal, no
    /// password prompt (`BatchMode`), a bounded connect.
    ///
    /// `versioned`: `unitgen --version` runs first, in the same connection, and the command
    /// only if that succeeded; the first line of the output is then the version.
    pub fn command(&self, host: &Host, args: &[String], versioned: bool) -> Command {
        let mut line = String::new();
        if versioned {
            line.push_str(&self.command);
            line.push_str(" --version && ");
        }
        line.push_str(&self.command);
        if self.user {
            line.push_str(" --user");
        }
        for a in args {
            line.push(' ');
            line.push_str(&shell_word(a));
        }
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            &format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()),
            "--",
            host.as_str(),
            &line,
        ]);
        cmd
    }

    /// Run unitgen with `args` on `host`, `input` on its standard input; stop it after
    /// `limit`. A reply whatever unitgen's exit status; an error when ssh got nowhere.
    pub fn call(
        &self,
        host: &Host,
        args: &[String],
        versioned: bool,
        input: Option<&[u8]>,
        limit: Duration,
    ) -> Result<Reply, CallError> {
        let cmd = self.command(host, args, versioned);
        let ran = process::run(cmd, input, limit, MAX_REPLY)
            .map_err(|e| CallError::NoSsh(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
        let Some(status) = ran.status else {
            return Err(CallError::TimedOut(limit));
        };
        let code = status.code().unwrap_or(255);
        if code == 255 {
            let said = stderr.trim();
            return Err(CallError::Unreachable(if said.is_empty() {
                "ssh ended with status 255".to_string()
            } else {
                said.lines().last().unwrap_or(said).to_string()
            }));
        }
        Ok(Reply {
            code,
            stdout,
            stderr,
        })
    }

    /// Start unitgen with `args` on `host` and hand back the running ssh, its standard output
    /// piped, for a stream with no end of its own (`logs --follow`).
    pub fn spawn(&self, host: &Host, args: &[String], versioned: bool) -> Result<Child, CallError> {
        let mut cmd = self.command(host, args, versioned);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd.spawn().map_err(|e| CallError::NoSsh(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stay_words_on_the_remote_shell() {
        assert_eq!(shell_word("status"), "status");
        assert_eq!(shell_word("/srv/a b.toml"), "'/srv/a b.toml'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
    }

    #[test]
    fn the_command_line_names_the_host_after_the_options() {
        let r = Remote {
            command: "sudo -n unitgen".into(),
            user: false,
        };
        let h = Host::parse("deploy@web1").unwrap();
        let cmd = r.command(&h, &["status".into(), "--json".into()], false);
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(args[args.len() - 3], "--");
        assert_eq!(args[args.len() - 2], "deploy@web1");
        assert_eq!(args[args.len() - 1], "sudo -n unitgen status --json");
        assert!(args.contains(&"BatchMode=yes".into()));
        let cmd = r.command(&h, &["status".into()], true);
        let last = cmd
            .get_args()
            .last()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(last, "sudo -n unitgen --version && sudo -n unitgen status");
    }
}
