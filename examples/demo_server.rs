//! `demo_server`: a tiny HTTP/1.1 server used by unitgen's integration tests and benchmarks.
//!
//! It listens on the sockets systemd hands over (`LISTEN_FDS`/`LISTEN_PID`, fds from 3, TCP or
//! Unix stream sockets) when there are any; otherwise it binds `--port N` (or `$PORT`) on
//! `--host ADDR` (default 127.0.0.1). Every request gets `200 OK` and a one-line JSON body:
//!
//! ```text
//! {"pid":1234,"request":7,"listen":["127.0.0.1:18080"],"argv":["demo_server","--port","18080"],"env":{"NAME":"value"}}
//! ```
//!
//! `request` counts requests served by this process, `env` holds the variables named with
//! `--echo-env` (`null` when unset). `GET /sleep/MS` waits MS milliseconds before answering (an
//! in-flight request for graceful-shutdown tests). HTTP/1.1 keep-alive and `Connection: close` are
//! honoured (enough for curl, wrk, ab); one thread per connection.
//!
//! On SIGTERM or SIGINT it stops accepting, finishes in-flight requests, closes idle keep-alive
//! connections and exits 0. SIGHUP is logged and otherwise ignored.
//!
//! ```text
//! cargo run --example demo_server -- --port 18080 [options]
//!   --port N              port to bind when no socket is inherited (else $PORT); 0 = any
//!   --host ADDR           address to bind (default 127.0.0.1)
//!   --echo-env NAME       put $NAME in every answer (repeatable)
//!   --notify              send READY=1 to $NOTIFY_SOCKET once listening (abstract @ too)
//!   --ready-delay MS      wait MS before sending READY=1
//!   --never-ready         never send READY=1 (a Type=notify unit never finishes starting)
//!   --crash-after MS      exit 1 after MS milliseconds
//!   --exit-at-start       exit 1 at once, before listening
//!   --hang-on-stop        ignore SIGTERM/SIGINT (the service manager has to SIGKILL it)
//!   --leak-mb-per-sec N   allocate and touch N MiB per second, never freed
//!   --stdout-line TEXT    write TEXT as a line to stdout at start (repeatable)
//!   --stderr-line TEXT    write TEXT as a line to stderr at start (repeatable)
//!   --log-every MS        print "tick N pid P" to stdout every MS milliseconds
//!   --spin                keep one thread busy: a full core of CPU (status's CPU % tests)
//! ```
use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram, UnixListener, UnixStream};
use std::process::exit;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{SigSet, Signal};

const USAGE: &str = "usage: demo_server [--port N] [--host ADDR] [--echo-env NAME]... [--notify] \
[--ready-delay MS] [--never-ready] [--crash-after MS] [--exit-at-start] [--hang-on-stop] \
[--leak-mb-per-sec N] [--stdout-line TEXT]... [--stderr-line TEXT]... [--log-every MS] [--spin]";

#[derive(Default)]
struct Opts {
    port: Option<u16>,
    host: Option<String>,
    echo_env: Vec<String>,
    notify: bool,
    ready_delay: Option<u64>,
    never_ready: bool,
    crash_after: Option<u64>,
    exit_at_start: bool,
    hang_on_stop: bool,
    leak_mb_per_sec: Option<u64>,
    stdout_lines: Vec<String>,
    stderr_lines: Vec<String>,
    log_every: Option<u64>,
    spin: bool,
}

