//! The v1 contract as an OpenAPI 3 document, served at `GET /v1/openapi.json`.
//!
//! The schemas are derived from the `protocol` types themselves (its
//! `openapi` feature, enabled by the proxy only: the widget's wasm never
//! carries it), so they cannot drift from what the widget and the proxy
//! exchange. The paths are described here, one documentation-only function
//! per endpoint; the handlers are in `sites.rs`, `callbacks.rs` and `status.rs`.

use axum::Json;
use protocol::{
    ApiError, CallState, CallStatus, CallbackAccepted, CallbackRequest, Consent, ConsentConfig,
    ErrorBody, ErrorCode, FailureReason, SiteConfig, SiteTexts, Slot, Slots, Utm, VisitContext,
};
use utoipa::OpenApi;

/// `GET /v1/openapi.json`.
pub(super) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Callback widget API",
        version = "1",
        description = "What the callback widget and its proxy exchange. Every error has the \
                       one shape ErrorBody; unknown JSON fields are ignored, never rejected."
    ),
    paths(site_config, slots, create, status, events),
    components(schemas(
        CallbackRequest,
        VisitContext,
        Utm,
        Consent,
        CallbackAccepted,
        CallStatus,
        CallState,
        FailureReason,
        SiteConfig,
        ConsentConfig,
        SiteTexts,
        Slots,
        protocol::challenge::Challenge,
        Slot,
        ErrorBody,
        ApiError,
        ErrorCode
    ))
)]
struct ApiDoc;

#[utoipa::path(
    get,
    path = "/v1/sites/{site}/config",
    params(("site" = String, Path, description = "The site's id, as in the embed's data-site")),
    responses(
        (status = 200, description = "What the widget needs to render", body = SiteConfig),
        (status = 404, description = "No such site (`not_found`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The server is busy or the store cannot be read right now (`unavailable`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
#[expect(
    dead_code,
    reason = "documentation only: the handler is sites::site_config"
)]
fn site_config() {}

