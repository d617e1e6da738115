//! One request path for everything that looks at it.
//!
//! actix routes on the *decoded* path (every `%XX` except `%25`, `%2F` and `%2B` decoded), while a
//! middleware reading `req.path()` sees the raw one: `/%61pi/v1/auth/register` is routed to the
//! registration handler, yet does not start with `/api/v1`. Before any other middleware runs,
//! [`middleware`] rewrites the request target into the canonical form of the path the router will
//! match — decoded as the router decodes it, re-encoded only where a URI requires it — so limits,
//! CORS, caching, metrics and replication routing all see what the router sees. It also refuses
//! methods no route has (405 with `Allow`, or 404 off the API's paths) before anything counts them.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::uri::PathAndQuery;
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::middleware::Next;
use filmlog_app::ErrorCode;

use crate::error::ApiError;
use crate::middleware::request_id;

/// Bytes a path may carry unencoded (RFC 3986 `pchar` and `/`), besides `%` escapes.
fn keeps(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

/// `decoded` (the router's path) as a URI path: every byte a path may not carry is `%XX`
/// (uppercase). `%` itself stays as it is: the router leaves `%25`, `%2F` and `%2B` encoded, so
/// decoding the result again gives `decoded` back.
pub fn encode(decoded: &str) -> String {
    let mut out = String::with_capacity(decoded.len());
    for &b in decoded.as_bytes() {
        if keeps(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The methods HTTP defines (RFC 9110 and PATCH); any other is refused before it is counted.
pub fn is_known_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::OPTIONS
            | Method::TRACE
            | Method::CONNECT
    )
}

/// `uri` with its path replaced by `path`, the rest kept.
fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let target = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(target).ok()?);
    Uri::from_parts(parts).ok()
}

/// `err` as the answer to `req`, with a request id (this runs before the middleware that gives one).
async fn refuse(req: ServiceRequest, err: &ApiError) -> ServiceResponse {
    let id = request_id::accept_or_generate(
        req.headers()
            .get(request_id::HEADER)
            .and_then(|v| v.to_str().ok()),
    );
    let mut res = request_id::scope(id.clone(), async {
        actix_web::ResponseError::error_response(err)
    })
    .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static(request_id::HEADER), value);
    }
    req.into_response(res)
}

/// Refuses unknown methods (405 or 404) and makes `req.path()` the canonical form of the routed path.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !is_known_method(req.method()) {
        // 405 with `Allow` on a path the API serves (as for any method a route lacks; `QUERY` and
        // the like included), 404 elsewhere: nothing of the rest runs, metrics included.
        let known = req
            .app_data::<actix_web::web::Data<crate::routes::KnownRoutes>>()
            .and_then(|k| k.allowed(req.match_info().as_str()));
        let err = match known {
            Some(allow) => ApiError::method_not_allowed(allow),
            None => crate::routes::route_not_found(req.match_info().as_str()),
        };
        return Ok(refuse(req, &err).await.map_into_right_body());
    }
    let canonical = encode(req.match_info().as_str());
    if canonical != req.path() {
        let Some(uri) = with_path(req.uri(), &canonical) else {
            let err = ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MalformedRequest,
                "Malformed request",
                "the request path cannot be read".to_owned(),
            );
            return Ok(refuse(req, &err).await.map_into_right_body());
        };
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What actix's router makes of a raw path (the same quoter: `%`, `/` and `+` stay encoded).
    fn routed(raw: &str) -> String {
        let uri: Uri = raw.parse().unwrap_or_default();
        actix_web::dev::Url::new(uri).path().to_owned()
    }

    #[test]
    fn canonical_paths_route_where_their_encoded_forms_do() {
        for (raw, canonical) in [
            ("/%61pi/v1/auth/register", "/api/v1/auth/register"),
            ("/api/v1/auth/log%69n", "/api/v1/auth/login"),
            ("/api/v1/auth/logi%6E", "/api/v1/auth/login"),
            ("/api/v1/films/a%2Fb", "/api/v1/films/a%2Fb"),
            ("/api/v1/films/a%25b", "/api/v1/films/a%25b"),
            ("/api/v1/films/a%2bb", "/api/v1/films/a%2bb"),
            (
                "/api/v1/films/Not%20A%20Slug",
                "/api/v1/films/Not%20A%20Slug",
            ),
            ("/api/v1/films/am%c3%a9lie", "/api/v1/films/am%C3%A9lie"),
            ("/api/v1/films/%3F%23", "/api/v1/films/%3F%23"),
            ("/api/v1/films/%ff", "/api/v1/films/%EF%BF%BD"),
            ("/api/v1/films", "/api/v1/films"),
        ] {
            let got = encode(&routed(raw));
            assert_eq!(got, canonical, "{raw}");
            // Idempotent, and routed to the same place as the raw form.
            assert_eq!(encode(&routed(&got)), got, "{raw}");
            assert_eq!(routed(&got), routed(raw), "{raw}");
        }
    }

    #[test]
    fn only_methods_http_defines_are_known() {
        assert!(is_known_method(&Method::PATCH));
        for m in ["M1", "get", "FOO", "PROPFIND"] {
            let method = Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET);
            assert!(!is_known_method(&method), "{m}");
        }
    }
}
