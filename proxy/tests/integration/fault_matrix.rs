//! The fault matrix, against the real `proxy` binary (a child process of
//! this test, as in `delivery.rs`) and a scripted CallKeeper on loopback.
//!
//! One row per fault. Each row says what the visitor sees (the POST's status
//! and the lead's status), what is stored and what is ordered (the stub's
//! counts), prints one summary line, and checks the two invariants: **no
//! 202 for a lead that is not stored**, and **no lead stored and then never
//! ordered nor failed/halted** (every stored lead settles within the bounded
//! wait).
//!
//! How each fault is made:
//! - *slow past the timeout*: CallKeeper's request timeout is the client's
//!   fixed 30 s (`callkeeper::REQUEST_TIMEOUT`, not configurable), so the stub
//!   takes the order and never answers ([`Reply::Hang`]); this row alone takes
//!   about 31 s, the other rows run meanwhile.
//! - *the store locked*: an outside connection holds `BEGIN EXCLUSIVE` past the
//!   store's 5 s busy timeout.
//! - *the store full*: SQLite's `max_page_count` is a per-connection setting,
//!   not kept in the file, so it cannot be set from outside; instead the binary
//!   runs under `ulimit -f` (`RLIMIT_FSIZE`, which binds root too) at the size
//!   of its checkpointed database, and writes past it fail as on a full disk.
//!   Then `prlimit` lifts the (soft) limit of the running binary. A lead taken
//!   just before the store filled up stays claimed (`sending`) until its send
//!   lease runs out (reconcile and orderCall at their deadlines, and the
//!   write: 79 s with the default CallKeeper timeout, 25 s with the 3 s
//!   this row sets), and is then ordered: that lease, not the test, sets
//!   this row's run time.
//! - *the store read-only*: the binary runs as `nobody` (via `setpriv`) on a
//!   store file and directory it may only read (chmod alone does not bind the
//!   root user these tests run as).
//!
//! Backoff is not configurable (1 s, 2 s, 4 s…), so the 5xx burst is three
//! answers long.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

use crate::support::{KEY, Reply, Stub, Visitor, config_toml, free_addr};

/// Limits roomy enough for the matrix's orders from one address.
const ROOMY: &str = "limits = { ip_burst = 1000, ip_per_minute = 1000, ip_per_day = 1000, network_per_day = 1000, site_per_hour = 1000, site_per_day = 1000 }";

/// Where a stored lead may end: ordered (or further), failed or halted.
const SETTLED: &[&str] = &[
    "ordered",
    "scheduled",
    "in_progress",
    "succeeded",
    "failed",
    "halted",
];

/// Every documented `{"status":"fail","reason":…}` of the spec with its HTTP code.
const DOCUMENTED_FAILS: &[(u16, &str)] = &[
    (400, "Key 'unique' is not defined!"),
    (400, "Key 'apiak' is not defined!"),
    (400, "Key 'whash' and 'walias' are not defined!"),
    (400, "Key 'calls' is not defined!"),
    (401, "Unauthorized host!"),
    (403, "Not the correct key api"),
    (404, "Mismatched request!"),
    (405, "Unknown request method!"),
    (406, "Wrong data type!"),
    (406, "Date is not array"),
    (409, "Not enough values"),
    (409, "Invalid manager or client phone number"),
    (409, "Phone not provided or invalid"),
    (412, "Unknown user"),
    (
        417,
        "Apiak or Hash shorter or longer then was required or not hexadecimal",
    ),
    (424, "Wrong pair whash or walias and apiak!"),
    (710, "The widget is disabled"),
];

/// The proxy binary as a child process; killed when dropped.
struct Binary {
    child: Child,
    visitor: Visitor,
}

impl std::ops::Deref for Binary {
    type Target = Visitor;
    fn deref(&self) -> &Visitor {
        &self.visitor
    }
}

/// How the binary is run.
enum Run {
    Plain,
    /// Under a soft `ulimit -f` of this many KiB (so it can be lifted).
    FileSizeLimit(u64),
    /// As `nobody`.
    Nobody,
}

