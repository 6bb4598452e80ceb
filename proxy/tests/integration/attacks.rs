//! Attacks on the real binary from a second process (this test process),
//! on loopback only, with bounded loops: a slowloris and a status-stream
//! flood, while a legitimate visitor orders. Prints what was measured (run
//! with `--nocapture` to see it): sockets the attacker still holds, the
//! proxy's RSS before and after, and the legitimate requests' latency.
//!
//! The attacker connects from 127.0.0.2 and 127.0.0.3 (any 127/8 address is
//! loopback on Linux), the visitor from 127.0.0.1, so the per-address caps
//! are seen working on the attacker alone.

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{KEY, Stub, Visitor, config_toml, eventually, free_addr};

/// Slowloris sockets opened.
const SLOW_SOCKETS: usize = 300;
/// Streams the flood asks for, for one status token and from one address.
const FLOOD_STREAMS: usize = 40;

struct Binary(Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The proxy's resident memory, in kB, from /proc.
fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A connection from `source` (a loopback address) to `to`.
async fn connect_from(source: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(to).await
}

/// Whether the server closed (or reset) `stream`: a read ends at once.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => true,
        // Bytes (a 503 or 408 before the close) or nothing yet: read on once.
        Ok(Ok(_)) => matches!(
            tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        ),
        Err(_) => false,
    }
}

#[tokio::test]
async fn the_binary_holds_against_a_slowloris_and_a_stream_flood() {
    let stub = Stub::default();
    stub.set_default(crate::support::Reply::Hang); // leads stay open: streams stay open
    let upstream = stub.serve().await;
    let dir = crate::support::TestDir::new();
    let addr = free_addr();
    let config = dir.path().join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[server]\nheader_read_timeout_seconds = 2\nmax_connections = 2000\n\
             max_connections_per_ip = 100\n",
            config_toml(
                addr,
                &upstream,
                &dir.path().join("leads.db"),
                "limits = { ip_burst = 1000, ip_per_minute = 10000, ip_per_day = 100000, network_per_day = 100000, number_per_day = 100, number_cooldown_minutes = 0 }"
            )
        ),
    )
    .expect("config");
    let log = std::fs::File::create(dir.path().join("proxy.log")).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["serve", "--config"])
        .arg(&config)
        .env("SHOP_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the proxy binary starts");
    let binary = Binary(child);
    let pid = binary.0.id();
    let visitor = Visitor::of_shop(format!("http://{addr}"));
    eventually("the proxy is up", || async {
        reqwest::get(format!("{}/healthz", visitor.url))
            .await
            .is_ok()
    })
    .await;
    let warm = visitor.order_id("+79990004000").await;
    let rss_before = rss_kb(pid);

    // Slowloris from 127.0.0.2: a request head that never ends, a byte at a time.
    let attacker: IpAddr = [127, 0, 0, 2].into();
    let mut slow = Vec::new();
    let mut refused_at_connect = 0;
    for _ in 0..SLOW_SOCKETS {
        match connect_from(attacker, addr).await {
            Ok(mut stream) => {
                let _ = stream
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                    .await;
                slow.push(stream);
            }
            Err(_) => refused_at_connect += 1,
        }
    }
    // Stream flood from 127.0.0.3: many streams of one token.
    let flooder: IpAddr = [127, 0, 0, 3].into();
    let mut flood = Vec::new();
    let mut flood_ok = 0;
    for _ in 0..FLOOD_STREAMS {
        let Ok(mut stream) = connect_from(flooder, addr).await else {
            continue;
        };
        let request = format!("GET /v1/callbacks/{warm}/events HTTP/1.1\r\nHost: x\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            continue;
        }
        let mut head = [0u8; 12];
        if tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head))
            .await
            .is_ok_and(|read| read.is_ok())
            && &head[9..12] == b"200"
        {
            flood_ok += 1;
        }
        flood.push(stream);
    }
    let rss_attack = rss_kb(pid);

    // A legitimate visitor meanwhile, trickling one slowloris byte per round.
    let mut latencies = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(4) {
        for stream in &mut slow {
            let _ = stream.write_all(b"X").await;
        }
        let at = Instant::now();
        let (code, _, _) = visitor
            .order(&format!("+7999000{:04}", 4100 + n), &format!("legit{n}"))
            .await;
        latencies.push(at.elapsed());
        assert_eq!(code, 202, "a legitimate order during the attack");
        n += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut held = 0;
    for stream in &mut slow {
        if !closed_by_server(stream).await {
            held += 1;
        }
    }
    let rss_during = rss_kb(pid);
    drop(slow);
    drop(flood);
    // Bounded: the server notices the closed sockets within a few rounds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kb(pid);
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let worst = *latencies.last().expect("some requests");
    println!(
        "slowloris: {SLOW_SOCKETS} sockets opened from 127.0.0.2 ({refused_at_connect} refused at connect), \
         {held} still held after 4 s (header_read_timeout 2 s)"
    );
    println!("stream flood: {flood_ok} of {FLOOD_STREAMS} streams for one token got 200");
    println!(
        "RSS: {rss_before} kB before, {rss_attack} kB with every attack socket open, \
         {rss_during} kB after 4 s of attack, {rss_after} kB once the attacker left"
    );
    println!(
        "legitimate orders during the attack: {} orders, median {median:?}, worst {worst:?}",
        latencies.len()
    );
    assert_eq!(held, 0, "every slowloris socket is closed by the server");
    assert!(flood_ok <= 2, "at most 2 streams per token: {flood_ok}");
    assert!(
        worst < Duration::from_secs(1),
        "legitimate latency: {worst:?}"
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "memory comes back under control: {rss_before} → {rss_after} kB"
    );
}
