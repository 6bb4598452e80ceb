//! The exact bytes the client sends and how it reads every kind of answer,
//! against a tiny recording server that answers whatever a test sets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use callkeeper::{
    ApiKey, CallId, CallOrder, Client, CreateWidget, Credentials, DateRange, Error, ErrorClass,
    Interval, MakeCalls, Manager, OrderCall, PhoneNumber, UnixTime, Utc, UtmType, W3cDate,
    WidgetRef,
};

const KEY: &str = "eb2cee1bc1b8d1b6e4282486af09e078";
const HASH: &str = "96d6ec6937c878c2ca1f889b9b9e865a";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    http_method: String,
    path: String,
    content_type: String,
    body: String,
}

#[derive(Clone)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    reply: Arc<Mutex<(u16, String, Duration)>>,
}

impl Recorder {
    fn reply(&self, status: u16, body: &str) {
        *self.reply.lock().unwrap_or_else(PoisonError::into_inner) =
            (status, body.to_owned(), Duration::ZERO);
    }

    fn reply_slowly(&self, delay: Duration) {
        self.reply.lock().unwrap_or_else(PoisonError::into_inner).2 = delay;
    }

    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
            .expect("a request was recorded")
    }
}

async fn record(State(recorder): State<Recorder>, request: Request) -> Response {
    let http_method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    recorder
        .seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Seen {
            http_method,
            path,
            content_type,
            body,
        });
    let (status, body, delay) = recorder
        .reply
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    tokio::time::sleep(delay).await;
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
        body,
    )
        .into_response()
}

async fn start() -> (Recorder, url::Url) {
    let recorder = Recorder {
        seen: Arc::default(),
        reply: Arc::new(Mutex::new((
            200,
            r#"[{"id":"1","manager":"m","client":"c","status":"success"}]"#.to_owned(),
            Duration::ZERO,
        ))),
    };
    let app = Router::new().fallback(record).with_state(recorder.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let url =
        url::Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (recorder, url)
}

fn credentials(widget: WidgetRef) -> Credentials {
    Credentials {
        unique: "example_company".to_owned(),
        key: ApiKey::parse(KEY).expect("key"),
        widget,
    }
}

fn client(url: &url::Url) -> Client {
    Client::new(
        url.clone(),
        credentials(WidgetRef::hash(HASH).expect("hash")),
    )
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).expect("phone")
}