fn parse_args(argv: &[String]) -> Result<Opts, String> {
    fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
        s.parse()
            .map_err(|_| format!("{flag}: not a number: {s:?}"))
    }
    let mut o = Opts::default();
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        // accept --flag=value as well as --flag value
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let val = |it: &mut std::iter::Skip<std::slice::Iter<'_, String>>| match &inline {
            Some(v) => Ok(v.clone()),
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value")),
        };
        match flag {
            "--port" => o.port = Some(number(&val(&mut it)?, flag)?),
            "--host" => o.host = Some(val(&mut it)?),
            "--echo-env" => o.echo_env.push(val(&mut it)?),
            "--notify" => o.notify = true,
            "--ready-delay" => o.ready_delay = Some(number(&val(&mut it)?, flag)?),
            "--never-ready" => o.never_ready = true,
            "--crash-after" => o.crash_after = Some(number(&val(&mut it)?, flag)?),
            "--exit-at-start" => o.exit_at_start = true,
            "--hang-on-stop" => o.hang_on_stop = true,
            "--leak-mb-per-sec" => o.leak_mb_per_sec = Some(number(&val(&mut it)?, flag)?),
            "--stdout-line" => o.stdout_lines.push(val(&mut it)?),
            "--stderr-line" => o.stderr_lines.push(val(&mut it)?),
            "--log-every" => o.log_every = Some(number(&val(&mut it)?, flag)?),
            "--spin" => o.spin = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Listener {
    fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Listener::Unix(l) => match l.local_addr() {
                Ok(a) => describe_unix(&a),
                Err(_) => "unix".into(),
            },
        }
    }

    fn accept(&self) -> io::Result<Conn> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::Tcp(s)),
            Listener::Unix(l) => l.accept().map(|(s, _)| Conn::Unix(s)),
        }
    }

    /// Waits up to `ms` for a connection to accept. The socket may be shared with other
    /// processes (inherited from systemd), so the accept after this may still find none.
    fn wait_readable(&self, ms: u16) -> bool {
        use std::os::fd::AsFd;
        let fd = match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        };
        let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)).is_ok_and(|n| n > 0)
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }
}

fn describe_unix(a: &UnixAddr) -> String {
    if let Some(p) = a.as_pathname() {
        format!("unix:{}", p.display())
    } else if let Some(n) = a.as_abstract_name() {
        format!("unix:@{}", String::from_utf8_lossy(n))
    } else {
        "unix".into()
    }
}

impl Conn {
    fn set_read_timeout(&self, d: Duration) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_read_timeout(Some(d)),
            Conn::Unix(s) => s.set_read_timeout(Some(d)),
        }
    }
    fn close(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(Shutdown::Both),
            Conn::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sockets passed by systemd (sd_listen_fds), or none.
fn inherited_listeners() -> Vec<Listener> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let n = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.trim().parse::<RawFd>().ok())
        .unwrap_or(0);
    // like sd_listen_fds(1): children must not believe these are theirs
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    if !pid_ok || n <= 0 {
        return Vec::new();
    }
    (3..3 + n)
        .map(|fd| {
            // SAFETY: systemd passed these descriptors to us and nothing else owns them.
            let tcp = unsafe { TcpListener::from_raw_fd(fd) };
            if tcp.local_addr().is_ok() {
                Listener::Tcp(tcp)
            } else {
                // SAFETY: same descriptor, ownership moved out of the TcpListener.
                Listener::Unix(unsafe { UnixListener::from_raw_fd(tcp.into_raw_fd()) })
            }
        })
        .collect()
}

/// Sends a message to the service manager ($NOTIFY_SOCKET, path or @abstract).
fn sd_notify(msg: &str) {
    let Ok(path) = std::env::var("NOTIFY_SOCKET") else {
        eprintln!("demo_server: NOTIFY_SOCKET is not set, cannot send {msg:?}");
        return;
    };
    let sent = UnixDatagram::unbound().and_then(|sock| {
        if let Some(name) = path.strip_prefix('@') {
            let addr = UnixAddr::from_abstract_name(name.as_bytes())?;
            sock.send_to_addr(msg.as_bytes(), &addr)
        } else {
            sock.send_to(msg.as_bytes(), &path)
        }
    });
    if let Err(e) = sent {
        eprintln!("demo_server: sd_notify({msg:?}) to {path}: {e}");
    }
}

