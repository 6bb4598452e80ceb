//! The client against the sandbox served on a real socket: every method,
//! every documented failure, and the call lifecycle on a manual clock.
//!
//! One file past 800 lines: it is the client's whole contract, run against
//! one sandbox setup; split by method it would repeat that setup in each.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use callkeeper::sandbox::{
    self, Account, ManualClock, RunningSandbox, Sandbox, SandboxConfig, Widget, planned_status,
};
use callkeeper::{
    ApiKey, CallId, CallOrder, Client, CreateWidget, Credentials, DateRange, Error, ErrorClass,
    Interval, MakeCalls, Manager, OrderCall, Outcome, PhoneNumber, StatusPair, UnixTime, Utc,
    W3cDate, WidgetRef,
};
use serde_json::Value;

/// 2024-03-10 12:00:00 UTC.
const START: u64 = 1_710_072_000;

struct Harness {
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    server: RunningSandbox,
}

impl Harness {
    async fn start(config: SandboxConfig) -> Self {
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(START),
        ));
        let sandbox = Sandbox::with_clock(config, clock.clone());
        let server = sandbox
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind 127.0.0.1:0");
        Self {
            sandbox,
            clock,
            server,
        }
    }

    async fn demo() -> Self {
        Self::start(SandboxConfig::demo()).await
    }

    fn client(&self) -> Client {
        self.client_with(WidgetRef::hash(sandbox::DEMO_WHASH).expect("demo hash"))
    }

    fn client_with(&self, widget: WidgetRef) -> Client {
        self.client_for(sandbox::DEMO_UNIQUE, sandbox::DEMO_API_KEY, widget)
    }

    fn client_for(&self, unique: &str, key: &str, widget: WidgetRef) -> Client {
        let credentials = Credentials {
            unique: unique.to_owned(),
            key: ApiKey::parse(key).expect("a 32-hex key"),
            widget,
        };
        Client::new(self.server.url(), credentials)
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// A raw form POST, for what the typed client cannot express.
    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.server.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("the sandbox answers");
        read(response).await
    }

    /// A raw GET with a query string as written.
    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}{path_and_query}", self.server.url()))
            .await
            .expect("the sandbox answers");
        read(response).await
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).expect("a valid test number")
}

fn fail(status: u16, reason: &str) -> (u16, Value) {
    (
        status,
        serde_json::json!({"status": "fail", "reason": reason}),
    )
}

/// Whether an error is the one a case expects.
type Expect = fn(&Error) -> bool;

const KEY: &str = sandbox::DEMO_API_KEY;
const HASH: &str = sandbox::DEMO_WHASH;

#[tokio::test]
async fn an_ordered_call_goes_from_in_progress_to_success() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let ordered = client
        .order_call(&OrderCall::new(phone("8 (999) 123-45-67")))
        .await
        .expect("ordered");
    assert_eq!(ordered.client, "79991234567");
    assert_eq!(ordered.manager, format!("{}^_", sandbox::DEMO_OFFICE_PHONE));

    let info = client.get_call_info(&ordered.id).await.expect("call info");
    assert_eq!((info.status, info.attempt), (StatusPair::IN_PROGRESS, 1));
    assert!(!info.status.is_final());

    harness.advance(30);
    let info = client.get_call_info(&ordered.id).await.expect("call info");
    assert_eq!(info.status, StatusPair::SUCCESS);
    assert_eq!(info.status.outcome(), Outcome::Success);
    assert_eq!(
        (info.duration_sec, info.duration_min, info.duration2_sec),
        (30, 1, 25)
    );
    assert_eq!(info.phone2, "79991234567");
    assert_eq!(info.widget_hash, HASH);
    assert_eq!(info.date, "2024-03-10 12:00:00");
    assert!(info.record_url.is_some());
    assert!(info.tags.is_empty());
}

