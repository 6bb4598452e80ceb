//! The owners' console over HTTP, against the real server on both store
//! engines (issue 15): an account sees and acts on its own sites only, URL
//! guessing included; every form without the session's CSRF token is
//! refused; logins are rate-limited; the session cookie is `HttpOnly`,
//! `Secure` and `SameSite=Strict`; a console on a network address without
//! accounts refuses to start; an order from the console's own origin (the
//! install preview) is stored as a test. The browser's view is
//! `tests/tests/console.rs`.

use std::sync::OnceLock;

use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::support::{Stub, TestProxy, Visitor, config_toml, free_addr};

const PASSWORD: &str = "correct horse battery";

/// One hash for every test (argon2 is slow on purpose).
fn hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| proxy::console::hash_password(PASSWORD).expect("hash"))
}

/// Site `shop` (the harness's) and `other`, with `anna` seeing `shop` only
/// and `olga` seeing `other` only; a login even on loopback.
fn two_owners(extra: &str) -> String {
    format!(
        "{extra}\n[sites.other]\nallowed_origins = [\"https://other.example\"]\nupstream = \"http://127.0.0.1:9/\"\n\
         unique = \"example_company\"\napi_key_env = \"SHOP_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n\n\
         [console]\nrequire_login = true\n\n\
         [[console.accounts]]\nname = \"anna\"\npassword_hash = \"{hash}\"\nsites = [\"shop\"]\n\n\
         [[console.accounts]]\nname = \"olga\"\npassword_hash = \"{hash}\"\nsites = [\"other\"]\n",
        hash = hash()
    )
}

async fn proxy_with_two_owners(stub: &Stub) -> TestProxy {
    let upstream = stub.serve().await;
    TestProxy::start(|dir| {
        config_toml(
            free_addr(),
            &upstream,
            &dir.join("leads.db"),
            &two_owners(""),
        )
    })
    .await
}

/// A browser of the console, cookies kept by hand (they are `Secure`, and
/// the test speaks plain HTTP on loopback as a browser may).
struct Owner {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Owner {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) -> Vec<String> {
        let set: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for line in &set {
            if let Some((name, value)) = line.split(';').next().and_then(|p| p.split_once('=')) {
                self.cookies.retain(|(k, _)| k != name);
                if !value.is_empty() {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        set
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("the console answers");
        self.keep_cookies(&response);
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("the console answers");
        self.keep_cookies(&response);
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// Logs in as `name`; returns the login's status and its `Set-Cookie` lines.
    async fn log_in(&mut self, name: &str, password: &str) -> (StatusCode, Vec<String>) {
        let (_, page) = self.get("/console/login").await;
        let token = csrf_in(&page);
        let response = self
            .http
            .post(format!("{}/console/login", self.base))
            .header("cookie", self.cookie_header())
            .form(&[
                ("csrf", token.as_str()),
                ("name", name),
                ("password", password),
            ])
            .send()
            .await
            .expect("the console answers");
        let set = self.keep_cookies(&response);
        (response.status(), set)
    }

    /// The CSRF token of the session (from any page's forms).
    async fn csrf(&mut self) -> String {
        let (_, page) = self.get("/console/").await;
        csrf_in(&page)
    }
}

fn csrf_in(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("a form with a token: {page}"))
        + "name=\"csrf\" value=\"".len();
    page[start..].split('"').next().expect("value").to_owned()
}

async fn order_on(proxy: &TestProxy, site: &str, origin: &str, phone: &str) -> String {
    let visitor = Visitor {
        url: proxy.url.clone(),
        site: site.to_owned(),
        origin: origin.to_owned(),
        as_widget: true,
    };
    visitor.order_id(phone).await
}

#[tokio::test]
async fn an_owner_sees_and_acts_on_their_own_sites_only_even_by_guessing_urls() {
    let stub = Stub::default();
    stub.set_default(crate::support::Reply::Fail(403, "Not the correct key api"));
    let proxy = proxy_with_two_owners(&stub).await;
    let shops = order_on(&proxy, "shop", "https://shop.example", "+79991234567").await;
    let others = order_on(&proxy, "other", "https://other.example", "+79997654321").await;

    let mut anna = Owner::new(&proxy.admin_url);
    let (status, _) = anna.log_in("anna", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, overview) = anna.get("/console/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.contains("id=\"site-shop\""), "{overview}");
    assert!(!overview.contains("site-other"), "{overview}");

    let (_, leads) = anna.get("/console/leads").await;
    assert!(leads.contains(&shops), "her site's lead is listed");
    assert!(!leads.contains(&others), "another's is not");
    let (_, page) = anna.get(&format!("/console/leads/{shops}")).await;
    assert!(
        page.contains("data-state=\"received\""),
        "the timeline starts with received: {page}"
    );

    let csrf = anna.csrf().await;
    let guesses = [
        "/console/sites/other".to_owned(),
        "/console/sites/other/install".to_owned(),
        "/console/sites/other/preview".to_owned(),
        "/console/leads?site=other".to_owned(),
        format!("/console/leads/{others}"),
        format!("/console/leads/{others}/resend"),
        "/console/export.csv?site=other".to_owned(),
        "/console/sites/nowhere".to_owned(),
        "/console/leads/0123456789abcdef0123456789abcdef".to_owned(),
    ];
    for path in &guesses {
        let (status, _) = anna.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}");
    }
    for action in ["reveal", "resend"] {
        let path = format!("/console/leads/{others}/{action}");
        let (status, body) = anna
            .post(&path, &[("csrf", csrf.as_str()), ("force", "1")])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {path}");
        assert!(!body.contains("79997654321"), "nothing of the lead leaks");
    }
    let (_, csv) = anna.get("/console/export.csv").await;
    assert!(csv.starts_with("id,site,created_at,"), "{csv}");
    assert!(csv.contains(&shops) && !csv.contains(&others), "{csv}");

