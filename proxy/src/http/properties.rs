//! Property tests of what the API reads from outside (issue 11: every
//! parser of outside input), with the number of cases each runs:
//!
//! - [`client_ip`] on arbitrary forwarding headers, peers and trusted
//!   proxies (4,000 cases): never panics, believes the header only from a
//!   trusted peer, and whatever a client writes left of the last untrusted
//!   hop changes nothing;
//! - the whole router ([`super::app`], driven with `oneshot` on a real
//!   SQLite store) on arbitrary callback requests (1,500 cases: bytes,
//!   arbitrary JSON objects of the request's fields, arbitrary
//!   `Idempotency-Key`, `Accept-Language`, `Origin`, `X-Forwarded-For`,
//!   widget header) and status reads (500 cases: arbitrary ids, or a real
//!   lead's, and arbitrary `Last-Event-ID`) and site reads (300 cases:
//!   arbitrary site ids and query strings, `?days=` among them): never a
//!   panic nor a 5xx, only a 202 (a 200 for a real lead or site) or a 4xx in
//!   the API's one error shape.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::Value;
use tower::ServiceExt;

use super::limits::client_ip;
use crate::trusted_proxies::TrustedProxies;

const ORIGIN: &str = "https://shop.example";

/// Addresses, with the trusted ones and their IPv4-mapped spellings often.
fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        prop::sample::select(vec![
            "127.0.0.1",
            "10.1.2.3",
            "::ffff:10.0.0.9",
            "fd00::7",
            "203.0.113.5",
            "2001:db8::1",
        ])
        .prop_map(|text| text.parse().expect("an address")),
    ]
}

/// One entry of a forwarding header, as a proxy or a forger writes it.
fn hop() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => address().prop_map(|a| a.to_string().into_bytes()),
        1 => (address(), any::<u16>()).prop_map(|(a, port)| SocketAddr::new(a, port).to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..24),
        1 => Just(b"unknown".to_vec()),
    ]
}

/// A header value (hops joined by commas) that HTTP can carry.
fn forwarding_value() -> impl Strategy<Value = HeaderValue> {
    prop::collection::vec(hop(), 0..5)
        .prop_map(|hops| hops.join(&b", "[..]))
        .prop_filter_map("not a header value", |bytes| {
            HeaderValue::from_bytes(&bytes).ok()
        })
}

fn trusted() -> impl Strategy<Value = TrustedProxies> {
    prop::sample::subsequence(vec!["127.0.0.1", "10.0.0.0/8", "fd00::/8"], 0..=3)
        .prop_map(|entries| TrustedProxies::parse(&entries).expect("valid ranges"))
}

fn headers_with(header: &str, values: &[HeaderValue]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let name = HeaderName::from_bytes(header.as_bytes()).expect("a header name");
    for value in values {
        headers.append(name.clone(), value.clone());
    }
    headers
}

proptest! {
    // 2,000 cases each.
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_client_address_is_the_peer_or_a_hop_a_trusted_peer_passed_on(
        peer in address(),
        port in any::<u16>(),
        trusted in trusted(),
        values in prop::collection::vec(forwarding_value(), 0..3),
    ) {
        let headers = headers_with("x-forwarded-for", &values);
        let peer = SocketAddr::new(peer, port);
        let client = client_ip(Some(peer), &headers, &trusted, "x-forwarded-for");
        let client = client.expect("a peer gives an address");
        let peer = peer.ip().to_canonical();
        if !trusted.contains(peer) {
            prop_assert_eq!(client, peer, "an untrusted peer's header is ignored");
        } else if client != peer {
            let written = values.iter().any(|value| {
                value
                    .as_bytes()
                    .split(|byte| *byte == b',')
                    .any(|hop| {
                        let hop = String::from_utf8_lossy(hop.trim_ascii()).into_owned();
                        hop.parse::<IpAddr>().map(|a| a.to_canonical()) == Ok(client)
                            || hop.parse::<SocketAddr>().map(|s| s.ip().to_canonical()) == Ok(client)
                    })
            });
            prop_assert!(written, "{client} is neither the peer nor in the header");
        }
    }

    #[test]
    fn what_a_client_writes_left_of_its_own_address_changes_nothing(
        forged in prop::collection::vec(hop(), 1..4),
        client in address(),
        more_trusted in prop::sample::subsequence(vec!["10.0.0.0/8", "fd00::/8"], 0..=2),
    ) {
        let mut entries = vec!["127.0.0.1"];
        entries.extend(more_trusted);
        let trusted = TrustedProxies::parse(&entries).expect("valid ranges");
        prop_assume!(!trusted.contains(client));
        let proxy: SocketAddr = "127.0.0.1:443".parse().expect("an address");
        let mut line = forged.join(&b", "[..]);
        line.extend_from_slice(b", ");
        line.extend_from_slice(client.to_string().as_bytes());
        let Ok(value) = HeaderValue::from_bytes(&line) else {
            return Ok(());
        };
        let headers = headers_with("x-forwarded-for", &[value]);
        prop_assert_eq!(
            client_ip(Some(proxy), &headers, &trusted, "x-forwarded-for"),
            Some(client.to_canonical())
        );
    }
}

