//! HTTP caching as RFC 9110 and 9111 describe it, for every route at once: `HEAD` is answered
//! wherever `GET` is, every successful `GET` carries an `ETag` and answers `304` to a matching
//! `If-None-Match`, and `Cache-Control` says who may keep a response:
//!
//! - anonymous catalog reads (`/films`, `/films/{slug}`, `/films/{slug}/statistics`): `public,
//!   max-age=60`, so shared caches and CDNs serve them;
//! - other anonymous reads: `public, no-cache` (kept, but revalidated by ETag each time);
//! - reads with a token: `private, no-cache` (the viewer's own state is in them, so only the
//!   viewer's cache keeps them, and revalidates each time; the ETag hashes the body, viewer state
//!   included, so it changes when that state does);
//! - everything else (writes, errors, tokens, probes): `no-store`.
//!
//! Reads vary by `Authorization`, which the responses say (`Vary`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;

use crate::middleware::conditional::{etag_of, lists_etag};
use crate::routes::API_PREFIX;

/// What anonymous catalog reads say: shared caches may serve them for a minute without asking again.
pub const CATALOG_CACHE_CONTROL: &str = "public, max-age=60";

/// Who may keep a response to a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Anonymous catalog reads.
    PublicFresh,
    /// Other anonymous reads.
    PublicRevalidate,
    /// Reads with a token.
    Private,
    /// The documentation UI: static files.
    Static,
    NoStore,
}

impl Policy {
    fn of(method: &Method, path: &str, status: StatusCode, authenticated: bool) -> Policy {
        let read = method == Method::GET && matches!(status.as_u16(), 200 | 304);
        if !read {
            return Policy::NoStore;
        }
        if path.starts_with("/docs") {
            return Policy::Static;
        }
        let Some(route) = path.strip_prefix(API_PREFIX) else {
            return Policy::NoStore;
        };
        match (authenticated, route) {
            (true, _) => Policy::Private,
            (false, r) if is_catalog(r) => Policy::PublicFresh,
            (false, _) => Policy::PublicRevalidate,
        }
    }

    fn cache_control(self) -> HeaderValue {
        match self {
            Policy::PublicFresh => HeaderValue::from_static(CATALOG_CACHE_CONTROL),
            Policy::PublicRevalidate => HeaderValue::from_static("public, no-cache"),
            Policy::Private => HeaderValue::from_static("private, no-cache"),
            Policy::Static => HeaderValue::from_static("public, max-age=300"),
            Policy::NoStore => HeaderValue::from_static("no-store"),
        }
    }

    fn varies_by_token(self) -> bool {
        matches!(
            self,
            Policy::PublicFresh | Policy::PublicRevalidate | Policy::Private
        )
    }
}

/// The catalog itself (browse and search, a film's page and its statistics): what members write
/// about a film (its reviews, the lists holding it) is not, and is revalidated so that something
/// made private leaves shared caches at once.
fn is_catalog(route: &str) -> bool {
    let Some(rest) = route.strip_prefix("/films") else {
        return false;
    };
    match rest.strip_prefix('/') {
        None => rest.is_empty(),
        Some(film) => match film.split_once('/') {
            None => true,
            Some((_, "statistics")) => true,
            Some(_) => false,
        },
    }
}

/// Adds `value` to the `Vary` list unless it is there.
pub fn add_vary(headers: &mut HeaderMap, value: &'static str) {
    let present = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(value));
    if !present {
        headers.append(header::VARY, HeaderValue::from_static(value));
    }
}

/// The middleware: `HEAD` served as `GET` (actix-http sends the head without the body), ETags
/// and `304` on every successful `GET`, and `Cache-Control`/`Vary` by [`Policy`].
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let method = req.method().clone();
    let path = req.path().to_owned();
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    let status = res.status();
    let policy = Policy::of(&method, &path, status, authenticated);
    // A stream of events never ends: it has no body to hash, and no cache may keep it.
    let streaming = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let policy = if streaming { Policy::NoStore } else { policy };
    let mut res = if method == Method::GET && status == StatusCode::OK && !streaming {
        with_etag(res, if_none_match.as_deref()).await?
    } else {
        res.map_into_boxed_body()
    };
    let headers = res.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, policy.cache_control());
    }
    if policy.varies_by_token() {
        add_vary(headers, "Authorization");
    }
    Ok(res)
}

/// The response with an `ETag` (a hash of its body unless the handler set one), or `304` with it
/// when `If-None-Match` names it.
async fn with_etag(
    res: ServiceResponse<impl MessageBody + 'static>,
    if_none_match: Option<&str>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let given = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (req, res) = res.into_parts();
    let (mut res, etag) = match given {
        Some(etag) => (res.map_into_boxed_body(), etag),
        None => {
            let (head, body) = res.into_parts();
            let bytes = actix_web::body::to_bytes(body)
                .await
                .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
            let etag = etag_of(&bytes);
            let mut res = head.set_body(BoxBody::new(bytes));
            if let Ok(value) = HeaderValue::from_str(&etag) {
                res.headers_mut().insert(header::ETAG, value);
            }
            (res, etag)
        }
    };
    if if_none_match.is_some_and(|raw| lists_etag(raw, &etag)) {
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res.headers_mut().remove(header::CONTENT_TYPE);
        res = res.set_body(BoxBody::new(()));
    }
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_keep_what() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        let films = format!("{API_PREFIX}/films/the-mirror-1975");
        let diary = format!("{API_PREFIX}/members/ana/diary");
        assert_eq!(Policy::of(&get, &films, ok, false), Policy::PublicFresh);
        assert_eq!(Policy::of(&get, &films, ok, true), Policy::Private);
        assert_eq!(
            Policy::of(&get, &diary, ok, false),
            Policy::PublicRevalidate
        );
        assert_eq!(
            Policy::of(&get, &diary, StatusCode::NOT_MODIFIED, true),
            Policy::Private
        );
        assert_eq!(
            Policy::of(&get, &diary, StatusCode::NOT_FOUND, false),
            Policy::NoStore
        );
        assert_eq!(Policy::of(&Method::POST, &diary, ok, true), Policy::NoStore);
        assert_eq!(Policy::of(&get, "/health/live", ok, false), Policy::NoStore);
        assert_eq!(Policy::of(&get, "/docs/", ok, false), Policy::Static);
    }
}
