//! `proxy doctor` against the sandbox CallKeeper: it passes a good setup,
//! and each mistake it looks for fails its own check, with a fix, while the
//! checks it could still make keep passing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use callkeeper::sandbox::{
    DEMO_API_KEY, DEMO_UNIQUE, DEMO_WHASH, RunningSandbox, Sandbox, SandboxConfig,
};
use proxy::doctor::{Outcome, Report, examine};

use crate::support::{TestProxy, config_toml, free_addr};

/// One setup to examine; each test changes one thing from the good one.
struct Setup {
    upstream: String,
    key: &'static str,
    key_mode: u32,
    whash: &'static str,
    origin: &'static str,
    admin_listen: &'static str,
    public_url: String,
}

impl Setup {
    fn good(sandbox: &RunningSandbox, public_url: String) -> Self {
        Self {
            upstream: sandbox.url().to_string(),
            key: DEMO_API_KEY,
            key_mode: 0o600,
            whash: DEMO_WHASH,
            origin: "https://shop.example",
            admin_listen: "127.0.0.1:9090",
            public_url,
        }
    }

    /// Writes the key file and the config into `dir`; the config's path.
    fn write(&self, dir: &Path) -> PathBuf {
        let key_file = dir.join("shop.key");
        std::fs::write(&key_file, self.key).expect("write the key");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(self.key_mode))
            .expect("chmod the key");
        let config = dir.join("proxy.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:8080\"\nadmin_listen = \"{admin}\"\npublic_url = \"{public}\"\n\
                 database = \"{db}\"\n\n[sites.shop]\nallowed_origins = [\"{origin}\"]\n\
                 upstream = \"{upstream}\"\nunique = \"{DEMO_UNIQUE}\"\nwhash = \"{whash}\"\n\
                 api_key_file = \"{key}\"\n",
                admin = self.admin_listen,
                public = self.public_url,
                db = dir.join("leads.db").display(),
                origin = self.origin,
                upstream = self.upstream,
                whash = self.whash,
                key = key_file.display(),
            ),
        )
        .expect("write the config");
        config
    }

    async fn examine(&self) -> Report {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = examine(&self.write(dir.path())).await;
        println!("{report}");
        report
    }
}

async fn sandbox(config: SandboxConfig) -> RunningSandbox {
    Sandbox::new(config)
        .spawn(free_addr())
        .await
        .expect("the sandbox starts")
}

/// A proxy serving a widget.js, for the public URL check.
async fn serving_proxy() -> TestProxy {
    TestProxy::start(|dir| {
        std::fs::create_dir_all(dir.join("dist")).expect("dist");
        std::fs::write(dir.join("dist/widget.js"), "/* loader */").expect("widget.js");
        config_toml(free_addr(), "http://127.0.0.1:9", &dir.join("leads.db"), "")
    })
    .await
}

/// The outcome of check `name`, which must have run.
fn outcome<'a>(report: &'a Report, name: &str) -> &'a Outcome {
    report
        .get(name)
        .unwrap_or_else(|| panic!("no check {name:?} in\n{report}"))
}

/// Check `name` failed, its problem says `problem_says` and its fix `fix_says`.
fn assert_failed(report: &Report, name: &str, problem_says: &str, fix_says: &str) {
    assert!(!report.passed(), "{report}");
    match outcome(report, name) {
        Outcome::Fail { problem, fix } => {
            assert!(
                problem.contains(problem_says),
                "{name}: {problem:?} should say {problem_says:?}"
            );
            assert!(
                fix.contains(fix_says),
                "{name}: {fix:?} should say {fix_says:?}"
            );
        }
        other => panic!("{name} should fail, got {other:?}\n{report}"),
    }
}

fn assert_passed(report: &Report, name: &str) {
    assert!(
        matches!(outcome(report, name), Outcome::Pass(_)),
        "{name} should pass:\n{report}"
    );
}

#[tokio::test]
async fn a_good_setup_passes_every_check_and_shows_the_balance() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let proxy = serving_proxy().await;
    let report = Setup::good(&upstream, format!("{}/", proxy.url))
        .examine()
        .await;
    assert!(report.passed(), "{report}");
    for name in [
        "sites.shop key file",
        "sites.shop allowed origins",
        "config",
        "admin listener",
        "sites.shop upstream",
        "sites.shop credentials",
        "sites.shop host authorization",
        "sites.shop widget",
        "public URL",
    ] {
        assert_passed(&report, name);
    }
    let Outcome::Pass(seen) = outcome(&report, "sites.shop credentials") else {
        unreachable!("asserted above");
    };
    assert!(seen.contains("balance 1000 minutes"), "{seen}");
}

#[tokio::test]
async fn a_wrong_key_fails_the_credentials_with_where_to_find_the_right_one() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.key = "0123456789abcdef0123456789abcdef";
    let report = setup.examine().await;
    assert_passed(&report, "sites.shop upstream");
    assert_failed(
        &report,
        "sites.shop credentials",
        "does not know this Profile key",
        "Profile tab",
    );
}

