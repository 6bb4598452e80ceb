//! What the proxy costs per request, on loopback, beside a bare axum handler
//! measured in the same run.
//!
//! ```sh
//! cargo bench -p proxy --bench loopback            # about a minute after the build
//! cargo bench -p proxy --bench loopback -- --quick # a tenth of the requests
//! cargo bench -p proxy --bench loopback -- GET      # only targets whose name has "GET"
//! ```
//!
//! Everything runs in this process on 127.0.0.1: the sandbox CallKeeper
//! (the forwarder and the tracker really call it while the benchmark runs),
//! the proxy with a fresh SQLite store in a temporary directory, a bare
//! axum server, and the client (reqwest, keep-alive). With `DATABASE_URL`
//! set (a PostgreSQL, `synchronous_commit` as the server has it: on by
//! default), orders are also measured on PostgreSQL, through one proxy and
//! through three replicas on one schema (round-robin, in this process),
//! in a schema made for the run and dropped after it. Client and servers
//! share the machine's cores, so the figures compare the rows of one run;
//! they are not a capacity plan.
//!
//! For each target: the latency of one request at a time on one kept-alive
//! connection (p50, p99), then throughput with several connections at once.
//! Each phase is bounded in count and in time. Nothing here asserts a timing;
//! answers other than the expected status are counted and printed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use callkeeper::sandbox::{self, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// Requests before measuring, per target.
const WARMUP: usize = 200;
/// Sequential requests measured for latency, per target.
const SEQUENTIAL: usize = 2_000;
/// Requests measured for throughput, per target.
const CONCURRENT: usize = 4_000;
/// Connections at once in the throughput phase.
const CONNECTIONS: usize = 8;
/// No phase runs longer than this.
const PHASE_LIMIT: Duration = Duration::from_secs(20);
/// The page origin the bench site allows.
const ORIGIN: &str = "https://bench.example";

/// One measured target.
struct Target {
    name: &'static str,
    expect: StatusCode,
    request: Box<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>,
}

/// What one target measured.
struct Figures {
    sequential: Vec<Duration>,
    throughput: f64,
    measured: usize,
    unexpected: usize,
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let scale = if quick { 10 } else { 1 };
    // Words that are not options (cargo passes `--bench`) pick targets.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(run(scale, &only));
}

async fn run(scale: usize, only: &[String]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sandbox_url = start_sandbox().await;
    let proxy = start_proxy(&dir, &sandbox_url).await;
    let bare = start_bare().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("an HTTP client");

    // Leads for the status requests to read.
    let ids = Arc::new(create_leads(&client, &proxy, 64).await);
    let phones = Arc::new(AtomicUsize::new(1_000));

    let mut targets = vec![
        Target {
            name: "bare axum: GET, small JSON",
            expect: StatusCode::OK,
            request: Box::new({
                let url = format!("{bare}/status");
                move |client| client.get(&url)
            }),
        },
        Target {
            name: "proxy: GET /v1/callbacks/{id}",
            expect: StatusCode::OK,
            request: Box::new({
                let proxy = proxy.clone();
                let next = AtomicUsize::new(0);
                move |client| {
                    let id = &ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()];
                    client.get(format!("{proxy}/v1/callbacks/{id}"))
                }
            }),
        },
        Target {
            name: "bare axum: POST JSON, 202",
            expect: StatusCode::ACCEPTED,
            request: Box::new({
                let url = format!("{bare}/callbacks");
                let phones = phones.clone();
                move |client| {
                    let n = phones.fetch_add(1, Ordering::Relaxed);
                    client.post(&url).json(&order_body(n))
                }
            }),
        },
        Target {
            name: "proxy: POST /v1/sites/bench/callbacks",
            expect: StatusCode::ACCEPTED,
            request: Box::new({
                let url = format!("{proxy}/v1/sites/bench/callbacks");
                let phones = phones.clone();
                move |client| {
                    let n = phones.fetch_add(1, Ordering::Relaxed);
                    client
                        .post(&url)
                        .header("Origin", ORIGIN)
                        .header("X-Callback-Widget", "1")
                        .header("Idempotency-Key", format!("bench-{n}"))
                        .json(&order_body(n))
                }
            }),
        },
    ];

    let postgres = match std::env::var("DATABASE_URL") {
        Ok(url) => Some(Postgres::start(&url, &sandbox_url).await),
        Err(_) => None,
    };
    if let Some(postgres) = &postgres {
        for (name, replicas) in [
            (
                "proxy on PostgreSQL: POST, 1 replica",
                &postgres.replicas[..1],
            ),
            (
                "proxy on PostgreSQL: POST, 3 replicas",
                &postgres.replicas[..],
            ),
        ] {
            let urls: Vec<String> = replicas
                .iter()
                .map(|url| format!("{url}/v1/sites/bench/callbacks"))
                .collect();
            let phones = phones.clone();
            targets.push(Target {
                name,
                expect: StatusCode::ACCEPTED,
                request: Box::new(move |client| {
                    let n = phones.fetch_add(1, Ordering::Relaxed);
                    client
                        .post(&urls[n % urls.len()])
                        .header("Origin", ORIGIN)
                        .header("X-Callback-Widget", "1")
                        .header("Idempotency-Key", format!("bench-{n}"))
                        .json(&order_body(n))
                }),
            });
        }
    }

    println!(
        "loopback benchmark: {} core(s); {} sequential + {} concurrent requests ({} connections) per target, at most {} s a phase",
        std::thread::available_parallelism().map_or(1, usize::from),
        SEQUENTIAL / scale,
        CONCURRENT / scale,
        CONNECTIONS,
        PHASE_LIMIT.as_secs()
    );
    println!(
        "{:<40} {:>10} {:>10} {:>12} {:>11}",
        "target", "p50 µs", "p99 µs", "req/s", "unexpected"
    );
    let targets: Vec<Arc<Target>> = targets
        .into_iter()
        .filter(|target| {
            only.is_empty() || only.iter().any(|word| target.name.contains(word.as_str()))
        })
        .map(Arc::new)
        .collect();
    for target in &targets {
        let figures = measure(&client, target, scale).await;
        println!(
            "{:<40} {:>10} {:>10} {:>12.0} {:>11}",
            target.name,
            percentile(&figures.sequential, 50).as_micros(),
            percentile(&figures.sequential, 99).as_micros(),
            figures.throughput,
            figures.unexpected,
        );
        if figures.measured < (SEQUENTIAL + CONCURRENT) / scale {
            println!(
                "  (stopped by the time limit after {} requests)",
                figures.measured
            );
        }
    }
    if let Some(postgres) = postgres {
        postgres.drop_schema().await;
    }
}

