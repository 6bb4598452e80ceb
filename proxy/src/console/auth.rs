//! Who is at the console, and what they may do.
//!
//! Every request under `/console/` passes [`require_owner`]: it finds the
//! owner's session from the `console_session` cookie (`HttpOnly`, `Secure`,
//! `SameSite=Strict`) or, on a loopback console without a login, opens one
//! for the local owner; and it refuses any POST whose form does not carry
//! the session's CSRF token, before a handler runs, so no form can forget
//! it. Logins are rate-limited per address and per name
//! ([`LoginAttempts`]); passwords are checked against argon2 hashes on a
//! blocking thread. Sessions live in memory: a restart logs owners out.
//!
//! Never logs a password, a session token or a CSRF token.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;

use super::i18n::Lang;
use crate::config::ConsoleAccount;
use crate::http::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "console_session";
/// The form field every POST carries its CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// How long a session lasts from its login.
const SESSION_MS: i64 = 12 * 3600 * 1000;
/// Failed logins allowed per address and per name within [`ATTEMPT_WINDOW_MS`].
const MAX_FAILED_LOGINS: usize = 5;
const ATTEMPT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Sessions kept at most; past it the oldest ends.
const MAX_SESSIONS: usize = 10_000;
/// Addresses and names whose failed logins are remembered at most.
const MAX_REMEMBERED_FAILURES: usize = 100_000;
/// A console form is small; a larger body is refused unread.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The owner a request comes from (in the request's extensions).
#[derive(Debug, Clone)]
pub struct Owner {
    /// The account's name; `None` for the local owner of a loopback console.
    pub name: Option<String>,
    /// The sites they see; `None`: every site (the local owner).
    pub sites: Option<Vec<String>>,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Where they connect from, for the log.
    pub address: String,
}

impl Owner {
    /// Whether `site` is one of theirs. A site that is not theirs does not
    /// exist for them: handlers answer 404, as for an unknown site.
    pub fn sees(&self, site: &str) -> bool {
        self.sites
            .as_ref()
            .is_none_or(|sites| sites.iter().any(|s| s == site))
    }

    /// Who they are in the log: the account, or `local` and the address.
    pub fn who(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("local@{}", self.address),
        }
    }
}

#[derive(Debug, Clone)]
struct Session {
    name: Option<String>,
    sites: Option<Vec<String>>,
    csrf: String,
    expires_at: i64,
}

/// Open sessions, by token.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn open(&self, name: Option<String>, sites: Option<Vec<String>>, now: i64) -> String {
        let token = random_token();
        let session = Session {
            name,
            sites,
            csrf: random_token(),
            expires_at: now + SESSION_MS,
        };
        let mut sessions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, s| s.expires_at > now);
        // A loopback console opens a session for every browser without one:
        // a script hitting it in a loop must not grow memory without bound.
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(token, _)| token.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(token.clone(), session);
        token
    }

    fn get(&self, token: &str, now: i64) -> Option<Session> {
        let sessions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.get(token).filter(|s| s.expires_at > now).cloned()
    }

    fn close(&self, token: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
    }
}

/// Failed logins, by address and by name, within the window.
#[derive(Debug, Default)]
pub struct LoginAttempts(Mutex<HashMap<String, Vec<i64>>>);

impl LoginAttempts {
    /// Whether another attempt from `address` for `name` may be checked now.
    fn allowed(&self, address: &str, name: &str, now: i64) -> bool {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        [format!("ip:{address}"), format!("name:{name}")]
            .iter()
            .all(|key| {
                let list = failures.entry(key.clone()).or_default();
                list.retain(|at| now - at < ATTEMPT_WINDOW_MS);
                list.len() < MAX_FAILED_LOGINS
            })
    }

    fn failed(&self, address: &str, name: &str, now: i64) {
        let mut failures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_REMEMBERED_FAILURES {
            failures.retain(|_, list| list.iter().any(|at| now - at < ATTEMPT_WINDOW_MS));
        }
        for key in [format!("ip:{address}"), format!("name:{name}")] {
            failures.entry(key).or_default().push(now);
        }
    }
}

/// 32 random bytes, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The argon2id hash (PHC string) of `password`, with a random salt: what
/// `proxy admin-password` prints for `[[console.accounts]] password_hash`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether `password` matches `account`'s hash, on a blocking thread
/// (argon2 takes tens of milliseconds by design). For an unknown name the
/// same work is done against a hash of nothing, so the time taken does not
/// tell which names exist.
async fn password_matches(account: Option<&ConsoleAccount>, password: String) -> bool {
    static NOBODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let (hash, known) = match account {
        Some(account) => (account.password_hash.clone(), true),
        None => (
            NOBODY
                .get_or_init(|| hash_password(&random_token()).unwrap_or_default())
                .clone(),
            false,
        ),
    };
    tokio::task::spawn_blocking(move || {
        let matched = PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        matched && known
    })
    .await
    .unwrap_or(false)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value for the console's path, `HttpOnly`, `Secure` and
/// `SameSite=Strict`; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Strict"
    ))
    .expect("cookie names and hex values are header-safe")
}

fn client_address(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_default()
}