struct State {
    stopping: AtomicBool,
    active: AtomicUsize,
    requests: AtomicU64,
    pid: u32,
    /// the constant part of the answer, after `"request":N,`
    body_tail: String,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let opts = match parse_args(&argv) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("demo_server: {e}\n{USAGE}");
            exit(2);
        }
    };
    for line in &opts.stdout_lines {
        println!("{line}");
    }
    for line in &opts.stderr_lines {
        eprintln!("{line}");
    }
    if opts.exit_at_start {
        eprintln!("demo_server: exiting at start (--exit-at-start)");
        exit(1);
    }

    // Block the stop signals in every thread; a dedicated thread waits for them.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGHUP);
    if let Err(e) = signals.thread_block() {
        eprintln!("demo_server: cannot block signals: {e}");
        exit(1);
    }

    let mut listeners = inherited_listeners();
    let inherited = !listeners.is_empty();
    if !inherited {
        let port = opts.port.or_else(|| {
            std::env::var("PORT")
                .ok()
                .and_then(|p| p.trim().parse().ok())
        });
        let Some(port) = port else {
            eprintln!("demo_server: no socket from systemd (LISTEN_FDS) and no --port or $PORT");
            exit(2);
        };
        let host = opts.host.clone().unwrap_or_else(|| "127.0.0.1".into());
        match TcpListener::bind((host.as_str(), port)) {
            Ok(l) => listeners.push(Listener::Tcp(l)),
            Err(e) => {
                eprintln!("demo_server: cannot listen on {host}:{port}: {e}");
                exit(1);
            }
        }
    }
    let listen: Vec<String> = listeners.iter().map(Listener::describe).collect();

    let pid = std::process::id();
    let env: BTreeMap<&str, Option<String>> = opts
        .echo_env
        .iter()
        .map(|n| (n.as_str(), std::env::var(n).ok()))
        .collect();
    let body_tail = format!(
        "\"listen\":{},\"argv\":{},\"env\":{}}}\n",
        serde_json::to_string(&listen).unwrap(),
        serde_json::to_string(&argv).unwrap(),
        serde_json::to_string(&env).unwrap(),
    );
    let state = Arc::new(State {
        stopping: AtomicBool::new(false),
        active: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        pid,
        body_tail,
    });
    println!(
        "demo_server pid {pid} listening on {} ({})",
        listen.join(", "),
        if inherited {
            "sockets from systemd"
        } else {
            "bound itself"
        }
    );

    let listeners: Vec<Arc<Listener>> = listeners.into_iter().map(Arc::new).collect();
    let acceptors: Vec<_> = listeners
        .iter()
        .map(|l| {
            let (l, st) = (l.clone(), state.clone());
            thread::spawn(move || accept_loop(&l, &st))
        })
        .collect();

    if opts.notify && !opts.never_ready {
        let delay = opts.ready_delay;
        let what = listen.join(", ");
        thread::spawn(move || {
            if let Some(ms) = delay {
                thread::sleep(Duration::from_millis(ms));
            }
            sd_notify(&format!("READY=1\nSTATUS=listening on {what}"));
        });
    }
    if let Some(ms) = opts.crash_after {
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(ms));
            eprintln!("demo_server: crashing on purpose (--crash-after {ms})");
            exit(1);
        });
    }
    if let Some(ms) = opts.log_every {
        thread::spawn(move || {
            for n in 1u64.. {
                thread::sleep(Duration::from_millis(ms.max(1)));
                println!("tick {n} pid {pid}");
            }
        });
    }
    if let Some(mb) = opts.leak_mb_per_sec {
        thread::spawn(move || leak(mb));
    }
    if opts.spin {
        thread::spawn(|| {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        });
    }

    // Wait for a stop signal.
    loop {
        match signals.wait() {
            Ok(Signal::SIGHUP) => eprintln!("demo_server: got SIGHUP, carrying on"),
            Ok(sig) if opts.hang_on_stop => {
                eprintln!("demo_server: got {sig}, ignoring it (--hang-on-stop)")
            }
            Ok(sig) => {
                eprintln!("demo_server: got {sig}, shutting down gracefully");
                break;
            }
            Err(e) => {
                eprintln!("demo_server: sigwait: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    if opts.notify {
        sd_notify("STOPPING=1");
    }
    state.stopping.store(true, Ordering::SeqCst);
    for a in acceptors {
        let _ = a.join();
    }
    drop(listeners);
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let left = state.active.load(Ordering::SeqCst);
    if left > 0 {
        eprintln!("demo_server: {left} connections still busy after 30 s, exiting anyway");
    }
    eprintln!(
        "demo_server: stopped after {} requests",
        state.requests.load(Ordering::SeqCst)
    );
    exit(0);
}

fn accept_loop(l: &Listener, st: &Arc<State>) {
    // Non-blocking accept after poll: a listening socket shared with other instances must
    // never leave this thread blocked in accept() once stopping, and a connection accepted
    // while stopping is still served (dropping it would reset it).
    if let Err(e) = l.set_nonblocking() {
        eprintln!("demo_server: cannot make the listener non-blocking: {e}");
    }
    loop {
        if st.stopping.load(Ordering::SeqCst) {
            return;
        }
        if !l.wait_readable(100) {
            continue;
        }
        match l.accept() {
            Ok(c) => {
                st.active.fetch_add(1, Ordering::SeqCst);
                let st2 = st.clone();
                let spawned = thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || {
                        serve(c, &st2);
                        st2.active.fetch_sub(1, Ordering::SeqCst);
                    });
                if let Err(e) = spawned {
                    st.active.fetch_sub(1, Ordering::SeqCst);
                    eprintln!("demo_server: cannot spawn a thread: {e}");
                }
            }
            Err(e)
                if e.kind() == ErrorKind::Interrupted
                    || e.kind() == ErrorKind::WouldBlock
                    || e.kind() == ErrorKind::ConnectionAborted => {}
            Err(e) => {
                eprintln!("demo_server: accept: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

struct Request {
    head_len: usize,
    body_len: usize,
    keep_alive: bool,
    head_only: bool,
    sleep_ms: Option<u64>,
    bad: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses the request head at the start of `buf`, if it is complete.
fn parse_head(buf: &[u8]) -> Option<Request> {
    let end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let (method, path, version) = (parts.next(), parts.next(), parts.next());
    let bad =
        method.is_none() || path.is_none() || !version.is_some_and(|v| v.starts_with("HTTP/1."));
    let mut keep_alive = version == Some("HTTP/1.1");
    let mut body_len = 0;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let sleep_ms = path
        .and_then(|p| p.strip_prefix("/sleep/"))
        .and_then(|ms| ms.parse().ok());
    Some(Request {
        head_len: end,
        body_len,
        // no chunked request bodies here: answer, then close
        keep_alive: keep_alive && !chunked,
        head_only: method == Some("HEAD"),
        sleep_ms,
        bad,
    })
}

fn serve(mut c: Conn, st: &State) {
    let _ = c.set_read_timeout(Duration::from_millis(100));
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    let mut served = 0u64;
    let mut idle_since = Instant::now();
    loop {
        // answer every complete request already buffered (pipelining works too)
        while let Some(req) = parse_head(&buf) {
            if buf.len() < req.head_len + req.body_len {
                break;
            }
            buf.drain(..req.head_len + req.body_len);
            if let Some(ms) = req.sleep_ms {
                thread::sleep(Duration::from_millis(ms.min(600_000)));
            }
            let keep = req.keep_alive && !req.bad && !st.stopping.load(Ordering::SeqCst);
            if respond(&mut c, st, &req, keep).is_err() || !keep {
                c.close();
                return;
            }
            served += 1;
            idle_since = Instant::now();
        }
        if buf.len() > 64 * 1024 {
            let _ = c.write_all(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            c.close();
            return;
        }
        match c.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                if st.stopping.load(Ordering::SeqCst) {
                    // idle keep-alive connections go at once; a request still arriving gets 5 s,
                    // a fresh connection 1 s for its first bytes
                    let idle = idle_since.elapsed();
                    let grace = if !buf.is_empty() {
                        Duration::from_secs(5)
                    } else if served == 0 {
                        Duration::from_secs(1)
                    } else {
                        Duration::ZERO
                    };
                    if idle >= grace {
                        c.close();
                        return;
                    }
                }
            }
            Err(_) => return,
        }
    }
}

fn respond(c: &mut Conn, st: &State, req: &Request, keep: bool) -> io::Result<()> {
    let n = st.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let (status, body) = if req.bad {
        ("400 Bad Request", "bad request\n".to_string())
    } else {
        (
            "200 OK",
            format!("{{\"pid\":{},\"request\":{n},{}", st.pid, st.body_tail),
        )
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        body.len(),
        if keep { "keep-alive" } else { "close" }
    );
    if !req.head_only {
        out.push_str(&body);
    }
    c.write_all(out.as_bytes())
}

fn leak(mb_per_sec: u64) {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    let per_tick = (mb_per_sec * 1024 * 1024 / 10) as usize;
    loop {
        let mut block = vec![0u8; per_tick];
        // touch every page so it is really resident
        for i in (0..block.len()).step_by(4096) {
            block[i] = 1;
        }
        hoard.push(std::hint::black_box(block));
        thread::sleep(Duration::from_millis(100));
    }
}