/// Proxies on one PostgreSQL schema, made for this run.
struct Postgres {
    url: String,
    schema: String,
    replicas: Vec<String>,
}

impl Postgres {
    async fn start(url: &str, sandbox_url: &str) -> Self {
        use sqlx::Connection as _;
        let schema = format!("bench_{}", std::process::id());
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .expect("DATABASE_URL: a PostgreSQL to benchmark on");
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .execute(&mut connection)
        .await
        .expect("a schema for the benchmark");
        let joiner = if url.contains('?') { '&' } else { '?' };
        let store = format!("{url}{joiner}options[search_path]={schema}");
        let mut replicas = Vec::new();
        for _ in 0..3 {
            replicas.push(start_proxy_on(&store_table(&store), sandbox_url).await);
        }
        Self {
            url: url.to_owned(),
            schema,
            replicas,
        }
    }

    async fn drop_schema(self) {
        use sqlx::Connection as _;
        if let Ok(mut connection) = sqlx::PgConnection::connect(&self.url).await {
            let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
                .execute(&mut connection)
                .await;
        }
    }
}

/// `[store] url = …` for a config.
fn store_table(url: &str) -> String {
    format!("[store]\nurl = {url:?}\n\n")
}

/// Warms up, then measures one target.
async fn measure(client: &reqwest::Client, target: &Arc<Target>, scale: usize) -> Figures {
    for _ in 0..WARMUP / scale {
        let _ = send(client, target).await;
    }
    let mut unexpected = 0;

    let mut sequential = Vec::with_capacity(SEQUENTIAL / scale);
    let started = Instant::now();
    while sequential.len() < SEQUENTIAL / scale && started.elapsed() < PHASE_LIMIT {
        let sent = Instant::now();
        unexpected += usize::from(!send(client, target).await);
        sequential.push(sent.elapsed());
    }

    let remaining = Arc::new(AtomicUsize::new(CONCURRENT / scale));
    let done = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, target) = (client.clone(), target.clone());
            let (remaining, done, wrong) = (remaining.clone(), done.clone(), wrong.clone());
            tokio::spawn(async move {
                while remaining
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                    && started.elapsed() < PHASE_LIMIT
                {
                    if !send(&client, &target).await {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("a benchmark worker panicked");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let concurrent = done.load(Ordering::Relaxed);
    Figures {
        measured: sequential.len() + concurrent,
        sequential,
        throughput: concurrent as f64 / elapsed,
        unexpected: unexpected + wrong.load(Ordering::Relaxed),
    }
}

/// One request, its body read; whether it got the expected status.
async fn send(client: &reqwest::Client, target: &Target) -> bool {
    match (target.request)(client).send().await {
        Ok(response) => {
            let expected = response.status() == target.expect;
            expected && response.bytes().await.is_ok()
        }
        Err(_) => false,
    }
}

fn percentile(samples: &[Duration], percent: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted.get(rank).copied().unwrap_or_default()
}

/// A callback request as the widget sends it, for a distinct number each `n`.
fn order_body(n: usize) -> Value {
    json!({
        "phone": format!("+7998{:07}", n % 10_000_000),
        "elapsed_ms": 5000,
        "context": {
            "current_page": "https://bench.example/product/42",
            "referrer": "https://search.example/?q=callback",
            "utm": {"source": "bench", "medium": "cpc"},
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) bench"
        }
    })
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    url
}

/// The sandbox CallKeeper: calls end within a second, the balance never runs out.
async fn start_sandbox() -> String {
    let mut config = SandboxConfig {
        time_scale: 0.01,
        ..SandboxConfig::demo()
    };
    config.accounts[0].balance_minutes = u32::MAX / 2;
    serve(Sandbox::new(config).router()).await
}

/// The bare baseline: the same shapes of answer, no store, no checks.
async fn start_bare() -> String {
    let app = Router::new()
        .route(
            "/status",
            get(|| async {
                Json(json!({"state": "ordered", "final": false, "message": "Звоним вам", "eta_seconds": 20}))
            }),
        )
        .route(
            "/callbacks",
            post(|Json(_body): Json<Value>| async {
                (
                    StatusCode::ACCEPTED,
                    Json(json!({"id": "0123456789abcdef0123456789abcdef", "status": {"state": "received", "final": false, "message": "Заявка принята"}})),
                )
            }),
        );
    serve(app).await
}

/// The proxy on a SQLite file in `dir`, with one site, `bench`, whose
/// limits never stop the benchmark.
async fn start_proxy(dir: &tempfile::TempDir, sandbox_url: &str) -> String {
    let database = dir.path().join("bench.db").display().to_string();
    start_proxy_on(&format!("database = {database:?}\n"), sandbox_url).await
}

/// The proxy on the store `store` says (config lines), with one site,
/// `bench`, whose limits never stop the benchmark.
async fn start_proxy_on(store: &str, sandbox_url: &str) -> String {
    // The most a limit may be (config: 1 to 1000000).
    let many = 1_000_000;
    let config = format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nassets = \"dist\"\nstatus_poll_interval_ms = 1000\nreads_per_minute = {many}\nstatus_polls_per_minute = {many}\n{store}\n\
         [sites.bench]\nallowed_origins = [\"{ORIGIN}\"]\nupstream = \"{sandbox_url}\"\nunique = \"{unique}\"\n\
         api_key_env = \"BENCH_KEY\"\nwhash = \"{whash}\"\n\n\
         [sites.bench.limits]\nnumber_cooldown_minutes = 0\nnumber_per_day = {many}\nsite_per_hour = {many}\n\
         site_per_day = {many}\nip_burst = {many}\nip_per_minute = {many}\n\
         ip_per_day = {many}\nnetwork_per_day = {many}\n",
        unique = sandbox::DEMO_UNIQUE,
        whash = sandbox::DEMO_WHASH,
    );
    let config = proxy::config::Config::parse(&config, |_| Some(sandbox::DEMO_API_KEY.to_owned()))
        .expect("the bench config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let application = proxy::Application::build(config, listener)
        .await
        .expect("the proxy builds");
    let url = format!("http://{}", application.local_addr().expect("an address"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(application.run_until_stopped(shutdown));
    url
}

/// Orders `count` callbacks; returns their status tokens.
async fn create_leads(client: &reqwest::Client, proxy: &str, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let answer: Value = client
            .post(format!("{proxy}/v1/sites/bench/callbacks"))
            .header("Origin", ORIGIN)
            .header("X-Callback-Widget", "1")
            .header("Idempotency-Key", format!("seed-{n}"))
            .json(&order_body(n))
            .send()
            .await
            .expect("the proxy answers")
            .json()
            .await
            .expect("a JSON answer");
        let id = answer["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a lead was not stored: {answer}"));
        ids.push(id.to_owned());
    }
    ids
}