#[tokio::test]
async fn a_deferred_call_is_scheduled_until_its_time() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let mut order = OrderCall::new(phone("79991110000"));
    // Ends in 00 (busy), but first it must wait ten minutes.
    order.time_to_call = Some(UnixTime::from_secs(START + 600));
    let ordered = client.order_call(&order).await.expect("ordered");
    let info = client.get_call_info(&ordered.id).await.expect("info");
    assert_eq!((info.status, info.attempt), (StatusPair::SCHEDULED, 0));
    harness.advance(599);
    assert_eq!(
        client
            .get_call_info(&ordered.id)
            .await
            .expect("info")
            .status,
        StatusPair::SCHEDULED
    );
    harness.advance(1);
    assert_eq!(
        client
            .get_call_info(&ordered.id)
            .await
            .expect("info")
            .status,
        StatusPair::IN_PROGRESS
    );
    harness.advance(30);
    assert_eq!(
        client
            .get_call_info(&ordered.id)
            .await
            .expect("info")
            .status,
        StatusPair::new(200, 486)
    );
}

#[tokio::test]
async fn each_final_digit_rule_reaches_its_outcome() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let mut ids = Vec::new();
    for suffix in 0..12 {
        let number = format!("7999555{suffix:04}");
        ids.push((
            number.clone(),
            client
                .order_call(&OrderCall::new(phone(&number)))
                .await
                .expect("ordered")
                .id,
        ));
    }
    harness.advance(30);
    let mut outcomes = Vec::new();
    for (number, id) in &ids {
        let info = client.get_call_info(id).await.expect("info");
        assert_eq!(info.status, planned_status(number, 1), "{number}");
        assert!(info.status.is_final());
        outcomes.push(info.status.outcome());
    }
    for expected in [
        Outcome::Success,
        Outcome::ManagerSideFailure,
        Outcome::VisitorSideFailure,
        Outcome::CancelledOrBlocked,
        Outcome::Test,
    ] {
        assert!(outcomes.contains(&expected), "{expected:?} not reached");
    }
}

#[tokio::test]
async fn intervals_retry_failed_attempts_and_count_them() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let mut second_time = OrderCall::new(phone("79990000005"));
    second_time.interval = Some(Interval::parse("5,10").expect("interval"));
    let mut always_busy = OrderCall::new(phone("79990000000"));
    always_busy.interval = Some(Interval::parse("1,1").expect("interval"));
    let second_time = client.order_call(&second_time).await.expect("ordered").id;
    let always_busy = client.order_call(&always_busy).await.expect("ordered").id;

    harness.advance(31);
    let info = client.get_call_info(&second_time).await.expect("info");
    assert_eq!((info.status, info.attempt), (StatusPair::SCHEDULED, 1));
    harness.advance(300);
    assert_eq!(
        client
            .get_call_info(&second_time)
            .await
            .expect("info")
            .attempt,
        2
    );
    harness.advance(30);
    let info = client.get_call_info(&second_time).await.expect("info");
    assert_eq!((info.status, info.attempt), (StatusPair::SUCCESS, 2));

    let info = client.get_call_info(&always_busy).await.expect("info");
    assert_eq!((info.status, info.attempt), (StatusPair::new(200, 486), 3));
}

#[tokio::test]
async fn a_repeat_order_within_the_hour_is_a_duplicate() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let first = client
        .order_call(&OrderCall::new(phone("79997770011")))
        .await
        .expect("ordered")
        .id;
    harness.advance(60);
    let again = client
        .order_call(&OrderCall::new(phone("79997770011")))
        .await
        .expect("ordered")
        .id;
    let mut deferred = OrderCall::new(phone("79997770011"));
    deferred.time_to_call = Some(UnixTime::from_secs(START + 7200));
    let deferred = client.order_call(&deferred).await.expect("ordered").id;
    assert_ne!(first, again);
    assert_eq!(
        client.get_call_info(&again).await.expect("info").status,
        StatusPair::new(815, 0)
    );
    assert_eq!(
        client.get_call_info(&deferred).await.expect("info").status,
        StatusPair::new(813, 0)
    );
    harness.advance(3600);
    let later = client
        .order_call(&OrderCall::new(phone("79997770011")))
        .await
        .expect("ordered")
        .id;
    assert_eq!(
        client.get_call_info(&later).await.expect("info").status,
        StatusPair::IN_PROGRESS
    );
}