impl Binary {
    /// Starts the binary on `config`; `Err` with its exit status when it
    /// stops before it serves.
    async fn start(config: &Path, url: String, run: Run) -> Result<Self, ExitStatus> {
        let binary = env!("CARGO_BIN_EXE_proxy");
        let mut command = match run {
            Run::Plain => {
                let mut command = Command::new(binary);
                command.args(["serve", "--config"]).arg(config);
                command
            }
            Run::FileSizeLimit(kib) => {
                // SIGXFSZ ignored (inherited across exec), so a write past the
                // limit fails with EFBIG instead of killing the process.
                let mut command = Command::new("bash");
                command
                    .arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; ulimit -S -f {kib}; exec \"$0\" serve --config \"$1\""
                    ))
                    .arg(binary)
                    .arg(config);
                command
            }
            Run::Nobody => {
                let mut command = Command::new("setpriv");
                command
                    .args([
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        binary,
                        "serve",
                        "--config",
                    ])
                    .arg(config);
                command
            }
        };
        // No log file: under `ulimit -f` a log would fill up too.
        let mut child = command
            .env("SHOP_KEY", KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the proxy binary starts");
        let health = format!("{url}/healthz");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if reqwest::get(&health).await.is_ok() {
                break;
            }
            if let Some(status) = child.try_wait().expect("child status") {
                return Err(status);
            }
            assert!(
                Instant::now() < deadline,
                "the binary neither serves nor exits"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self {
            child,
            visitor: Visitor::of_shop(url),
        })
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory with a config for site `shop` against `upstream`.
struct Setup {
    dir: crate::support::TestDir,
    config: PathBuf,
    database: PathBuf,
    url: String,
}

fn setup(upstream: &str) -> Setup {
    setup_with(upstream, "")
}

/// [`setup`] with `site_extra` in the site's table.
fn setup_with(upstream: &str, site_extra: &str) -> Setup {
    let dir = crate::support::TestDir::new();
    let addr = free_addr();
    let database = dir.path().join("leads.db");
    let config = dir.path().join("proxy.toml");
    // The matrix polls many statuses from one address.
    let polls = "status_polls_per_minute = 100000\nreads_per_minute = 100000\n";
    std::fs::write(
        &config,
        format!(
            "{polls}{}",
            config_toml(addr, upstream, &database, &format!("{ROOMY}\n{site_extra}"))
        ),
    )
    .expect("config");
    Setup {
        config,
        database,
        url: format!("http://{addr}"),
        dir,
    }
}

/// The stored states of the leads for `phone` (read from outside, read-only).
async fn stored_states(database: &Path, phone: &str) -> Vec<String> {
    let digits = phone.trim_start_matches('+');
    if crate::support::engine() == crate::support::TestEngine::Postgres {
        let dir = database.parent().expect("the store's directory");
        let store = proxy::store::Store::connect(&crate::support::store_url(dir))
            .await
            .expect("open the store");
        let leads = store.list(None, 100_000).await.expect("read the store");
        return leads
            .into_iter()
            .filter(|lead| lead.phone.ends_with(digits))
            .map(|lead| lead.state.as_str().to_owned())
            .collect();
    }
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", database.display()))
            .await
            .expect("open the store");
    let states: Vec<(String,)> = sqlx::query_as("SELECT state FROM leads WHERE phone LIKE $1")
        .bind(format!("%{digits}"))
        .fetch_all(&mut connection)
        .await
        .expect("read the store");
    states.into_iter().map(|(s,)| s).collect()
}

/// Polls `check` every 100 ms until it holds; false after `within`.
async fn within<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one row ended with.
#[derive(Debug)]
struct Outcome {
    fault: String,
    answer: u16,
    visitor: String,
    stored: Vec<String>,
    ordered: usize,
    attempts: usize,
}

impl Outcome {
    fn print(&self) {
        println!(
            "fault matrix | {:<58} | POST {} | visitor {:<26} | stored {:?} | placed {} (orderCall x{})",
            self.fault, self.answer, self.visitor, self.stored, self.ordered, self.attempts
        );
    }

    /// The two invariants.
    fn check_invariants(&self) {
        assert!(
            self.answer != 202 || self.stored.len() == 1,
            "{}: a 202 for a lead not stored once: {self:?}",
            self.fault
        );
        for state in &self.stored {
            assert!(
                SETTLED.contains(&state.as_str()),
                "{}: a stored lead neither ordered nor failed/halted: {self:?}",
                self.fault
            );
        }
    }
}

/// One upstream fault: the reply for one number, and what must come of it.
struct UpstreamRow {
    fault: String,
    phone: String,
    reply: Reply,
    /// The visitor's final `state` and `reason` (`None`: any ordered state).
    expect_failed: Option<&'static str>,
    placed: usize,
}

fn upstream_rows() -> Vec<UpstreamRow> {
    let mut rows = Vec::new();
    let mut next = 0_u32;
    let mut phone = || {
        next += 1;
        format!("+7999200{next:04}")
    };
    let placed = |fault: &str, phone: String, reply: Reply| UpstreamRow {
        fault: fault.to_owned(),
        phone,
        reply,
        expect_failed: None,
        placed: 1,
    };
    rows.push(placed(
        "slow past the 30 s timeout (Hang)",
        phone(),
        Reply::Hang,
    ));
    rows.push(placed(
        "connection reset mid-answer",
        phone(),
        Reply::ResetMidAnswer,
    ));
    rows.push(placed("invalid JSON with 200", phone(), Reply::Garbled));
    rows.push(placed(
        "503 burst (3 answers) then recovery",
        phone(),
        Reply::Unavailable,
    ));
    for &(code, reason) in DOCUMENTED_FAILS {
        let expect = if reason.starts_with("Invalid manager") || reason.starts_with("Phone not") {
            "invalid_number"
        } else {
            "not_ordered"
        };
        for http in [code, 200] {
            rows.push(UpstreamRow {
                fault: format!("fail {http}: {reason}"),
                phone: phone(),
                reply: Reply::Fail(http, reason),
                expect_failed: Some(expect),
                placed: 0,
            });
        }
    }
    rows.push(UpstreamRow {
        fault: "call status 811/0 (no minutes left)".to_owned(),
        phone: phone(),
        reply: Reply::AcceptThenStatus(811, 0),
        expect_failed: Some("not_ordered"),
        placed: 1,
    });
    rows.push(UpstreamRow {
        fault: "call status 710/0 (widget disabled)".to_owned(),
        phone: phone(),
        reply: Reply::AcceptThenStatus(710, 0),
        expect_failed: Some("not_ordered"),
        placed: 1,
    });
    rows.push(UpstreamRow {
        fault: "307 redirect to another host".to_owned(),
        phone: phone(),
        reply: Reply::RedirectElsewhere,
        expect_failed: Some("not_ordered"),
        placed: 0,
    });
    rows
}

/// Every upstream fault against one binary, one number per row.
async fn upstream_faults() -> Vec<Outcome> {
    let stub = Stub::default();
    let rows = upstream_rows();
    for row in &rows {
        stub.set_rule(row.phone.trim_start_matches('+'), row.reply);
    }
    let upstream = stub.serve().await;
    let setup = setup(&upstream);
    let proxy = Binary::start(&setup.config, setup.url.clone(), Run::Plain)
        .await
        .expect("the binary serves");

    let mut answers = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (code, body, _) = proxy.order(&row.phone, &format!("row{i}")).await;
        answers.push((code, body["id"].as_str().map(str::to_owned)));
    }

    // The burst: after three 503s CallKeeper is back.
    let burst = &rows[3];
    let digits = burst.phone.trim_start_matches('+').to_owned();
    let burst_seen = within(Duration::from_secs(20), || async {
        stub.order_attempts()
            .iter()
            .filter(|p| **p == digits)
            .count()
            >= 3
    })
    .await;
    assert!(burst_seen, "the 503 burst was retried three times");
    stub.set_rule(&digits, Reply::Accept);

    let mut outcomes = Vec::new();
    for (row, (answer, id)) in rows.iter().zip(answers) {
        assert_eq!(answer, 202, "{}: the lead is taken", row.fault);
        let id = id.expect("a status token");
        let settled = within(Duration::from_secs(75), || async {
            let shown = proxy.status(&id).await;
            match row.expect_failed {
                Some(_) => shown["final"] == true,
                None => matches!(
                    shown["state"].as_str(),
                    Some("ordered" | "in_progress" | "succeeded")
                ),
            }
        })
        .await;
        let shown = proxy.status(&id).await;
        let digits = row.phone.trim_start_matches('+');
        let outcome = Outcome {
            fault: row.fault.clone(),
            answer,
            visitor: visitor_state(&shown),
            stored: stored_states(&setup.database, &row.phone).await,
            ordered: stub.placed().iter().filter(|c| c.phone == digits).count(),
            attempts: stub
                .order_attempts()
                .iter()
                .filter(|p| p.as_str() == digits)
                .count(),
        };
        outcome.print();
        assert!(settled, "{}: settles in time: {outcome:?}", row.fault);
        match row.expect_failed {
            Some(reason) => assert_eq!(
                (shown["state"].as_str(), shown["reason"].as_str()),
                (Some("failed"), Some(reason)),
                "{}",
                row.fault
            ),
            None => assert!(
                matches!(
                    shown["state"].as_str(),
                    Some("ordered" | "in_progress" | "succeeded")
                ),
                "{}: {shown}",
                row.fault
            ),
        }
        assert_eq!(
            outcome.ordered, row.placed,
            "{}: placed exactly so often",
            row.fault
        );
        if row.placed == 0 && row.expect_failed.is_some() {
            assert_eq!(
                outcome.attempts, 1,
                "{}: a refusal is not retried",
                row.fault
            );
        }
        outcome.check_invariants();
        outcomes.push(outcome);
    }
    outcomes
}