#[tokio::test]
async fn an_unknown_widget_fails_the_widget_check_and_orders_no_call() {
    let sandbox_handle = Sandbox::new(SandboxConfig::demo());
    let upstream = sandbox_handle
        .spawn(free_addr())
        .await
        .expect("the sandbox starts");
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.whash = "ffffffffffffffffffffffffffffffff";
    let report = setup.examine().await;
    assert_passed(&report, "sites.shop credentials");
    assert_passed(&report, "sites.shop host authorization");
    assert_failed(&report, "sites.shop widget", "424", "whash");
    let orders: Vec<_> = sandbox_handle
        .requests()
        .into_iter()
        .filter(|request| request.method == "orderCall")
        .collect();
    assert_eq!(orders.len(), 1, "one probing orderCall");
    assert_eq!(orders[0].param("client"), None, "with no number to call");
}

#[tokio::test]
async fn a_host_callkeeper_does_not_allow_fails_host_authorization() {
    let mut config = SandboxConfig::demo();
    config.accounts[0].check_host = true;
    config.accounts[0].allowed_hosts = vec!["203.0.113.7".to_owned()];
    let upstream = sandbox(config).await;
    let report = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned())
        .examine()
        .await;
    assert_failed(
        &report,
        "sites.shop host authorization",
        "401 Unauthorized host",
        "public IP address",
    );
    assert!(matches!(
        outcome(&report, "sites.shop widget"),
        Outcome::Skipped(_)
    ));
}

#[tokio::test]
async fn an_unreachable_upstream_fails_and_skips_what_needs_it() {
    let mut setup = Setup {
        upstream: format!("http://{}/", free_addr()),
        key: DEMO_API_KEY,
        key_mode: 0o600,
        whash: DEMO_WHASH,
        origin: "https://shop.example",
        admin_listen: "127.0.0.1:9090",
        public_url: "http://127.0.0.1:9/".to_owned(),
    };
    let report = setup.examine().await;
    assert_failed(
        &report,
        "sites.shop upstream",
        "nothing answers",
        "upstream",
    );
    for skipped in [
        "sites.shop credentials",
        "sites.shop host authorization",
        "sites.shop widget",
    ] {
        assert!(
            matches!(outcome(&report, skipped), Outcome::Skipped(_)),
            "{skipped}:\n{report}"
        );
    }
    // And nothing answering at the public URL is a failure of its own.
    setup.public_url = format!("http://{}/", free_addr());
    let report = setup.examine().await;
    assert_failed(&report, "public URL", "nothing answers", "proxy serve");
}

#[tokio::test]
async fn a_key_file_others_can_read_fails_with_chmod() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.key_mode = 0o644;
    let report = setup.examine().await;
    assert_failed(
        &report,
        "sites.shop key file",
        "can be read by others",
        "chmod 600",
    );
    // The origins are still checked; the rest waits for the fix.
    assert_passed(&report, "sites.shop allowed origins");
    assert!(matches!(outcome(&report, "config"), Outcome::Skipped(_)));
}

#[tokio::test]
async fn an_origin_with_a_path_fails_with_how_to_spell_one() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.origin = "https://shop.example/catalog";
    let report = setup.examine().await;
    assert_failed(
        &report,
        "sites.shop allowed origins",
        "must be an origin only",
        "no path",
    );
    assert_passed(&report, "sites.shop key file");
}

#[tokio::test]
async fn an_admin_listener_on_every_address_fails() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.admin_listen = "0.0.0.0:9090";
    let report = setup.examine().await;
    assert_failed(&report, "admin listener", "every address", "127.0.0.1:9090");
}

#[tokio::test]
async fn a_console_on_a_private_network_without_accounts_fails_as_serve_would() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let mut setup = Setup::good(&upstream, "http://127.0.0.1:9/".to_owned());
    setup.admin_listen = "10.1.2.3:9090";
    let report = setup.examine().await;
    assert_failed(
        &report,
        "admin listener",
        "needs a login",
        "proxy admin-password",
    );
}

/// The exit code is the verdict, for scripts: 0 only when all passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_exits_0_only_when_every_check_passes() {
    let upstream = sandbox(SandboxConfig::demo()).await;
    let proxy = serving_proxy().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Blocking in a task of its own: the sandbox and the proxy answer from this runtime.
    let run = |config: PathBuf| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
                .arg("doctor")
                .arg("--config")
                .arg(config)
                .output()
        })
    };
    let good = Setup::good(&upstream, format!("{}/", proxy.url)).write(dir.path());
    let output = run(good).await.expect("joined").expect("proxy doctor runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("All 9 checks passed."), "{text}");

    let mut bad = Setup::good(&upstream, format!("{}/", proxy.url));
    bad.whash = "ffffffffffffffffffffffffffffffff";
    let output = run(bad.write(dir.path()))
        .await
        .expect("joined")
        .expect("proxy doctor runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  sites.shop widget"), "{text}");
    assert!(text.contains("fix: "), "{text}");
}
