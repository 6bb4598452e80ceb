//! What handlers take from a request besides its body and path.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The client's socket address, when the server was started with connect info
/// (tests that drive the router directly have none). Who the client really
/// is behind a reverse proxy is [`super::IpLimits::client_ip`]'s business.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientAddr(pub(super) Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}