fn form(path: &str, body: &str) -> Seen {
    Seen {
        http_method: "POST".to_owned(),
        path: path.to_owned(),
        content_type: "application/x-www-form-urlencoded".to_owned(),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn order_call_sends_php_http_build_query_flat_params() {
    let (recorder, url) = start().await;
    let mut order = OrderCall::new(phone("8 (999) 123-45-67"));
    order.utc = Some(Utc::parse("Europe/Moscow").expect("zone"));
    order.opening_hours = Some(
        "09001800100018000900200009001800090018000900180000000000"
            .parse()
            .expect("hours"),
    );
    order.notification = Some("your@email.ru".to_owned());
    order.tool_name = Some("Форма Узнать спецпредложение".to_owned());
    order.ga_client_id = Some("1245784512.3256897854".to_owned());
    order.ip_client = Some("74.44.210.123".parse().expect("ip"));
    order.interval = Some(Interval::parse("5,10,15").expect("interval"));
    order.referrer = Some("https://yandex.ru/search/?text=обратный звонок".to_owned());
    order.manager = Some(Manager::parse("+7 (464) 251-25-25^4342").expect("manager"));
    order.text_to_manager = Some("Тестовый звонок с сайта".to_owned());
    order.external_service_identifier = Some("123456".to_owned());
    order.time_to_call = Some(UnixTime::from_secs(1_522_222_222));
    order.site = Some("my.site.ru".to_owned());
    order.utm_source = Some("yandex".to_owned());
    order.utm_medium = Some("cpc".to_owned());
    order.utm_campaign = Some("spring sale".to_owned());
    order.entry_point = Some("my.site.ru/any/page/".to_owned());
    order.user_agent = Some("Mozilla/5.0 (X11)".to_owned());
    order.client_email = Some("test@mail.ru".to_owned());
    order.current_page = Some("https://site.ru/page/widget.html".to_owned());
    order.office_name = Some("My office".to_owned());
    let ordered = client(&url).order_call(&order).await.expect("ordered");
    assert_eq!(ordered.id.as_str(), "1");
    assert_eq!(
        recorder.last(),
        form(
            "/orderCall",
            "unique=example_company&apiak=eb2cee1bc1b8d1b6e4282486af09e078&whash=96d6ec6937c878c2ca1f889b9b9e865a\
             &utc=Europe%2FMoscow&opening_hours=09001800100018000900200009001800090018000900180000000000\
             &notification=your%40email.ru\
             &tool_name=%D0%A4%D0%BE%D1%80%D0%BC%D0%B0+%D0%A3%D0%B7%D0%BD%D0%B0%D1%82%D1%8C+%D1%81%D0%BF%D0%B5%D1%86%D0%BF%D1%80%D0%B5%D0%B4%D0%BB%D0%BE%D0%B6%D0%B5%D0%BD%D0%B8%D0%B5\
             &ga_client_id=1245784512.3256897854&ip_client=74.44.210.123&interval=5%2C10%2C15\
             &referrer=https%3A%2F%2Fyandex.ru%2Fsearch%2F%3Ftext%3D%D0%BE%D0%B1%D1%80%D0%B0%D1%82%D0%BD%D1%8B%D0%B9+%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA\
             &client=79991234567&manager=74642512525%5E4342\
             &text_to_manager=%D0%A2%D0%B5%D1%81%D1%82%D0%BE%D0%B2%D1%8B%D0%B9+%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA+%D1%81+%D1%81%D0%B0%D0%B9%D1%82%D0%B0\
             &external_service_identifier=123456&time_to_call=1522222222&site=my.site.ru\
             &utm_source=yandex&utm_medium=cpc&utm_campaign=spring+sale&entry_point=my.site.ru%2Fany%2Fpage%2F\
             &user_agent=Mozilla%2F5.0+%28X11%29&client_email=test%40mail.ru\
             &current_page=https%3A%2F%2Fsite.ru%2Fpage%2Fwidget.html&office_name=My+office",
        )
    );
}

#[tokio::test]
async fn make_calls_sends_nested_calls_and_utm_arrays() {
    let (recorder, url) = start().await;
    let client = Client::new(
        url,
        credentials(WidgetRef::alias("20879112").expect("alias")),
    );
    let mut first = CallOrder::new(phone("79999999999"));
    first.manager = Some(Manager::parse("79999999999^1231").expect("manager"));
    first.text_to_manager = Some("Тестовый звонок с сайта".to_owned());
    first.external_service_identifier = Some("exampleID".to_owned());
    first.utm.utm_source = Some("organic".to_owned());
    first.utm.entry_point = Some("http://facebook.com".to_owned());
    first.utm.utm_type = Some(UtmType::Organic);
    let mut second = CallOrder::new(phone("79999999944"));
    second.manager = Some(Manager::Office(0));
    second.time_to_call = Some(UnixTime::from_secs(1_479_726_881));
    let mut request = MakeCalls::new(vec![first, second]);
    request.utc = Some(Utc::Offset(180));
    request.tool_name = Some("Форма".to_owned());
    recorder.reply(
        200,
        r#"[{"id":"1","manager":"79999999999^1231","client":"79999999999","status":"success"},
            {"id":2,"manager":"74951234567^_","client":"79999999944","status":"success"}]"#,
    );
    let calls = client.make_calls(&request).await.expect("ordered");
    assert_eq!(
        calls.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );
    assert_eq!(
        recorder.last(),
        form(
            "/makeCalls",
            "unique=example_company&apiak=eb2cee1bc1b8d1b6e4282486af09e078&walias=20879112\
             &utc=UTC%2B03%3A00&tool_name=%D0%A4%D0%BE%D1%80%D0%BC%D0%B0\
             &calls%5B0%5D%5Bclient%5D=79999999999&calls%5B0%5D%5Bmanager%5D=79999999999%5E1231\
             &calls%5B0%5D%5Btext_to_manager%5D=%D0%A2%D0%B5%D1%81%D1%82%D0%BE%D0%B2%D1%8B%D0%B9+%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA+%D1%81+%D1%81%D0%B0%D0%B9%D1%82%D0%B0\
             &calls%5B0%5D%5Bexternal_service_identifier%5D=exampleID\
             &calls%5B0%5D%5Butm%5D%5Butm_source%5D=organic&calls%5B0%5D%5Butm%5D%5Bentry_point%5D=http%3A%2F%2Ffacebook.com\
             &calls%5B0%5D%5Butm%5D%5Butm_type%5D=organic\
             &calls%5B1%5D%5Bclient%5D=79999999944&calls%5B1%5D%5Bmanager%5D=0&calls%5B1%5D%5Btime_to_call%5D=1479726881",
        )
    );
}

#[tokio::test]
async fn statistics_use_api_key_and_widget_methods_use_apiak() {
    let (recorder, url) = start().await;
    let client = client(&url);
    let record = r#"{"id":"2366","status_code":200,"status2_code":200}"#;

    recorder.reply(200, record);
    let info = client
        .get_call_info(&"2366".parse().expect("id"))
        .await
        .expect("info");
    assert_eq!(info.id.as_str(), "2366");
    assert_eq!(
        recorder.last(),
        form("/getCallInfo", &format!("api_key={KEY}&id_call=2366"))
    );

    recorder.reply(200, &format!("[{record}]"));
    let range = DateRange::between(
        W3cDate::parse("2017-05-01").expect("date"),
        W3cDate::parse("2017-06-01T24:00:00").expect("date"),
    )
    .with_time_zone(Utc::parse("Europe/Moscow").expect("zone"));
    assert_eq!(client.get_calls_info(&range).await.expect("calls").len(), 1);
    assert_eq!(
        recorder.last(),
        form(
            "/getCallsInfo",
            &format!(
                "api_key={KEY}&date%5Bfrom%5D=2017-05-01&date%5Bto%5D=2017-06-01T24%3A00%3A00&time_zone=Europe%2FMoscow"
            )
        )
    );

    // An object keyed by id is a list too.
    recorder.reply(200, &format!(r#"{{"2366":{record}}}"#));
    assert_eq!(
        client
            .get_calls_completed(&DateRange::all_time())
            .await
            .expect("calls")
            .len(),
        1
    );
    assert_eq!(
        recorder.last(),
        form("/getCallsCompleted", &format!("api_key={KEY}&date"))
    );

    recorder.reply(200, r#"{"unique":"example_company","balance":"42"}"#);
    assert_eq!(
        client.get_user_info().await.expect("user").balance_minutes,
        Some(42)
    );
    assert_eq!(
        recorder.last(),
        form("/getUserInfo", &format!("api_key={KEY}"))
    );

    recorder.reply(
        200,
        r#"{"status":"success","whash":"2ec6af2bd04f89a2620016a675224c7a"}"#,
    );
    let mut widget = CreateWidget::new(Manager::parse("89165554444^2311").expect("phone"));
    widget.name = Some("Bond".to_owned());
    widget.gmt = Some(Utc::parse("UTC+03:00").expect("zone"));
    widget.site = Some("www.test.ru".to_owned());
    widget.schedule = Some("09001800".parse().expect("hours"));
    widget.emails = vec!["test@mal.ru".to_owned(), "test@yandex.ru".to_owned()];
    let created = client.create_widget(&widget).await.expect("created");
    assert_eq!(
        created.hash.as_deref(),
        Some("2ec6af2bd04f89a2620016a675224c7a")
    );
    assert_eq!(
        recorder.last(),
        form(
            "/createWidget",
            &format!(
                "apiak={KEY}&phone=79165554444&phoneadd=2311&name=Bond&gmt=UTC%2B03%3A00&site=www.test.ru\
                 &schedule=09001800&emails%5B0%5D=test%40mal.ru&emails%5B1%5D=test%40yandex.ru"
            )
        )
    );

    recorder.reply(200, r#"{"status":"success"}"#);
    client
        .delete_widget("2ec6af2bd04f89a2620016a675224c7a")
        .await
        .expect("deleted");
    assert_eq!(
        recorder.last(),
        form(
            "/deleteWidget",
            &format!("apiak={KEY}&whash=2ec6af2bd04f89a2620016a675224c7a")
        )
    );

    client
        .set_tag(&CallId::from(9_721_917), "testApiTagging")
        .await
        .expect("tagged");
    assert_eq!(
        recorder.last(),
        form(
            "/tag",
            &format!("action=set&apiak={KEY}&tag=testApiTagging&call_id=9721917")
        )
    );

    recorder.reply(200, "[]");
    let june = DateRange::between(
        W3cDate::parse("2017-06-05").expect("date"),
        W3cDate::parse("2017-07-01").expect("date"),
    );
    assert!(client.get_t2c(&june).await.expect("t2c").is_empty());
    assert_eq!(
        recorder.last(),
        form(
            "/getT2C",
            &format!("apiak={KEY}&date%5Bfrom%5D=2017-06-05&date%5Bto%5D=2017-07-01")
        )
    );
}

#[tokio::test]
async fn answers_map_to_errors_by_reason_then_status() {
    let (recorder, url) = start().await;
    let client = client(&url);
    let order = OrderCall::new(phone("79991234567"));

    recorder.reply(
        710,
        r#"{"status":"fail", "reason":"The widget is disabled"}"#,
    );
    assert!(matches!(
        client.order_call(&order).await,
        Err(Error::WidgetDisabled)
    ));

    recorder.reply(
        403,
        r#"{"status":"fail","reason":"Not the correct key api"}"#,
    );
    assert!(matches!(
        client.order_call(&order).await,
        Err(Error::WrongKey)
    ));

    recorder.reply(
        409,
        r#"{"status":"fail","reason":"Invalid manager or client phone number"}"#,
    );
    let err = client.order_call(&order).await.expect_err("refused");
    assert_eq!(err.class(), ErrorClass::InvalidPhone);

    recorder.reply(502, "<html>Bad Gateway</html>");
    let err = client.order_call(&order).await.expect_err("5xx");
    assert!(matches!(err, Error::Server { status: 502 }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(err.is_in_doubt());

    recorder.reply(200, "<html>maintenance</html>");
    let err = client.order_call(&order).await.expect_err("not JSON");
    assert!(
        matches!(err, Error::Malformed { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.is_in_doubt());

    recorder.reply(200, "[]");
    assert!(matches!(
        client.order_call(&order).await,
        Err(Error::Malformed { .. })
    ));

    recorder.reply(200, r#"{"status":"fail","reason":"Something new"}"#);
    let err = client.order_call(&order).await.expect_err("fail");
    assert!(
        matches!(&err, Error::OtherFail { status: 200, reason } if reason == "Something new"),
        "{err:?}"
    );

    recorder.reply(
        200,
        r#"{"id":"77","manager":"m","client":"c","status":"success"}"#,
    );
    assert_eq!(
        client
            .order_call(&order)
            .await
            .expect("a single object is one call")
            .id
            .as_str(),
        "77"
    );

    recorder.reply(200, r#"[{"id":"1","status":"success"}]"#);
    let err = client
        .get_call_info(&CallId::from(1))
        .await
        .expect_err("no status_code");
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_timeout_is_retryable_in_doubt_and_never_shows_the_key() {
    let (recorder, url) = start().await;
    recorder.reply_slowly(Duration::from_secs(5));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let client =
        Client::with_http_client(url, credentials(WidgetRef::hash(HASH).expect("hash")), http);
    let err = client
        .order_call(&OrderCall::new(phone("79991234567")))
        .await
        .expect_err("timed out");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(err.is_in_doubt());
    assert!(!format!("{err} {err:?}").contains(KEY));
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_not_in_doubt() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url =
        url::Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    drop(listener);
    let err = client(&url)
        .order_call(&OrderCall::new(phone("79991234567")))
        .await
        .expect_err("refused");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(!err.is_in_doubt());
    assert!(!format!("{err} {err:?}").contains(KEY));
}

#[tokio::test]
async fn a_redirect_is_never_followed_so_the_key_stays_home() {
    // The "other host" records whatever reaches it.
    let (elsewhere, elsewhere_url) = start().await;
    let target = format!("{elsewhere_url}orderCall");
    let app = Router::new().fallback(move || {
        let target = target.clone();
        async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, target)],
            )
        }
    });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let url =
        url::Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let err = client(&url)
        .order_call(&OrderCall::new(phone("79991234567")))
        .await
        .expect_err("a redirect is not an answer");
    assert!(
        matches!(err, Error::OtherFail { status: 307, .. }),
        "{err:?}"
    );
    // A redirected upstream is a misconfiguration for an operator, not a
    // blip to retry into the same redirect.
    assert_eq!(err.class(), ErrorClass::Configuration);
    assert!(!err.is_in_doubt());
    assert!(
        elsewhere
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty(),
        "the redirect was followed"
    );
}