fn visitor_state(shown: &Value) -> String {
    if shown["state"].is_null() {
        return shown.to_string();
    }
    match shown["reason"].as_str() {
        Some(reason) => format!("{}/{reason}", shown["state"].as_str().unwrap_or("?")),
        None => shown["state"].as_str().unwrap_or("?").to_owned(),
    }
}

/// The store locked by an outside `BEGIN EXCLUSIVE`: 503, nothing stored;
/// once released, the retry is stored and ordered.
async fn store_locked() -> Vec<Outcome> {
    let stub = Stub::default();
    let upstream = stub.serve().await;
    let setup = setup(&upstream);
    let proxy = Binary::start(&setup.config, setup.url.clone(), Run::Plain)
        .await
        .expect("the binary serves");
    let phone = "+79992100001";
    let mut blocker =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", setup.database.display()))
            .await
            .expect("open the store");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .expect("take the lock");
    let (locked_answer, body, retry_after) = proxy.order(phone, "locked").await;
    sqlx::query("ROLLBACK")
        .execute(&mut blocker)
        .await
        .expect("release the lock");
    let locked = Outcome {
        fault: "store locked (outside BEGIN EXCLUSIVE)".to_owned(),
        answer: locked_answer,
        visitor: format!("{} retry-after {retry_after:?}", body["error"]["code"]),
        stored: stored_states(&setup.database, phone).await,
        ordered: stub.placed().len(),
        attempts: stub.order_attempts().len(),
    };
    locked.print();
    assert_eq!(locked.answer, 503, "{body}");
    assert!(retry_after.is_some(), "the widget is told when to retry");
    assert!(locked.stored.is_empty(), "nothing stored while locked");
    locked.check_invariants();

    let (answer, body, _) = proxy.order(phone, "locked").await;
    let id = body["id"].as_str().expect("a status token").to_owned();
    let ordered = within(Duration::from_secs(20), || async {
        matches!(
            proxy.status(&id).await["state"].as_str(),
            Some("ordered" | "in_progress" | "succeeded")
        )
    })
    .await;
    let retried = Outcome {
        fault: "store locked, then released: the widget's retry".to_owned(),
        answer,
        visitor: visitor_state(&proxy.status(&id).await),
        stored: stored_states(&setup.database, phone).await,
        ordered: stub.placed().len(),
        attempts: stub.order_attempts().len(),
    };
    retried.print();
    assert_eq!(answer, 202);
    assert!(ordered, "the retry is ordered: {retried:?}");
    assert_eq!(retried.ordered, 1, "ordered once");
    retried.check_invariants();
    vec![locked, retried]
}