#[tokio::test]
async fn time_scale_shrinks_the_repeat_window_and_calls() {
    let mut config = SandboxConfig::demo();
    config.time_scale = 0.01;
    let harness = Harness::start(config).await;
    let client = harness.client();
    let first = client
        .order_call(&OrderCall::new(phone("79997770012")))
        .await
        .expect("ordered")
        .id;
    harness.advance(1);
    assert_eq!(
        client.get_call_info(&first).await.expect("info").status,
        StatusPair::SUCCESS
    );
    harness.advance(36);
    let later = client
        .order_call(&OrderCall::new(phone("79997770012")))
        .await
        .expect("ordered")
        .id;
    assert_eq!(
        client.get_call_info(&later).await.expect("info").status,
        StatusPair::IN_PROGRESS
    );
}

#[tokio::test]
async fn an_empty_balance_refuses_calls_with_811_and_minutes_are_spent() {
    let mut config = SandboxConfig::demo();
    config.accounts[0].balance_minutes = 1;
    let harness = Harness::start(config).await;
    let client = harness.client();
    assert_eq!(
        client.get_user_info().await.expect("user").balance_minutes,
        Some(1)
    );
    client
        .order_call(&OrderCall::new(phone("79991234567")))
        .await
        .expect("ordered");
    harness.advance(30);
    let user = client.get_user_info().await.expect("user");
    assert_eq!(user.balance_minutes, Some(0));
    assert_eq!(
        user.fields.get("unique").and_then(Value::as_str),
        Some(sandbox::DEMO_UNIQUE)
    );
    let refused = client
        .order_call(&OrderCall::new(phone("79991234568")))
        .await
        .expect("ordered")
        .id;
    let info = client.get_call_info(&refused).await.expect("info");
    assert_eq!(
        (info.status, info.status.outcome()),
        (StatusPair::new(811, 0), Outcome::Billing)
    );
}

#[tokio::test]
async fn same_manager_and_visitor_numbers_are_cancelled_and_closed_hours_too() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let mut same = OrderCall::new(phone("79161112233"));
    same.manager = Some(Manager::parse("+7 916 111-22-33").expect("manager"));
    let same = client.order_call(&same).await.expect("ordered");
    assert_eq!(same.manager, "79161112233^_");
    assert_eq!(
        client.get_call_info(&same.id).await.expect("info").status,
        StatusPair::new(703, 0)
    );
    let mut closed = OrderCall::new(phone("79161112234"));
    closed.opening_hours = Some("00000000".parse().expect("hours"));
    let closed = client.order_call(&closed).await.expect("ordered").id;
    assert_eq!(
        client.get_call_info(&closed).await.expect("info").status,
        StatusPair::new(702, 0)
    );
}

#[tokio::test]
async fn make_calls_orders_each_call_with_its_manager_and_utm() {
    let harness = Harness::demo().await;
    let client = harness.client_with(WidgetRef::alias(sandbox::DEMO_WALIAS).expect("alias"));
    let mut first = CallOrder::new(phone("79999999999"));
    first.manager = Some(Manager::parse("79161234567^1231").expect("manager"));
    first.utm.utm_source = Some("Яндекс".to_owned());
    first.external_service_identifier = Some("exampleID".to_owned());
    let mut second = CallOrder::new(phone("79999999944"));
    second.manager = Some(Manager::Office(0));
    let mut request = MakeCalls::new(vec![first, second]);
    request.tool_name = Some("Форма".to_owned());
    let calls = client.make_calls(&request).await.expect("ordered");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].manager, "79161234567^1231");
    assert_eq!(calls[1].client, "79999999944");
    let info = client.get_call_info(&calls[0].id).await.expect("info");
    assert_eq!(info.phone1, "79161234567^1231");
    let current = info
        .visit_info
        .and_then(|visit| visit.current)
        .expect("utm of the current visit");
    assert_eq!(current["utm_source"], "Яндекс");
    let recorded = harness.sandbox.requests();
    let last = recorded
        .iter()
        .find(|r| r.method == "makeCalls")
        .expect("recorded");
    assert_eq!(last.http_method, "POST");
    assert_eq!(last.param("calls[0][utm][utm_source]"), Some("Яндекс"));
    assert_eq!(last.param("walias"), Some(sandbox::DEMO_WALIAS));
}