#[utoipa::path(
    get,
    path = "/v1/sites/{site}/slots",
    params(
        ("site" = String, Path, description = "The site's id"),
        ("days" = Option<u32>, Query, minimum = 1, maximum = 14, description = "How many days ahead, 1 to 14 (default 3)"),
    ),
    responses(
        (status = 200, description = "Whether the company is open now, and the coming 30-minute slots", body = Slots),
        (status = 400, description = "`days` is not a whole number (`bad_request`)", body = ErrorBody),
        (status = 404, description = "No such site (`not_found`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 422, description = "`days` is not from 1 to 14 (`invalid_input`, `field` = `days`)", body = ErrorBody),
        (status = 503, description = "The server is busy or the store cannot be read right now (`unavailable`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
#[expect(dead_code, reason = "documentation only: the handler is sites::slots")]
fn slots() {}

#[utoipa::path(
    post,
    path = "/v1/sites/{site}/callbacks",
    params(
        ("site" = String, Path, description = "The site's id"),
        ("Idempotency-Key" = Option<String>, Header,
         description = "1 to 128 visible ASCII characters. A retry with the same key and body \
                        gets the first answer; with another body, 409"),
        ("Origin" = String, Header, description = "The page's origin; must be one of the site's"),
        ("X-Callback-Widget" = Option<String>, Header,
         description = "`1` from the widget; required where the site's `require_widget_header` is on"),
        ("X-Callback-Proof" = Option<String>, Header,
         description = "`token:nonce`, a solved proof-of-work challenge, where the site asks for one (428)"),
    ),
    request_body(content = CallbackRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; the call will be ordered", body = CallbackAccepted),
        (status = 400, description = "The body is not JSON of this shape (`bad_request`)", body = ErrorBody),
        (status = 403, description = "The page's origin may not use this site (`origin_not_allowed`)", body = ErrorBody),
        (status = 404, description = "No such site (`not_found`)", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another body (`idempotency_conflict`)", body = ErrorBody),
        (status = 413, description = "The body is too large (`payload_too_large`)", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it (`invalid_input`)", body = ErrorBody),
        (status = 428, description = "The site asks for a proof of work (`challenge_required`): solve `challenge` \
                                       and send again with X-Callback-Proof", body = ErrorBody),
        (status = 429, description = "Too many requests from this address, for this number or for this site (`rate_limited`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
        (status = 503, description = "Could not be stored right now; retry with the same Idempotency-Key (`unavailable`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
#[expect(
    dead_code,
    reason = "documentation only: the handler is callbacks::create"
)]
fn create() {}

#[utoipa::path(
    get,
    path = "/v1/callbacks/{id}",
    params(("id" = String, Path, description = "The token from CallbackAccepted.id")),
    responses(
        (status = 200, description = "The call's status now", body = CallStatus),
        (status = 404, description = "No such callback (`not_found`)", body = ErrorBody),
        (status = 429, description = "Too many requests from this address (`rate_limited`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The server is busy or the store cannot be read right now (`unavailable`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
#[expect(
    dead_code,
    reason = "documentation only: the handler is status::status"
)]
fn status() {}

#[utoipa::path(
    get,
    path = "/v1/callbacks/{id}/events",
    params(
        ("id" = String, Path, description = "The token from CallbackAccepted.id"),
        ("Last-Event-ID" = Option<String>, Header,
         description = "The last event's id; only newer statuses are sent"),
    ),
    responses(
        (status = 200,
         description = "Server-Sent Events: each `event: status` has `data:` a CallStatus (JSON) and \
                        an `id:` for Last-Event-ID. The stream ends after a final status.",
         content_type = "text/event-stream", body = String),
        (status = 404, description = "No such callback, or its token expired (`not_found`)", body = ErrorBody),
        (status = 429, description = "Too many open streams from this address or in all (`rate_limited`); poll the status instead",
         body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds before trying a stream again"))),
        (status = 503, description = "The server is busy or the store cannot be read right now (`unavailable`)",
         body = ErrorBody,
         headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    )
)]
#[expect(
    dead_code,
    reason = "documentation only: the handler is status::status_stream"
)]
fn events() {}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).expect("serialisable")
    }

    #[test]
    fn the_document_is_openapi_3_with_the_four_paths() {
        let doc = document();
        assert!(
            doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
            "{}",
            doc["openapi"]
        );
        for (path, method) in [
            ("/v1/sites/{site}/config", "get"),
            ("/v1/sites/{site}/callbacks", "post"),
            ("/v1/callbacks/{id}", "get"),
            ("/v1/callbacks/{id}/events", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
        let create = &doc["paths"]["/v1/sites/{site}/callbacks"]["post"];
        for status in [
            "202", "400", "403", "404", "409", "413", "422", "428", "429", "503",
        ] {
            assert!(
                create["responses"][status].is_object(),
                "create answers {status}"
            );
        }
        assert!(create["responses"]["429"]["headers"]["Retry-After"].is_object());
        assert!(
            create["parameters"]
                .as_array()
                .is_some_and(|params| params.iter().any(|p| p["name"] == "Idempotency-Key")),
            "{create}"
        );
        let events = &doc["paths"]["/v1/callbacks/{id}/events"]["get"];
        assert!(events["responses"]["200"]["content"]["text/event-stream"].is_object());
    }

    #[test]
    fn every_schema_has_the_fields_the_protocol_serialises() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let properties = |name: &str| -> Vec<String> {
            schemas[name]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{name} has properties"))
                .keys()
                .cloned()
                .collect()
        };
        // Serialise a full value of each type and check each key is in its schema.
        let full = CallbackRequest {
            phone: "+79991234567".to_owned(),
            office: Some(0),
            time: Some(0),
            name: Some(String::new()),
            email: Some(String::new()),
            consent: Some(Consent::default()),
            context: VisitContext {
                referrer: Some(String::new()),
                current_page: Some(String::new()),
                entry_page: Some(String::new()),
                user_agent: Some(String::new()),
                utm: Utm {
                    source: Some(String::new()),
                    medium: Some(String::new()),
                    campaign: Some(String::new()),
                    content: Some(String::new()),
                    term: Some(String::new()),
                },
                ga_client_id: Some(String::new()),
                roistat_visit: Some(String::new()),
                calltouch_session: Some(String::new()),
                extra: [(String::new(), String::new())].into(),
            },
            website: Some(String::new()),
            elapsed_ms: Some(0),
        };
        let status = CallStatus {
            state: CallState::Failed,
            is_final: true,
            reason: Some(FailureReason::Busy),
            message: String::new(),
            eta_seconds: Some(0),
            at: Some(0),
        };
        let consent = ConsentConfig {
            version: String::new(),
            link: Some(String::new()),
            required: true,
        };
        let site = SiteConfig {
            consent: Some(consent.clone()),
            invite: [("scroll_percent".to_owned(), "50".to_owned())].into(),
            ..SiteConfig::default()
        };
        let values: [(&str, Value); 11] = [
            (
                "CallbackRequest",
                serde_json::to_value(&full).expect("json"),
            ),
            (
                "VisitContext",
                serde_json::to_value(&full.context).expect("json"),
            ),
            (
                "Utm",
                serde_json::to_value(&full.context.utm).expect("json"),
            ),
            (
                "Consent",
                serde_json::to_value(Consent::default()).expect("json"),
            ),
            ("CallStatus", serde_json::to_value(&status).expect("json")),
            (
                "CallbackAccepted",
                serde_json::to_value(CallbackAccepted {
                    id: String::new(),
                    status: status.clone(),
                })
                .expect("json"),
            ),
            ("SiteConfig", serde_json::to_value(&site).expect("json")),
            (
                "ConsentConfig",
                serde_json::to_value(&consent).expect("json"),
            ),
            (
                "SiteTexts",
                serde_json::to_value(SiteTexts::default()).expect("json"),
            ),
            (
                "ErrorBody",
                serde_json::to_value(ErrorBody {
                    error: ApiError {
                        code: ErrorCode::Internal,
                        message: String::new(),
                        field: Some(String::new()),
                    },
                    challenge: Some(protocol::challenge::Challenge::default()),
                })
                .expect("json"),
            ),
            (
                "ApiError",
                serde_json::to_value(ApiError {
                    code: ErrorCode::Internal,
                    message: String::new(),
                    field: Some(String::new()),
                })
                .expect("json"),
            ),
        ];
        for (name, value) in values {
            let documented = properties(name);
            let sent: Vec<&String> = value.as_object().expect("an object").keys().collect();
            for key in &sent {
                assert!(
                    documented.contains(key),
                    "{name}.{key} is not in the schema"
                );
            }
            assert_eq!(
                documented.len(),
                sent.len(),
                "{name}: {documented:?} vs {sent:?}"
            );
        }
        // The enums list every wire value.
        for (name, values) in [
            (
                "CallState",
                serde_json::to_value([
                    CallState::Received,
                    CallState::Queued,
                    CallState::Ordered,
                    CallState::Scheduled,
                    CallState::InProgress,
                    CallState::Succeeded,
                    CallState::Failed,
                ]),
            ),
            (
                "FailureReason",
                serde_json::to_value([
                    FailureReason::Busy,
                    FailureReason::NoAnswer,
                    FailureReason::InvalidNumber,
                    FailureReason::CompanyUnavailable,
                    FailureReason::Closed,
                    FailureReason::Cancelled,
                    FailureReason::NotOrdered,
                ]),
            ),
            (
                "ErrorCode",
                serde_json::to_value([
                    ErrorCode::BadRequest,
                    ErrorCode::InvalidInput,
                    ErrorCode::NotFound,
                    ErrorCode::OriginNotAllowed,
                    ErrorCode::IdempotencyConflict,
                    ErrorCode::PayloadTooLarge,
                    ErrorCode::RateLimited,
                    ErrorCode::ChallengeRequired,
                    ErrorCode::Unavailable,
                    ErrorCode::Internal,
                ]),
            ),
        ] {
            let values = values.expect("json");
            let documented = &schemas[name]["enum"];
            for value in values.as_array().expect("a list") {
                assert!(
                    documented.as_array().is_some_and(|d| d.contains(value)),
                    "{name} documents {value}: {documented}"
                );
            }
        }
    }

    #[tokio::test]
    async fn the_proxy_serves_the_document() {
        let dir = tempfile::tempdir().expect("tempdir");
        let demo = crate::demo::start(crate::demo::DemoOptions::ephemeral(
            dir.path(),
            0.01,
            std::time::Duration::from_millis(20),
        ))
        .await
        .expect("the demo starts");
        let response = reqwest::get(format!("{}/v1/openapi.json", demo.api_url))
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200);
        let served: Value = response.json().await.expect("json");
        assert_eq!(served, document());
        demo.shutdown.cancel();
    }
}