/// Starts the binary once so it creates its store, stops it and
/// checkpoints the store from outside: the database file holds everything.
async fn created_store(setup: &Setup) {
    let first = Binary::start(&setup.config, setup.url.clone(), Run::Plain)
        .await
        .expect("the binary serves");
    drop(first);
    let mut connection =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", setup.database.display()))
            .await
            .expect("open the store");
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await
        .expect("checkpoint");
    connection.close().await.expect("close");
}

/// The store full: no file may grow past the checkpointed database's size.
/// Orders until the store refuses one; then the disk gets room again
/// (`prlimit` lifts the limit of the running binary) and every lead taken
/// must settle.
async fn store_full() -> Vec<Outcome> {
    let stub = Stub::default();
    let upstream = stub.serve().await;
    // A short CallKeeper timeout, so that the lease of a send cut by the
    // full disk runs out sooner.
    let setup = setup_with(&upstream, crate::support::SHORT_UPSTREAM);
    created_store(&setup).await;
    let size = std::fs::metadata(&setup.database).expect("store").len();
    let proxy = Binary::start(
        &setup.config,
        setup.url.clone(),
        Run::FileSizeLimit(size.div_ceil(1024)),
    )
    .await
    .expect("the binary serves");

    let mut taken = Vec::new();
    let mut refused = None;
    for i in 0..30 {
        let phone = format!("+7999220{i:04}");
        let (answer, body, retry_after) = proxy.order(&phone, &format!("full{i}")).await;
        assert!(
            answer == 202 || answer == 503,
            "taken or 503, never another error: {answer} {body}"
        );
        if answer == 503 {
            refused = Some((phone, body, retry_after));
            break;
        }
        taken.push((phone, body["id"].as_str().expect("a token").to_owned()));
    }
    let (refused_phone, body, retry_after) = refused.expect("the full store refuses an order");
    let while_full: Vec<Vec<String>> = {
        let mut states = Vec::new();
        for (phone, _) in &taken {
            states.push(stored_states(&setup.database, phone).await);
        }
        states
    };
    let refusal = Outcome {
        fault: format!(
            "store full (RLIMIT_FSIZE {size} B), after {} taken",
            taken.len()
        ),
        answer: 503,
        visitor: format!("{} retry-after {retry_after:?}", body["error"]["code"]),
        stored: stored_states(&setup.database, &refused_phone).await,
        ordered: stub.placed().len(),
        attempts: stub.order_attempts().len(),
    };
    refusal.print();
    println!("fault matrix |   while full, the taken leads are stored as {while_full:?}");
    assert!(refusal.stored.is_empty(), "the refused lead is not stored");

    // Room again: the limit of the running binary is lifted.
    let lifted = Command::new("prlimit")
        .arg(format!("--pid={}", proxy.child.id()))
        .arg("--fsize=unlimited:")
        .status()
        .expect("prlimit runs");
    assert!(lifted.success(), "the limit is lifted");
    let mut outcomes = vec![refusal];
    for (phone, id) in &taken {
        let settled = within(Duration::from_secs(120), || async {
            SETTLED.contains(&proxy.status(id).await["state"].as_str().unwrap_or(""))
        })
        .await;
        let digits = phone.trim_start_matches('+');
        let outcome = Outcome {
            fault: format!("store full, then room again: {phone}"),
            answer: 202,
            visitor: visitor_state(&proxy.status(id).await),
            stored: stored_states(&setup.database, phone).await,
            ordered: stub.placed().iter().filter(|c| c.phone == digits).count(),
            attempts: stub
                .order_attempts()
                .iter()
                .filter(|p| p.as_str() == digits)
                .count(),
        };
        outcome.print();
        assert!(settled, "settles once there is room: {outcome:?}");
        assert_eq!(outcome.ordered, 1, "ordered once: {outcome:?}");
        outcome.check_invariants();
        outcomes.push(outcome);
    }
    outcomes
}

