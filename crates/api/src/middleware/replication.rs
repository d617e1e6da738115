//! Reads from a standby, with read-your-writes.
//!
//! When the API has a standby (`FILMLOG_READ_DATABASE_URL`), every GET reads from it, except that a
//! client that wrote recently never reads from a standby that has not yet replayed its write:
//!
//! - every successful write answers with the primary's WAL position after it, in the
//!   `Filmlog-Consistency` header and a `filmlog_consistency` cookie (five minutes, far above the
//!   longest a standby may hold back its replay, `max_standby_streaming_delay`), as a token
//!   `position.expiry.signature` that only this service can make: a forged or expired one is
//!   ignored, so no client can send every read to the primary;
//! - a read that carries that position (header or cookie) is served by the standby only if the
//!   standby has replayed up to it, and otherwise by the primary;
//! - `Filmlog-Read-From: standby|primary` on the response says which node answered;
//! - a read with a token is served by the standby only if it has replayed what the primary had
//!   written half a second before (as this instance last asked it, at most every 500 ms), so a
//!   session ended on the primary (a logout, a password change) stops reading everywhere within
//!   about a second however far the standby lags.
//!
//! Without a standby none of this runs: one node always shows its own writes.

use std::cell::Cell;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use filmlog_persistence::{DbPool, replication};

use crate::state::AppState;
use filmlog_persistence::DbConn;

pub const HEADER: &str = "filmlog-consistency";
pub const COOKIE: &str = "filmlog_consistency";
pub const READ_FROM: &str = "filmlog-read-from";
/// How long a client keeps its position as a cookie.
pub const COOKIE_MAX_AGE_SECS: u32 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Primary,
    Standby,
}

impl Node {
    pub fn as_str(self) -> &'static str {
        match self {
            Node::Primary => "primary",
            Node::Standby => "standby",
        }
    }
}

struct ReadContext {
    /// The position the client's reads must show, if it sent one.
    min_position: Option<String>,
    /// Whether the request carries a token (its session is checked on the read connection).
    authenticated: bool,
    served_by: Cell<Option<Node>>,
}

/// How long a read waits for the primary's position before going on with the last one seen.
const PRIMARY_ASKED_FOR: std::time::Duration = std::time::Duration::from_millis(250);

/// The primary's position at most [`PRIMARY_SEEN_FOR`] ago: asked by one request at a time, within
/// [`PRIMARY_ASKED_FOR`], while the others use the last position seen (reads never queue for the
/// primary's pool); `None` before the primary ever answered.
async fn primary_position(state: &AppState) -> Option<String> {
    let last = state.primary_seen.last();
    if let Some((p, true)) = &last {
        return Some(p.clone());
    }
    let seen = &state.primary_seen;
    let Some(_asking) = seen.try_ask() else {
        return last.map(|(p, _)| p);
    };
    let asked = tokio::time::timeout(PRIMARY_ASKED_FOR, async {
        let mut conn = state.pool.get().await.ok()?;
        replication::current_position(&mut conn).await.ok()
    })
    .await
    .ok()
    .flatten();
    match asked {
        Some(position) => {
            seen.set(position.clone());
            Some(position)
        }
        None => last.map(|(p, _)| p),
    }
}

