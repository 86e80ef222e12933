//! The token rule. On a loopback address the page is open unless a token is given; on any other
//! address the server does not start without one. With a token, every request must carry it as
//! `Authorization: Bearer TOKEN`, as the cookie `assay_token`, or once as `?token=TOKEN` (the
//! answer then sets the cookie, so links from the page work); otherwise it gets 401. The token
//! is compared in constant time and never logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::App;

/// Refuses a non-loopback `addr` without a token.
pub fn check_bind(addr: &SocketAddr, token: Option<&str>) -> anyhow::Result<()> {
    if let Some(t) = token {
        if t.trim().is_empty() {
            anyhow::bail!("the token is empty; put a long random string in the token file");
        }
    }
    if !addr.ip().is_loopback() && token.is_none() {
        anyhow::bail!(
            "serving on {addr} exposes the store to the network: give --token-file FILE or set ASSAY_TOKEN (requests must then carry the token), or bind 127.0.0.1"
        );
    }
    Ok(())
}

/// Reads a token file: its first line, trimmed.
pub fn read_token_file(path: &std::path::Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("token file {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("assay_token="))
}

fn query_token(req: &Request) -> Option<&str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
}

/// The middleware: passes requests that carry the token (or all, without one).
pub async fn check(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(token) = &app.token else {
        return next.run(req).await;
    };
    let ok = |t: Option<&str>| t.is_some_and(|t| equal(t.as_bytes(), token.as_bytes()));
    if ok(bearer(&req)) || ok(cookie(&req)) {
        return next.run(req).await;
    }
    if ok(query_token(&req)) {
        let mut response = next.run(req).await;
        if let Ok(v) = format!("assay_token={token}; HttpOnly; SameSite=Strict; Path=/").parse() {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return response;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "401: this dashboard needs its token (Authorization: Bearer TOKEN, or ?token=TOKEN once)\n",
    )
        .into_response()
}