    // Olga sees the other site, and its lead whole once she reveals it.
    let mut olga = Owner::new(&proxy.admin_url);
    olga.log_in("olga", PASSWORD).await;
    let (status, _) = olga.get(&format!("/console/leads/{shops}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let csrf = olga.csrf().await;
    let (status, page) = olga
        .post(
            &format!("/console/leads/{others}/reveal"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("+79997654321"), "{page}");
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let stub = Stub::default();
    stub.set_default(crate::support::Reply::Fail(403, "Not the correct key api"));
    let proxy = proxy_with_two_owners(&stub).await;
    let lead = order_on(&proxy, "shop", "https://shop.example", "+79991234567").await;
    let mut anna = Owner::new(&proxy.admin_url);
    anna.log_in("anna", PASSWORD).await;
    let csrf = anna.csrf().await;
    let reveal = format!("/console/leads/{lead}/reveal");
    let resend = format!("/console/leads/{lead}/resend");
    for (path, form) in [
        (reveal.as_str(), vec![]),
        (reveal.as_str(), vec![("csrf", "0".repeat(64))]),
        (resend.as_str(), vec![("force", "1".to_owned())]),
        ("/console/logout", vec![]),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = anna.post(path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} {form:?}");
        assert!(!body.contains("79991234567"), "{body}");
    }
    // Still logged in, and with the token the same form works.
    let (status, page) = anna.post(&reveal, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("+79991234567"));

    // The login form has a token too (bound to a cookie): without it, no login.
    let mut stranger = Owner::new(&proxy.admin_url);
    let (status, _) = stranger
        .post(
            "/console/login",
            &[("name", "anna"), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // And nobody without a session reaches a page or a form.
    let (status, _) = stranger.get("/console/leads").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "sent to the login");
    let (status, _) = stranger.post(&reveal, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another's token is no use");
}

#[tokio::test]
async fn logins_are_rate_limited_and_the_session_cookie_is_locked_down() {
    let stub = Stub::default();
    let proxy = proxy_with_two_owners(&stub).await;
    let mut anna = Owner::new(&proxy.admin_url);
    let (status, set) = anna.log_in("anna", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = set
        .iter()
        .find(|c| c.starts_with("console_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }

    let mut guesser = Owner::new(&proxy.admin_url);
    for _ in 0..5 {
        let (status, _) = guesser.log_in("anna", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, set) = guesser.log_in("anna", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password after five wrong ones in 15 minutes is not even checked"
    );
    assert!(!set.iter().any(|c| c.starts_with("console_session=")));
}

#[tokio::test]
async fn an_order_from_the_console_origin_is_stored_as_a_test() {
    let stub = Stub::default();
    stub.set_default(crate::support::Reply::Accept);
    let proxy = proxy_with_two_owners(&stub).await;
    let from_preview = order_on(&proxy, "shop", &proxy.admin_url, "+79991234567").await;
    let from_site = order_on(&proxy, "shop", "https://shop.example", "+79991234568").await;
    let store = proxy::store::Store::connect(&proxy.store)
        .await
        .expect("store");
    let test = |id: String| {
        let store = store.clone();
        async move { store.get(&id).await.expect("read").expect("stored").test }
    };
    assert!(test(from_preview).await, "ordered from the console's page");
    assert!(!test(from_site).await, "ordered from the site");
    // Another page of loopback is not the console.
    let (status, _, _) = Visitor {
        origin: "http://127.0.0.1:1".to_owned(),
        ..Visitor::of_shop(proxy.url.clone())
    }
    .send(
        "http://127.0.0.1:1",
        None,
        &serde_json::json!({"phone": "+79991234569"}),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_on_a_network_address_without_accounts_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = config_toml(
        free_addr(),
        "http://127.0.0.1:9/",
        &dir.path().join("leads.db"),
        "",
    )
    .replace(
        "admin_listen = \"127.0.0.1:0\"",
        "admin_listen = \"0.0.0.0:0\"",
    );
    let config = proxy::config::Config::parse(&text, |_| Some(crate::support::KEY.to_owned()))
        .expect("the config itself is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let refused = proxy::Application::build(config, listener)
        .await
        .expect_err("refuses to start");
    assert!(
        refused.to_string().contains("console.accounts"),
        "{refused}"
    );

    // The binary says so and exits non-zero, before it listens.
    let path = dir.path().join("proxy.toml");
    std::fs::write(&path, &text).expect("write");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .env("SHOP_KEY", crate::support::KEY)
            .output()
    })
    .await
    .expect("joined")
    .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs a login"), "{stderr}");

    // With the console off, the same address serves the monitors only.
    let off = format!("{text}\n[console]\nenabled = false\n");
    let proxy = TestProxy::start(|_| off).await;
    assert_eq!(proxy.admin_get("/metrics").await.0, 200);
    assert_eq!(proxy.admin_get("/console/").await.0, 404);
}

#[tokio::test]
async fn a_console_on_a_network_address_with_accounts_asks_for_a_login() {
    let stub = Stub::default();
    let upstream = stub.serve().await;
    let proxy = TestProxy::start(|dir| {
        config_toml(
            free_addr(),
            &upstream,
            &dir.join("leads.db"),
            &two_owners(""),
        )
        .replace("require_login = true", "")
        .replace(
            "admin_listen = \"127.0.0.1:0\"",
            "admin_listen = \"0.0.0.0:0\"",
        )
    })
    .await;
    let base = proxy.admin_url.replace("0.0.0.0", "127.0.0.1");
    let mut visitor = Owner::new(&base);
    let (status, _) = visitor.get("/console/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = visitor.get("/console/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("type=\"password\""), "{page}");
}

#[tokio::test]
async fn the_store_reads_the_console_makes_agree_on_both_engines() {
    use proxy::lead::{LeadState, NewLead, Transition};
    use proxy::store::{LeadFilter, Store};
    let dir = crate::support::TestDir::new();
    let store = Store::connect(&crate::support::store_url(dir.path()))
        .await
        .expect("store");
    let day = 86_400_000;
    for (id, site, at, test) in [
        ("a", "shop", 10 * day + 5, false),
        ("b", "shop", 11 * day + 5, true),
        ("c", "other", 11 * day + 6, false),
    ] {
        store
            .insert(NewLead {
                id: id.to_owned(),
                site: site.to_owned(),
                idempotency_key: id.to_owned(),
                body_hash: String::new(),
                phone: "79991234567".to_owned(),
                ip: None,
                request: serde_json::from_value(serde_json::json!({"phone": "79991234567"}))
                    .expect("request"),
                now: at,
                test,
            })
            .await
            .expect("insert");
    }
    let at = 11 * day + 100;
    let ordered = Transition {
        state: Some(LeadState::Ordered),
        upstream_id: Some("1001".to_owned()),
        ..Transition::default()
    };
    let ringing = Transition {
        state: Some(LeadState::InProgress),
        status: Some((1, 0)),
        call_attempt: Some(1),
        ..Transition::default()
    };
    let polled_again = Transition {
        status: Some((1, 0)),
        ..Transition::default()
    };
    let busy = Transition {
        status: Some((200, 486)),
        ..Transition::failed("busy")
    };
    for (n, change) in [ordered, ringing, polled_again, busy].iter().enumerate() {
        store
            .transition("a", change, at + n as i64)
            .await
            .expect("transition");
    }
    let events = store.events("a").await.expect("events");
    let steps: Vec<_> = events
        .iter()
        .map(|e| (e.state, e.status, e.reason.as_deref()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (LeadState::Received, None, None),
            (LeadState::Ordered, None, None),
            (LeadState::InProgress, Some((1, 0)), None),
            (LeadState::Failed, Some((200, 486)), Some("busy")),
        ],
        "one step per change of state or status, none for a poll that changed nothing"
    );
    assert_eq!(events[0].at, 10 * day + 5);

    let shop = LeadFilter {
        sites: Some(vec!["shop".to_owned()]),
        ..LeadFilter::default()
    };
    let ids = |leads: Vec<proxy::lead::Lead>| leads.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_where(&shop, 0, 10).await.expect("list")),
        ["b", "a"]
    );
    assert_eq!(
        ids(store.list_where(&shop, 1, 10).await.expect("list")),
        ["a"]
    );
    assert_eq!(store.count(&shop).await.expect("count"), 2);
    let one_day = LeadFilter {
        created_from: Some(11 * day),
        created_until: Some(12 * day),
        ..shop.clone()
    };
    assert_eq!(
        ids(store.list_where(&one_day, 0, 10).await.expect("list")),
        ["b"]
    );
    let failed = LeadFilter {
        state: Some(LeadState::Failed),
        ..LeadFilter::default()
    };
    assert_eq!(
        ids(store.list_where(&failed, 0, 10).await.expect("list")),
        ["a"]
    );
    let nobody = LeadFilter {
        sites: Some(Vec::new()),
        ..LeadFilter::default()
    };
    assert_eq!(store.count(&nobody).await.expect("count"), 0);
    let outcomes = store.outcomes(&shop).await.expect("outcomes");
    assert_eq!(outcomes.len(), 2);
    assert!(
        outcomes
            .iter()
            .any(|o| o.test && o.created_at == 11 * day + 5)
    );
}

#[tokio::test]
async fn the_demo_opens_the_console_without_a_login() {
    let demo = TestProxy::demo(0.01, 20, "", std::sync::Arc::new(proxy::clock::SystemClock)).await;
    let mut owner = Owner::new(&demo.admin_url);
    let (status, page) = owner.get("/console/").await;
    assert_eq!(status, StatusCode::OK, "no login on loopback");
    assert!(page.contains("id=\"site-demo\""), "{page}");
    let (status, install) = owner.get("/console/sites/demo/install").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        install.contains(&format!("{}/widget.js", demo.url)),
        "the demo's public URL is its API: {install}"
    );
    // The session it opened carries a token, and forms still need it.
    let lead = demo.order_id("+79991234567").await;
    let (status, _) = owner
        .post(&format!("/console/leads/{lead}/reveal"), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_password_prints_a_hash_the_config_takes() {
    let run = |input: &'static str| {
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
                .arg("admin-password")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("runs");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write");
            child.wait_with_output().expect("output")
        })
    };
    let output = run("correct horse battery\n").await.expect("joined");
    assert!(output.status.success());
    let hash = String::from_utf8(output.stdout)
        .expect("text")
        .trim()
        .to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    let account = format!(
        "\n[console]\nrequire_login = true\n\n[[console.accounts]]\nname = \"anna\"\npassword_hash = \"{hash}\"\nsites = [\"shop\"]\n"
    );
    let proxy = TestProxy::start(|dir| {
        config_toml(
            free_addr(),
            "http://127.0.0.1:9/",
            &dir.join("leads.db"),
            "",
        ) + &account
    })
    .await;
    let mut anna = Owner::new(&proxy.admin_url);
    assert_eq!(
        anna.log_in("anna", PASSWORD).await.0,
        StatusCode::SEE_OTHER,
        "the printed hash is a valid password_hash, and the password logs in"
    );

    let short = run("short\n").await.expect("joined");
    assert!(!short.status.success(), "a short password is refused");
}