#[tokio::test]
async fn statistics_filter_by_period_zone_completion_and_status() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let done = client
        .order_call(&OrderCall::new(phone("79991230000")))
        .await
        .expect("ordered")
        .id;
    harness.advance(30);
    // 2024-03-10 22:00 UTC is 2024-03-11 01:00 in Moscow.
    harness.advance(10 * 3600);
    let late = client
        .order_call(&OrderCall::new(phone("79991230001")))
        .await
        .expect("ordered")
        .id;

    let ids =
        |calls: Vec<callkeeper::CallInfo>| calls.into_iter().map(|c| c.id).collect::<Vec<CallId>>();
    let all = client
        .get_calls_info(&DateRange::all_time())
        .await
        .expect("all");
    assert_eq!(ids(all), vec![done.clone(), late.clone()]);

    let day = |from: &str, to: &str| {
        DateRange::between(
            W3cDate::parse(from).expect("date"),
            W3cDate::parse(to).expect("date"),
        )
    };
    let tenth = day("2024-03-10", "2024-03-10T24:00:00");
    assert_eq!(
        ids(client.get_calls_info(&tenth).await.expect("10th")),
        vec![done.clone(), late.clone()]
    );
    let moscow =
        day("2024-03-11", "2024-03-11").with_time_zone(Utc::parse("Europe/Moscow").expect("zone"));
    assert_eq!(
        ids(client
            .get_calls_info(&moscow)
            .await
            .expect("11th in Moscow")),
        vec![late.clone()]
    );
    let eleventh = day("2024-03-11", "2024-03-12");
    assert!(
        client
            .get_calls_info(&eleventh)
            .await
            .expect("11th UTC")
            .is_empty()
    );

    let completed = client
        .get_calls_completed(&DateRange::all_time())
        .await
        .expect("completed");
    assert_eq!(ids(completed), vec![done.clone()]);
    let in_progress = client
        .get_calls_by_status(&DateRange::all_time(), &[StatusPair::IN_PROGRESS])
        .await
        .expect("by status");
    assert_eq!(ids(in_progress), vec![late]);
    let busy = client
        .get_calls_by_status(
            &DateRange::all_time(),
            &[StatusPair::new(200, 486), StatusPair::new(200, 200)],
        )
        .await
        .expect("by status");
    assert_eq!(ids(busy), vec![done]);
    let recorded = harness.sandbox.requests();
    let by_status = recorded
        .iter()
        .rev()
        .find(|r| r.method == "getCallsByStatus")
        .expect("recorded");
    assert_eq!(by_status.param("statuses"), Some("200/486,200/200"));
    assert_eq!(
        by_status.raw_body.as_deref(),
        Some(format!("api_key={KEY}&date&statuses=200%2F486%2C200%2F200").as_str())
    );
}

#[tokio::test]
async fn widgets_are_created_used_and_deleted() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let mut widget = CreateWidget::new(Manager::parse("89165554444^2311").expect("phone"));
    widget.name = Some("Bond".to_owned());
    widget.gmt = Some(Utc::parse("UTC+03:00").expect("zone"));
    widget.schedule = Some("09001800".parse().expect("hours"));
    widget.emails = vec!["test@mal.ru".to_owned(), "test@yandex.ru".to_owned()];
    let created = client.create_widget(&widget).await.expect("created");
    let hash = created.hash.expect("a hash");
    let request = harness.sandbox.requests().pop().expect("recorded");
    assert_eq!(request.param("emails[1]"), Some("test@yandex.ru"));
    assert_eq!(request.param("phoneadd"), Some("2311"));

    let via_new = harness.client_with(WidgetRef::hash(&hash).expect("32 hex"));
    let ordered = via_new
        .order_call(&OrderCall::new(phone("79995550000")))
        .await
        .expect("ordered");
    assert_eq!(ordered.manager, "79165554444^_");
    client.delete_widget(&hash).await.expect("deleted");
    let again = via_new
        .order_call(&OrderCall::new(phone("79995550001")))
        .await;
    assert!(matches!(again, Err(Error::WrongPair)), "{again:?}");
    let twice = client.delete_widget(&hash).await;
    assert!(matches!(twice, Err(Error::WrongPair)), "{twice:?}");
}