/// The store read-only: the binary runs as `nobody` on a store it may
/// only read.
async fn store_read_only() -> Vec<Outcome> {
    use std::os::unix::fs::PermissionsExt;
    let stub = Stub::default();
    let upstream = stub.serve().await;
    let setup = setup(&upstream);
    created_store(&setup).await;
    // `nobody` may enter the directory and read the config and the store, write nothing.
    for (path, mode) in [
        (setup.dir.path().to_path_buf(), 0o555),
        (setup.config.clone(), 0o444),
        (setup.database.clone(), 0o444),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let phone = "+79992300001";
    let outcome = match Binary::start(&setup.config, setup.url.clone(), Run::Nobody).await {
        Err(status) => Outcome {
            fault: format!("store read-only: the binary refuses to start ({status})"),
            answer: 0,
            visitor: "connection refused".to_owned(),
            stored: stored_states(&setup.database, phone).await,
            ordered: stub.placed().len(),
            attempts: stub.order_attempts().len(),
        },
        Ok(proxy) => {
            let (answer, body, retry_after) = proxy.order(phone, "readonly").await;
            Outcome {
                fault: "store read-only (serving)".to_owned(),
                answer,
                visitor: format!("{} retry-after {retry_after:?}", body["error"]["code"]),
                stored: stored_states(&setup.database, phone).await,
                ordered: stub.placed().len(),
                attempts: stub.order_attempts().len(),
            }
        }
    };
    outcome.print();
    assert!(
        outcome.answer == 0 || outcome.answer == 503,
        "no 202 and no other error: {outcome:?}"
    );
    assert!(outcome.stored.is_empty(), "nothing stored: {outcome:?}");
    assert_eq!(outcome.attempts, 0, "nothing ordered");
    outcome.check_invariants();
    std::fs::set_permissions(setup.dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod back for the clean-up");
    vec![outcome]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_leaves_no_202_unstored_and_no_stored_lead_unsettled() {
    let started = Instant::now();
    // The store's faults are the SQLite file's (its lock, a full disk, a
    // read-only file); CallKeeper's are run on either engine.
    let (upstream, locked, full, read_only) = if crate::support::sqlite_only(
        "the store-fault rows (SQLite's lock, full disk, read-only file)",
    ) {
        (upstream_faults().await, Vec::new(), Vec::new(), Vec::new())
    } else {
        tokio::join!(
            upstream_faults(),
            store_locked(),
            store_full(),
            store_read_only()
        )
    };
    let rows = upstream.len() + locked.len() + full.len() + read_only.len();
    println!(
        "fault matrix | {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