/// The request's own field names, and the context's, so that arbitrary
/// objects reach the validation of each field.
const FIELDS: &[&str] = &[
    "phone",
    "office",
    "time",
    "name",
    "email",
    "consent",
    "accepted",
    "version",
    "context",
    "referrer",
    "current_page",
    "entry_page",
    "user_agent",
    "utm",
    "source",
    "medium",
    "campaign",
    "extra",
    "website",
    "elapsed_ms",
];

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[+0-9 ()-]{0,20}".prop_map(Value::from),
        "\\+7 9[0-9]{2} [0-9]{3}-[0-9]{2}-[0-9]{2}".prop_map(Value::from),
        "https://shop\\.example/[a-z/?=&%]{0,30}".prop_map(Value::from),
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(json_key(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A request's body: arbitrary bytes, or an arbitrary object of the
/// request's fields (most of it wrong, some of it a valid order).
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => prop::collection::vec(any::<u8>(), 16_000..17_000),
        6 => prop::collection::btree_map(json_key(), json_value(), 0..8)
            .prop_map(|map| serde_json::to_vec(&map).expect("JSON")),
        2 => ("\\+7 9[0-9]{2} [0-9]{3}-[0-9]{2}-[0-9]{2}", json_value(), 0u64..20_000)
            .prop_map(|(phone, context, elapsed)| {
                let mut order = BTreeMap::new();
                order.insert("phone", Value::from(phone));
                order.insert("context", context);
                order.insert("elapsed_ms", Value::from(elapsed));
                serde_json::to_vec(&order).expect("JSON")
            }),
    ]
}

/// An arbitrary header value that HTTP can carry.
fn header_value() -> impl Strategy<Value = Option<HeaderValue>> {
    prop::option::of(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            "[a-zA-Z0-9,;=.*-]{0,40}".prop_map(String::into_bytes),
        ]
        .prop_filter_map("not a header value", |bytes| {
            HeaderValue::from_bytes(&bytes).ok()
        }),
    )
}

/// One POST of a callback request, from a peer, with arbitrary headers.
#[derive(Debug)]
struct Order {
    body: Vec<u8>,
    peer: IpAddr,
    origin: Option<HeaderValue>,
    idempotency_key: Option<HeaderValue>,
    accept_language: Option<HeaderValue>,
    forwarded_for: Option<HeaderValue>,
    widget: bool,
}

fn order() -> impl Strategy<Value = Order> {
    (
        body(),
        address(),
        prop_oneof![3 => Just(Some(HeaderValue::from_static(ORIGIN))), 1 => header_value()],
        header_value(),
        header_value(),
        prop::option::of(forwarding_value()),
        any::<bool>(),
    )
        .prop_map(
            |(body, peer, origin, idempotency_key, accept_language, forwarded_for, widget)| Order {
                body,
                peer,
                origin,
                idempotency_key,
                accept_language,
                forwarded_for,
                widget,
            },
        )
}

impl Order {
    fn request(&self) -> Request<Body> {
        let mut request = Request::post("/v1/sites/shop/callbacks")
            .header("content-type", "application/json")
            .body(Body::from(self.body.clone()))
            .expect("a request");
        let headers = request.headers_mut();
        let optional = [
            ("origin", &self.origin),
            ("idempotency-key", &self.idempotency_key),
            ("accept-language", &self.accept_language),
            ("x-forwarded-for", &self.forwarded_for),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                headers.insert(name, value.clone());
            }
        }
        if self.widget {
            headers.insert(
                super::callbacks::WIDGET_HEADER,
                HeaderValue::from_static("1"),
            );
        }
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(self.peer, 50_000)));
        request
    }
}

/// The proxy's router on a store in `dir`, for site `shop` with limits
/// roomy enough that arbitrary requests reach validation.
async fn router(dir: &std::path::Path) -> Router {
    let text = format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n\
         assets = \"{}\"\ntrusted_proxies = [\"127.0.0.1\"]\n\
         reads_per_minute = 1000000\nstatus_polls_per_minute = 1000000\n\
         [sites.shop]\nallowed_origins = [\"{ORIGIN}\"]\nupstream = \"http://127.0.0.1:9\"\n\
         unique = \"shop\"\napi_key_env = \"SHOP_KEY\"\nwhash = \"96d6ec6937c878c2ca1f889b9b9e865a\"\n\
         limits = {{ ip_burst = 1000000, ip_per_minute = 1000000, ip_per_day = 1000000, \
         network_per_day = 1000000, site_per_hour = 1000000, site_per_day = 1000000 }}\n",
        dir.join("leads.db").display(),
        dir.join("dist").display(),
    );
    let config = crate::config::Config::parse(&text, |_| {
        Some("eb2cee1bc1b8d1b6e4282486af09e078".to_owned())
    })
    .expect("a valid config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let application = crate::Application::build(config, listener)
        .await
        .expect("the proxy builds");
    super::app(application.state.clone())
}