#[tokio::test]
async fn tags_and_tap2calls() {
    let harness = Harness::demo().await;
    let client = harness.client();
    let id = client
        .order_call(&OrderCall::new(phone("79994440000")))
        .await
        .expect("ordered")
        .id;
    client.set_tag(&id, "hot lead").await.expect("tagged");
    client.set_tag(&id, "repeat").await.expect("tagged");
    assert_eq!(
        client.get_call_info(&id).await.expect("info").tags,
        vec!["hot lead".to_owned(), "repeat".to_owned()]
    );
    let missing = client.set_tag(&CallId::from(999_999), "x").await;
    assert!(matches!(missing, Err(Error::Mismatched)), "{missing:?}");
    assert!(
        client
            .get_t2c(&DateRange::all_time())
            .await
            .expect("t2c")
            .is_empty()
    );
}

#[tokio::test]
async fn configuration_failures_come_back_as_their_variants() {
    let mut config = SandboxConfig::demo();
    config.accounts.push(Account {
        unique: "other".to_owned(),
        api_key: "0123456789abcdef0123456789abcdef".to_owned(),
        check_host: true,
        allowed_hosts: vec!["192.0.2.1".to_owned()],
        balance_minutes: 10,
        widgets: vec![Widget {
            hash: "fedcba9876543210fedcba9876543210".to_owned(),
            alias: None,
            enabled: true,
            offices: vec!["74950000001".to_owned()],
        }],
    });
    let harness = Harness::start(config).await;
    let order = OrderCall::new(phone("79991234567"));
    let hash = |h: &str| WidgetRef::Hash(h.to_owned());

    let cases: Vec<(Client, Expect, ErrorClass)> = vec![
        (
            harness.client_for("", KEY, hash(HASH)),
            |e| matches!(e, Error::MissingUnique),
            ErrorClass::Configuration,
        ),
        (
            harness.client_with(WidgetRef::Alias(String::new())),
            |e| matches!(e, Error::MissingWidget),
            ErrorClass::Configuration,
        ),
        (
            harness.client_with(hash("not-hex")),
            |e| matches!(e, Error::MalformedKeyOrHash),
            ErrorClass::Configuration,
        ),
        (
            harness.client_for("u", "00000000000000000000000000000000", hash(HASH)),
            |e| matches!(e, Error::WrongKey),
            ErrorClass::Configuration,
        ),
        (
            harness.client_with(hash("fedcba9876543210fedcba9876543210")),
            |e| matches!(e, Error::WrongPair),
            ErrorClass::Configuration,
        ),
        (
            harness.client_with(WidgetRef::Alias("nope".to_owned())),
            |e| matches!(e, Error::WrongPair),
            ErrorClass::Configuration,
        ),
        (
            harness.client_with(hash(sandbox::DEMO_DISABLED_WHASH)),
            |e| matches!(e, Error::WidgetDisabled),
            ErrorClass::Configuration,
        ),
        (
            harness.client_for(
                "u",
                "0123456789abcdef0123456789abcdef",
                hash("fedcba9876543210fedcba9876543210"),
            ),
            |e| matches!(e, Error::UnauthorizedHost),
            ErrorClass::Configuration,
        ),
    ];
    for (index, (client, expected, class)) in cases.into_iter().enumerate() {
        let err = client.order_call(&order).await.expect_err("refused");
        assert!(expected(&err), "case {index}: {err:?}");
        assert_eq!(err.class(), class, "case {index}");
        assert!(!err.is_in_doubt(), "case {index}");
    }

    let mut office = OrderCall::new(phone("79991234567"));
    office.manager = Some(Manager::Office(7));
    let err = harness
        .client()
        .order_call(&office)
        .await
        .expect_err("no 8th office");
    assert!(
        matches!(&err, Error::InvalidPhone { reason } if reason == callkeeper::reasons::INVALID_PHONE),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::InvalidPhone);

    let err = harness
        .client()
        .create_widget(&CreateWidget::new(Manager::Office(3)))
        .await
        .expect_err("no phone");
    assert!(
        matches!(&err, Error::InvalidPhone { reason } if reason == callkeeper::reasons::PHONE_NOT_PROVIDED),
        "{err:?}"
    );

    let stranger = harness.client_for("u", "abcdefabcdefabcdefabcdefabcdefab", hash(HASH));
    assert!(matches!(
        stranger.get_user_info().await,
        Err(Error::UnknownUser)
    ));
    assert!(matches!(
        stranger.get_calls_info(&DateRange::all_time()).await,
        Err(Error::UnknownUser)
    ));
    assert!(matches!(
        harness.client().get_call_info(&CallId::from(1)).await,
        Err(Error::Mismatched)
    ));
    assert!(matches!(
        harness.client().order_call(&OrderCall::default()).await,
        Err(Error::NotEnoughValues)
    ));
    assert!(matches!(
        harness.client().make_calls(&MakeCalls::default()).await,
        Err(Error::MissingCalls)
    ));
}

