//! Running a command with a time limit: its output read to the end (bounded), its whole
//! process group killed when the limit runs out.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a bounded run ended.
#[derive(Debug)]
pub struct Ran {
    /// `None`: the limit ran out and the process group was killed.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Run `cmd` in a process group of its own, `input` on its standard input, reading at most
/// `max` bytes of each output; past `limit`, kill the group.
pub fn run(
    mut cmd: Command,
    input: Option<&[u8]>,
    limit: Duration,
    max: u64,
) -> std::io::Result<Ran> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    let mut child = cmd.spawn()?;
    if let (Some(bytes), Some(mut pipe)) = (input, child.stdin.take()) {
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let out = reader(child.stdout.take(), max);
    let err = reader(child.stderr.take(), max);
    let status = wait(&mut child, limit);
    Ok(Ran {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Read a pipe to its end (at most `max` bytes) on a thread of its own.
fn reader<R: Read + Send + 'static>(pipe: Option<R>, max: u64) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(p) = pipe {
            let _ = p.take(max).read_to_end(&mut v);
        }
        v
    })
}

/// Wait for `child` at most `limit`; past it, kill its process group and say `None`.
fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if start.elapsed() > limit => {
                kill_group(child);
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return None,
        }
    }
}

/// Stop a child started in a process group of its own, and what it started.
pub fn kill_group(child: &Child) {
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_status_come_back() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; echo err >&2; exit 3"]);
        let ran = run(cmd, Some(b"in"), Duration::from_secs(20), 1024).unwrap();
        assert_eq!(ran.status.and_then(|s| s.code()), Some(3));
        assert_eq!(ran.stdout, b"in");
        assert_eq!(ran.stderr, b"err\n");
    }

    #[test]
    fn past_the_limit_the_whole_group_is_killed() {
        let mut cmd = Command::new("sh");
        // The grandchild holds the pipe open: only killing the group ends the read.
        cmd.args(["-c", "sleep 30 & sleep 30"]);
        let start = Instant::now();
        let ran = run(cmd, None, Duration::from_millis(200), 1024).unwrap();
        assert!(ran.status.is_none());
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn output_is_read_up_to_the_bound() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "head -c 100000 /dev/zero"]);
        let ran = run(cmd, None, Duration::from_secs(20), 1000).unwrap();
        assert_eq!(ran.stdout.len(), 1000);
    }
}