/// Sends `request`; its status and body.
async fn answer(router: &Router, request: Request<Body>) -> (u16, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes()
        .to_vec();
    (status, body)
}

/// A 4xx in the API's one error shape, or a 202 with a status token.
fn check_answer(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(body);
    prop_assert!(
        status == 202 || (400..500).contains(&status),
        "answered {status}: {text}"
    );
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| TestCaseError::fail(format!("{status}, not JSON ({e}): {text}")))?;
    if status == 202 {
        prop_assert!(json["id"].is_string(), "{text}");
    } else {
        prop_assert!(json["error"]["code"].is_string(), "{status}: {text}");
        prop_assert!(json["error"]["message"].is_string(), "{status}: {text}");
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn arbitrary_callback_requests_get_a_202_or_a_4xx_never_a_5xx() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let router = runtime.block_on(router(dir.path()));
    // 1,500 cases.
    let mut runner = TestRunner::new(ProptestConfig::with_cases(1_500));
    let statuses = std::cell::RefCell::new(BTreeMap::<u16, usize>::new());
    runner
        .run(&order(), |order| {
            let (status, body) = runtime.block_on(answer(&router, order.request()));
            *statuses.borrow_mut().entry(status).or_default() += 1;
            check_answer(status, &body)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    let statuses = statuses.into_inner();
    println!("arbitrary callback requests, answers by status: {statuses:?}");
    // The property is about the refusals; some valid orders prove the
    // generated requests reach the end of the handler too.
    assert!(statuses.contains_key(&202), "no generated order was valid");
}

#[test]
fn arbitrary_status_reads_get_a_4xx_never_a_5xx() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let router = runtime.block_on(router(dir.path()));
    // One real lead, so that `Last-Event-ID` is read too (an unknown id is
    // a 404 before it is).
    let order = Request::post("/v1/sites/shop/callbacks")
        .header("origin", ORIGIN)
        .header("x-callback-widget", "1")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"phone": "+7 916 555-00-99", "elapsed_ms": 6000}"#,
        ))
        .expect("a request");
    let (status, body) = runtime.block_on(answer(&router, order));
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let token: Value = serde_json::from_slice(&body).expect("JSON");
    let token = token["id"].as_str().expect("a status token").to_owned();
    let read = (
        prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 1..48)),
        any::<bool>(),
        header_value(),
    );
    // 500 cases.
    let mut runner = TestRunner::new(ProptestConfig::with_cases(500));
    runner
        .run(&read, |(id, events, last_event_id)| {
            // Any bytes, percent-encoded into the path as a browser would;
            // or the real lead's token.
            let id: String = id.map_or_else(
                || token.clone(),
                |id| id.iter().map(|byte| format!("%{byte:02X}")).collect(),
            );
            let path = if events {
                format!("/v1/callbacks/{id}/events")
            } else {
                format!("/v1/callbacks/{id}")
            };
            let mut request = Request::get(path).body(Body::empty()).expect("a request");
            if let Some(value) = last_event_id {
                request.headers_mut().insert("last-event-id", value);
            }
            if events && id == token {
                // A live stream: it answers at once and goes on; its body
                // is not awaited.
                let response = runtime
                    .block_on(router.clone().oneshot(request))
                    .expect("infallible");
                prop_assert_eq!(response.status().as_u16(), 200);
                prop_assert_eq!(
                    response
                        .headers()
                        .get("content-type")
                        .map(HeaderValue::as_bytes),
                    Some(&b"text/event-stream"[..])
                );
                return Ok(());
            }
            let (status, body) = runtime.block_on(answer(&router, request));
            if id == token {
                prop_assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                return Ok(());
            }
            check_answer(status, &body)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn arbitrary_site_reads_get_a_200_or_a_4xx_never_a_5xx() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let router = runtime.block_on(router(dir.path()));
    let percent = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("%{b:02X}")).collect() };
    let read = (
        prop::option::weighted(0.5, prop::collection::vec(any::<u8>(), 1..24)),
        any::<bool>(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..24)
                .prop_map(move |q| format!("x={}", percent(&q))),
            any::<String>().prop_map(|days| format!("days={}", percent(days.as_bytes()))),
            any::<i64>().prop_map(|days| format!("days={days}")),
        ],
    );
    // 300 cases.
    let mut runner = TestRunner::new(ProptestConfig::with_cases(300));
    runner
        .run(&read, |(site, slots, query)| {
            let site = site.map_or_else(|| "shop".to_owned(), |site| percent(&site));
            let path = if slots {
                format!("/v1/sites/{site}/slots?{query}")
            } else {
                format!("/v1/sites/{site}/config?{query}")
            };
            let request = Request::get(path).body(Body::empty()).expect("a request");
            let (status, body) = runtime.block_on(answer(&router, request));
            if status == 200 {
                prop_assert_eq!(site, "shop");
                let json: Result<Value, _> = serde_json::from_slice(&body);
                prop_assert!(json.is_ok(), "{}", String::from_utf8_lossy(&body));
                return Ok(());
            }
            check_answer(status, &body)
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
}