/// The later of two WAL positions.
fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let bytes = |p: &str| crate::metrics::lsn_bytes(p).unwrap_or(0);
            Some(if bytes(&a) >= bytes(&b) { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

tokio::task_local! {
    static READ: ReadContext;
}

/// A WAL position as PostgreSQL writes it: two hexadecimal numbers of up to 8 digits, `X/Y`.
pub fn valid_position(raw: &str) -> bool {
    let ok =
        |part: &str| (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit());
    raw.split_once('/').is_some_and(|(hi, lo)| ok(hi) && ok(lo))
}

/// The token a write hands out for `position`, valid until `expires` (Unix seconds).
pub fn position_token(
    tokens: &filmlog_app::credentials::TokenService,
    position: &str,
    expires: i64,
) -> String {
    let text = format!("{position}.{expires}");
    let signature = tokens.sign_position(&text);
    format!("{text}.{signature}")
}

/// The position a token names, when this service made it and it has not expired.
pub fn position_of(
    tokens: &filmlog_app::credentials::TokenService,
    token: &str,
    now: i64,
) -> Option<String> {
    let (text, signature) = token.rsplit_once('.')?;
    let (position, expires) = text.split_once('.')?;
    let expires: i64 = expires.parse().ok()?;
    let genuine = filmlog_app::credentials::constant_time_eq(
        tokens.sign_position(text).as_bytes(),
        signature.as_bytes(),
    );
    (genuine
        && valid_position(position)
        && expires >= now
        && expires <= now + i64::from(COOKIE_MAX_AGE_SECS))
    .then(|| position.to_owned())
}

fn requested_position(
    req: &ServiceRequest,
    tokens: &filmlog_app::credentials::TokenService,
) -> Option<String> {
    let from_header = req
        .headers()
        .get(HeaderName::from_static(HEADER))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(str::to_owned);
    let from_cookie = || {
        req.headers()
            .get_all(header::COOKIE)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value.trim().to_owned())
    };
    // A malformed, forged or expired position is ignored: it is a hint for where to read, never a
    // reason to fail.
    let now = chrono::Utc::now().timestamp();
    from_header
        .or_else(from_cookie)
        .and_then(|t| position_of(tokens, &t, now))
}

fn mark(node: Node) {
    // Outside a request (jobs, tests of the state alone) there is nothing to mark.
    let _ = READ.try_with(|c| c.served_by.set(Some(node)));
}

impl AppState {
    /// A pooled connection for a read (see [`AppState::conn`]): the one the request holds, else
    /// the standby's when it shows what this client must see, else the primary's (read-only) pool.
    pub async fn read_conn(&self) -> crate::error::ApiResult<DbConn> {
        if let Some(conn) = crate::held::take() {
            return Ok(conn);
        }
        Ok(read_conn(self).await?)
    }
}

async fn read_conn(state: &AppState) -> Result<DbConn, filmlog_persistence::PersistenceError> {
    if let Some(standby) = &state.standby {
        if let Some(conn) = caught_up(state, standby).await {
            mark(Node::Standby);
            return Ok(conn);
        }
        mark(Node::Primary);
    }
    Ok(state.reads.get().await?)
}

async fn caught_up(state: &AppState, standby: &DbPool) -> Option<DbConn> {
    // What the read must show, known before a standby connection is taken (asking the primary
    // may take a moment).
    let (sent, authenticated) = READ
        .try_with(|c| (c.min_position.clone(), c.authenticated))
        .unwrap_or((None, false));
    let wanted = if authenticated {
        later(sent, primary_position(state).await)
    } else {
        sent
    };
    let mut conn = match standby.get().await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, "standby unavailable; reading from the primary");
            return None;
        }
    };
    match wanted {
        None => Some(conn),
        Some(position) => match replication::shows(&mut conn, &position).await {
            Ok(true) => Some(conn),
            Ok(false) => None,
            Err(error) => {
                tracing::warn!(%error, "standby position unknown; reading from the primary");
                None
            }
        },
    }
}

fn is_write(method: &actix_web::http::Method) -> bool {
    !(method.is_safe() || method == actix_web::http::Method::OPTIONS)
}

/// Carries the client's position into its reads and the primary's position out of its writes.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.standby.is_some())
        .cloned()
    else {
        return next.call(req).await;
    };
    let write = is_write(req.method());
    let context = ReadContext {
        min_position: requested_position(&req, &state.tokens),
        authenticated: req.headers().contains_key(header::AUTHORIZATION),
        served_by: Cell::new(None),
    };
    let (res, served_by) = READ
        .scope(context, async move {
            let res = next.call(req).await;
            (res, READ.with(|c| c.served_by.get()))
        })
        .await;
    let mut res = res?;
    if let Some(node) = served_by {
        res.headers_mut().insert(
            HeaderName::from_static(READ_FROM),
            HeaderValue::from_static(node.as_str()),
        );
    }
    if write && res.status().is_success() {
        match position_after_write(&state).await {
            Ok(position) => {
                let expires = chrono::Utc::now().timestamp() + i64::from(COOKIE_MAX_AGE_SECS);
                let position = position_token(&state.tokens, &position, expires);
                let headers = res.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&position) {
                    headers.insert(HeaderName::from_static(HEADER), v);
                }
                let cookie = format!(
                    "{COOKIE}={position}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax"
                );
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            // The write is done; only the hint is missing. The client may read its write from a
            // standby that has not replayed it for a moment, which is logged.
            Err(error) => tracing::warn!(%error, "no WAL position after a write"),
        }
    }
    Ok(res)
}

async fn position_after_write(
    state: &AppState,
) -> Result<String, filmlog_persistence::PersistenceError> {
    let mut conn = state.pool.get().await?;
    replication::current_position(&mut conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_two_hex_numbers() {
        for ok in ["0/0", "16/B374D848", "FFFFFFFF/FFFFFFFF", "a/b"] {
            assert!(valid_position(ok), "{ok}");
        }
        for bad in [
            "",
            "/",
            "0/",
            "/0",
            "123456789/0",
            "0/0/0",
            "g/0",
            " 0/0",
            "0x1/2",
        ] {
            assert!(!valid_position(bad), "{bad}");
        }
    }
}