#[tokio::test]
async fn the_host_check_passes_for_allowed_hosts() {
    let mut config = SandboxConfig::demo();
    config.accounts[0].check_host = true;
    config.accounts[0].allowed_hosts = vec!["127.0.0.1".to_owned()];
    let harness = Harness::start(config).await;
    harness
        .client()
        .order_call(&OrderCall::new(phone("79991234567")))
        .await
        .expect("127.0.0.1 is allowed");
}

#[tokio::test]
async fn raw_requests_get_every_documented_failure() {
    let harness = Harness::demo().await;
    let ids = format!("unique=u&apiak={KEY}&whash={HASH}");
    let cases = [
        (
            "/orderCall",
            format!("apiak={KEY}&whash={HASH}&client=79991234567"),
            fail(400, "Key 'unique' is not defined!"),
        ),
        (
            "/orderCall",
            format!("unique=u&whash={HASH}&client=79991234567"),
            fail(400, "Key 'apiak' is not defined!"),
        ),
        (
            "/orderCall",
            format!("unique=u&apiak={KEY}&client=79991234567"),
            fail(400, "Key 'whash' and 'walias' are not defined!"),
        ),
        (
            "/makeCalls",
            ids.clone(),
            fail(400, "Key 'calls' is not defined!"),
        ),
        (
            "/makeCalls",
            format!("{ids}&calls=79991234567"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/makeCalls",
            format!("{ids}&calls%5B0%5D=79991234567"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/makeCalls",
            format!("{ids}&calls%5B0%5D%5Bsite%5D=a.ru"),
            fail(409, "Not enough values"),
        ),
        ("/orderCall", ids.clone(), fail(409, "Not enough values")),
        (
            "/orderCall",
            format!("{ids}&client=12345"),
            fail(409, "Invalid manager or client phone number"),
        ),
        (
            "/orderCall",
            format!("{ids}&client=79991234567^12"),
            fail(409, "Invalid manager or client phone number"),
        ),
        (
            "/orderCall",
            format!("{ids}&client=79991234567&manager=7495^"),
            fail(409, "Invalid manager or client phone number"),
        ),
        (
            "/orderCall",
            format!("{ids}&client=79991234567&time_to_call=tomorrow"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/orderCall",
            format!("{ids}&client=79991234567&interval=5,x"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/orderCall",
            format!("{ids}&client=79991234567&opening_hours=9-18"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/orderCall",
            format!("unique=u&apiak=short&whash={HASH}&client=79991234567"),
            fail(
                417,
                "Apiak or Hash shorter or longer then was required or not hexadecimal",
            ),
        ),
        (
            "/getCallInfo",
            format!("api_key={KEY}"),
            fail(409, "Not enough values"),
        ),
        (
            "/getCallInfo",
            format!("api_key={KEY}&id_call=abc"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/getCallInfo",
            "id_call=1".to_owned(),
            fail(412, "Unknown user"),
        ),
        (
            "/getCallsInfo",
            format!("api_key={KEY}&date=2017-05-01"),
            fail(406, "Date is not array"),
        ),
        (
            "/getCallsInfo",
            format!("api_key={KEY}"),
            fail(409, "Not enough values"),
        ),
        (
            "/getCallsInfo",
            format!("api_key={KEY}&date%5Bfrom%5D=May"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/getCallsInfo",
            format!("api_key={KEY}&date&time_zone=Moscow"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/getCallsByStatus",
            format!("api_key={KEY}&date"),
            fail(409, "Not enough values"),
        ),
        (
            "/getCallsByStatus",
            format!("api_key={KEY}&date&statuses=busy"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/createWidget",
            "phone=79161115454".to_owned(),
            fail(400, "Key 'apiak' is not defined!"),
        ),
        (
            "/createWidget",
            format!("apiak={KEY}"),
            fail(409, "Phone not provided or invalid"),
        ),
        (
            "/createWidget",
            format!("apiak={KEY}&phone=79161115454&emails=a@b.ru"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/createWidget",
            format!("apiak={KEY}&phone=79161115454&gmt=Mars"),
            fail(406, "Wrong data type!"),
        ),
        (
            "/deleteWidget",
            format!("apiak={KEY}"),
            fail(400, "Key 'whash' and 'walias' are not defined!"),
        ),
        (
            "/deleteWidget",
            format!("apiak={KEY}&whash=123"),
            fail(
                417,
                "Apiak or Hash shorter or longer then was required or not hexadecimal",
            ),
        ),
        (
            "/tag",
            format!("apiak={KEY}&tag=t&call_id=1"),
            fail(409, "Not enough values"),
        ),
        (
            "/tag",
            format!("action=get&apiak={KEY}&tag=t&call_id=1"),
            fail(405, "Unknown request method!"),
        ),
        (
            "/tag",
            format!("action=set&apiak={KEY}&tag=t&call_id=1"),
            fail(404, "Mismatched request!"),
        ),
        (
            "/getT2C",
            format!("apiak={KEY}&date=yesterday"),
            fail(406, "Date is not array"),
        ),
        (
            "/sendSms",
            format!("apiak={KEY}"),
            fail(405, "Unknown request method!"),
        ),
    ];
    for (path, body, expected) in cases {
        assert_eq!(harness.post(path, &body).await, expected, "{path}?{body}");
    }
}

#[tokio::test]
async fn the_document_s_get_examples_work_as_written() {
    let harness = Harness::demo().await;
    let (status, body) = harness
        .get(&format!(
            "makeCalls?unique=test&apiak={KEY}&walias={}&calls[0][site]=test.ru&calls[0][client]=79854808271&calls[0][manager]=89165240212",
            sandbox::DEMO_WALIAS
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["manager"], "79165240212^_");
    assert_eq!(body[0]["status"], "success");
    let id = body[0]["id"].as_str().expect("an id").to_owned();

    // The document's `tag` URL has no `?`.
    let (status, body) = harness
        .get(&format!(
            "tag&action=set&apiak={KEY}&tag=testApiTagging&call_id={id}"
        ))
        .await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"status": "success"}))
    );
    let (status, body) = harness
        .get(&format!("getCallInfo?api_key={KEY}&id_call={id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["tags"], "testApiTagging");
    assert_eq!(body["site"], "test.ru");

    // `gmt=UTC+03:00` unencoded arrives as `UTC 03:00`.
    let (status, body) = harness
        .get(&format!("createWidget?gmt=UTC+03:00&apiak={KEY}&phone=89165554444&name=Bond&phoneadd=2311&site=www.test.ru&schedule=09001800&emails[0]=test@mal.ru&emails[1]=test@yandex.ru"))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = harness
        .get(&format!("getCallsCompleted?api_key={KEY}&date"))
        .await;
    assert_eq!((status, body), (200, serde_json::json!([])));

    // `ext_id` is accepted for `external_service_identifier`.
    let (status, _) = harness
        .get(&format!("orderCall?unique=u&apiak={KEY}&whash={HASH}&client=79991112233&ext_id=exampleID&utc=europe/moscow&ga_client_id=1245784512.3256897854&ip_client=192.168.0.1"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        harness
            .sandbox
            .requests()
            .last()
            .and_then(|r| r.param("ext_id")),
        Some("exampleID")
    );
}

#[tokio::test]
async fn multipart_bodies_are_read_like_forms() {
    // PHP's curl with an array in CURLOPT_POSTFIELDS sends multipart/form-data.
    let harness = Harness::demo().await;
    let boundary = "XyZboundary";
    let mut body = String::new();
    for (name, value) in [
        ("unique", "any_string"),
        ("apiak", KEY),
        ("whash", HASH),
        ("client", "71234567890"),
        ("office_name", "Мой офис"),
    ] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let response = reqwest::Client::new()
        .post(format!("{}orderCall", harness.server.url()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("answered");
    let (status, body) = read(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["client"], "71234567890");
    assert_eq!(
        harness
            .sandbox
            .requests()
            .last()
            .and_then(|r| r.param("office_name")),
        Some("Мой офис")
    );
}

#[tokio::test]
async fn status_codes_like_710_survive_the_http_stack() {
    let harness = Harness::demo().await;
    let (status, body) = harness
        .post(
            "/orderCall",
            &format!(
                "unique=u&apiak={KEY}&whash={}&client=79991234567",
                sandbox::DEMO_DISABLED_WHASH
            ),
        )
        .await;
    assert_eq!((status, body), fail(710, "The widget is disabled"));
}

#[test]
fn a_toml_config_with_a_bad_key_is_refused_with_its_path() {
    let err = SandboxConfig::from_toml("[[accounts]]\nunique = \"x\"\napi_key = \"nothex\"\n")
        .expect_err("refused");
    assert!(err.to_string().contains("accounts[0].api_key"), "{err}");
    assert!(SandboxConfig::from_toml("time_scale = -1.0").is_err());
    assert!(SandboxConfig::from_toml("colour = 1").is_err());
    assert_eq!(
        SandboxConfig::from_toml("time_scale = 0.5").map(|c| c.accounts.len()),
        Ok(1)
    );
}

#[tokio::test]
async fn answers_keep_the_document_s_key_order() {
    let harness = Harness::demo().await;
    let send = |body: String| {
        let url = format!("{}orderCall", harness.server.url());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("answered");
            (
                response.status().as_u16(),
                response.text().await.expect("text"),
            )
        }
    };
    assert_eq!(
        send(format!("unique=u&apiak={KEY}&whash={HASH}&client=79991234567")).await,
        (200, r#"[{"id":"1001","manager":"74951234567^_","client":"79991234567","status":"success"}]"#.to_owned())
    );
    assert_eq!(
        send(format!("apiak={KEY}&whash={HASH}&client=79991234567")).await,
        (
            400,
            r#"{"status":"fail","reason":"Key 'unique' is not defined!"}"#.to_owned()
        )
    );
}

#[tokio::test]
async fn the_client_can_send_everything_as_get_query_strings() {
    let harness = Harness::demo().await;
    let client = harness.client().using(callkeeper::HttpMethod::Get);
    let ordered = client
        .order_call(&OrderCall::new(phone("+7 999 765-43-21")))
        .await
        .expect("ordered with GET");
    let info = client
        .get_call_info(&ordered.id)
        .await
        .expect("call info with GET");
    assert_eq!(info.phone2, "79997654321");
    let recorded = harness.sandbox.requests();
    assert!(recorded.len() >= 2);
    for request in recorded {
        assert_eq!(request.http_method, "GET", "{}", request.method);
    }
    assert_eq!(
        harness.sandbox.requests()[0].param("apiak"),
        Some(sandbox::DEMO_API_KEY)
    );
}