/// The form's fields of a buffered body.
pub fn form_fields(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The gate in front of every console page but the login, the stylesheet
/// and the script (see the module's comment).
pub async fn require_owner(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let console = &state.console;
    let now = state.clock.now_ms();
    let address = client_address(&request);
    let token = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned);
    let session = token.as_deref().and_then(|t| console.sessions.get(t, now));
    let (session, new_cookie) = match session {
        Some(session) => (session, None),
        None if !console.login_required => {
            let token = console.sessions.open(None, None, now);
            let session = console.sessions.get(&token, now).expect("just opened");
            (session, Some(token))
        }
        None if request.method() == Method::GET => {
            return Redirect::to("/console/login").into_response();
        }
        None => return StatusCode::FORBIDDEN.into_response(),
    };
    let owner = Owner {
        name: session.name,
        sites: session.sites,
        csrf: session.csrf,
        address,
    };
    let request = if request.method() == Method::POST {
        match checked_form(request, &owner.csrf).await {
            Ok(request) => request,
            Err(refusal) => {
                tracing::warn!(target: "console", who = %owner.who(), "a form without the session's CSRF token was refused");
                return refusal;
            }
        }
    } else {
        request
    };
    let mut request = request;
    request.extensions_mut().insert(owner);
    let mut response = next.run(request).await;
    if let Some(token) = new_cookie {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &token, SESSION_MS / 1000),
        );
    }
    response
}

/// Buffers a POST's form and lets it through only with `csrf` in it.
async fn checked_form(request: Request, csrf: &str) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let fields = form_fields(&bytes);
    match fields.get(CSRF_FIELD) {
        Some(sent) if same_token(sent, csrf) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(super::views::refused_form(Lang::of_request(&parts.headers))),
    }
}

/// The login form's own CSRF token, before any session: a cookie and the
/// same value in the form (double submit), so another site cannot log a
/// browser in to an account of its choosing.
pub const LOGIN_COOKIE: &str = "console_login";

/// `GET /console/login`.
pub async fn login_page(headers: HeaderMap) -> Response {
    login_form(&headers, None, StatusCode::OK)
}

fn login_form(headers: &HeaderMap, error: Option<&'static str>, status: StatusCode) -> Response {
    let lang = Lang::of_request(headers);
    let token = random_token();
    let mut response = (
        status,
        axum::response::Html(super::views::login(lang, &token, error).into_string()),
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &token, 3600));
    super::views::secure_headers(&mut response);
    response
}

/// `POST /console/login`: checks the double-submitted token, the rate
/// limit, then the password; opens a session.
pub async fn log_in(State(state): State<AppState>, request: Request) -> Response {
    let console = &state.console;
    let now = state.clock.now_ms();
    let address = client_address(&request);
    let headers = request.headers().clone();
    let lang = Lang::of_request(&headers);
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let fields = form_fields(&bytes);
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let sent = fields
        .get(CSRF_FIELD)
        .map(String::as_str)
        .unwrap_or_default();
    if expected.is_empty() || !same_token(sent, expected) {
        tracing::warn!(target: "console", %address, "a login without its form's token was refused");
        return super::views::refused_form(lang);
    }
    let name = fields
        .get("name")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    if !console.logins.allowed(&address, &name, now) {
        tracing::warn!(target: "console", %address, account = %name, "login refused: too many failed attempts");
        let t = lang.texts();
        return login_form(
            &headers,
            Some(t.login_limited),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let account = console.settings.accounts.iter().find(|a| a.name == name);
    let matched = password_matches(account, password).await;
    let Some(account) = account.filter(|_| matched) else {
        console.logins.failed(&address, &name, now);
        tracing::warn!(target: "console", %address, account = %name, "login failed");
        return login_form(
            &headers,
            Some(lang.texts().login_failed),
            StatusCode::UNAUTHORIZED,
        );
    };
    let token = console
        .sessions
        .open(Some(account.name.clone()), Some(account.sites.clone()), now);
    tracing::info!(target: "console", %address, who = %account.name, "logged in");
    let mut response = Redirect::to("/console/").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, SESSION_MS / 1000),
    );
    headers.append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
    response
}

/// `POST /console/logout` (behind [`require_owner`], so with the CSRF token).
pub async fn log_out(
    State(state): State<AppState>,
    axum::Extension(owner): axum::Extension<Owner>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.console.sessions.close(token);
    }
    tracing::info!(target: "console", who = %owner.who(), "logged out");
    let target = if state.console.login_required {
        "/console/login"
    } else {
        "/console/"
    };
    let mut response = Redirect::to(target).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let parsed = PasswordHash::new(&hash).expect("PHC");
        let argon = argon2::Argon2::default();
        assert!(argon.verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon.verify_password(b"wrong horse", &parsed).is_err());
    }

    #[test]
    fn logins_are_limited_per_address_and_per_name() {
        let attempts = LoginAttempts::default();
        for i in 0..MAX_FAILED_LOGINS {
            assert!(attempts.allowed("10.0.0.1", "anna", i as i64));
            attempts.failed("10.0.0.1", "anna", i as i64);
        }
        assert!(
            !attempts.allowed("10.0.0.1", "boris", 10),
            "the address is spent"
        );
        assert!(
            !attempts.allowed("10.0.0.2", "anna", 10),
            "the name is spent"
        );
        assert!(attempts.allowed("10.0.0.2", "boris", 10));
        assert!(
            attempts.allowed("10.0.0.1", "anna", ATTEMPT_WINDOW_MS + 10),
            "the window passes"
        );
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; console_session=abc"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), None);
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("ab", "abc"));
    }
}
