//! A small HTTP load generator for the reload tests and benchmarks (std only).
//!
//! `loadgen --addr 127.0.0.1:3000 --connections 8 --duration-ms 5000 [--keepalive]`
//! sends `GET /` as fast as it can from each connection (a new TCP connection per request
//! with `Connection: close`, or one kept-alive connection per worker, opened again after a
//! response that says `Connection: close`, as HTTP/1.1 clients do) and prints one JSON
//! line: requests, failed, the kinds of failure, and latency percentiles in milliseconds.
//! Stop early by creating the file given by `--stop-file`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    kinds: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Read one HTTP/1.1 response with a Content-Length body; true when it is a 200.
/// Read one response: whether it was a 200, and whether the server said `Connection: close`
/// (then, as HTTP/1.1 requires, the next request goes on a new connection).
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<(bool, bool)> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk)?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let close = head.lines().any(|l| {
                l.strip_prefix("connection:")
                    .is_some_and(|v| v.trim() == "close")
            });
            return Ok((
                head.starts_with("http/1.1 200") || head.starts_with("http/1.0 200"),
                close,
            ));
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = arg(&args, "--addr")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()
        .expect("--addr HOST:PORT");
    let conns: usize = arg(&args, "--connections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let duration = Duration::from_millis(
        arg(&args, "--duration-ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5000),
    );
    let stop_file = arg(&args, "--stop-file");
    let keepalive = args.iter().any(|a| a == "--keepalive");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            let tally = tally.clone();
            let stop_file = stop_file.clone();
            std::thread::spawn(move || {
                let mut local = Tally::default();
                let mut conn: Option<TcpStream> = None;
                let mut buf = Vec::with_capacity(8192);
                let mut n = 0u64;
                while start.elapsed() < duration {
                    n += 1;
                    if n % 64 == 0
                        && stop_file
                            .as_deref()
                            .is_some_and(|f| std::path::Path::new(f).exists())
                    {
                        break;
                    }
                    let t0 = Instant::now();
                    let result = (|| -> Result<(bool, bool), String> {
                        if conn.is_none() {
                            let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                                .map_err(|e| format!("connect: {:?}", e.kind()))?;
                            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
                            s.set_nodelay(true).ok();
                            conn = Some(s);
                        }
                        let s = conn.as_mut().expect("connected");
                        let req = if keepalive {
                            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                        } else {
                            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        };
                        s.write_all(req.as_bytes())
                            .map_err(|e| format!("write: {:?}", e.kind()))?;
                        read_response(s, &mut buf).map_err(|e| format!("read: {:?}", e.kind()))
                    })();
                    if !keepalive || result.as_ref().map_or(true, |(_, close)| *close) {
                        conn = None;
                    }
                    match result.map(|(ok, _)| ok) {
                        Ok(true) => {
                            local.ok += 1;
                            local.latencies_us.push(t0.elapsed().as_micros() as u64);
                        }
                        Ok(false) => {
                            local.failed += 1;
                            *local.kinds.entry("status".into()).or_default() += 1;
                        }
                        Err(kind) => {
                            local.failed += 1;
                            *local.kinds.entry(kind).or_default() += 1;
                        }
                    }
                }
                let mut t = tally.lock().expect("tally");
                t.ok += local.ok;
                t.failed += local.failed;
                for (k, v) in local.kinds {
                    *t.kinds.entry(k).or_default() += v;
                }
                t.latencies_us.extend(local.latencies_us);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let mut t = tally.lock().expect("tally");
    t.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if t.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((t.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        t.latencies_us[i] as f64 / 1000.0
    };
    let kinds: Vec<String> = t
        .kinds
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    println!(
        "{{\"requests\":{},\"failed\":{},\"kinds\":{{{}}},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"seconds\":{:.2},\"keepalive\":{}}}",
        t.ok + t.failed,
        t.failed,
        kinds.join(","),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        start.elapsed().as_secs_f64(),
        keepalive
    );
}
