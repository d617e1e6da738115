//! CORS for web clients served from other origins (the Fetch standard's CORS protocol).
//!
//! Allowed origins come from configuration (`FILMLOG_CORS_ORIGINS`); none by default. A preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is answered `204` on every
//! path, with the methods and request headers the API takes; from any other origin it is `403`
//! problem+json without `Access-Control-*` headers, so the browser refuses the request. A request
//! that names a foreign origin not allowed is refused the same way before it does anything (a
//! simple cross-origin `POST` is sent without a preflight). Credentials are off: the API
//! authenticates with bearer tokens, never cookies, so `Access-Control-Allow-Credentials` is never
//! sent. Responses to allowed origins expose the headers a client reads.

use std::collections::HashSet;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use crate::error::ApiError;
use crate::state::AppState;

/// The methods the API answers.
pub const METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
/// The request headers a cross-origin client may send (beyond the CORS-safelisted ones).
pub const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "x-request-id",
    "traceparent",
    "tracestate",
    "filmlog-consistency",
];
/// The response headers a cross-origin client may read (beyond the CORS-safelisted ones).
pub const EXPOSED_HEADERS: &str = "ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, \
    RateLimit-Reset, X-Request-Id, Idempotent-Replayed, Filmlog-Consistency, Filmlog-Instance";
/// How long a browser may keep a preflight's answer.
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 3600;

/// The origins allowed to call the API from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Same-origin only.
    #[default]
    Closed,
    /// Any origin (`*`): for public, read-mostly deployments.
    Any,
    /// These origins, each `scheme://host[:port]`, compared exactly.
    Origins(HashSet<String>),
}

impl CorsPolicy {
    /// Parses `*` or a comma-separated list of origins; an empty string is [`CorsPolicy::Closed`].
    pub fn parse(raw: &str) -> Result<Self, String> {
        let items: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            return Ok(CorsPolicy::Closed);
        }
        if items == ["*"] {
            return Ok(CorsPolicy::Any);
        }
        let mut origins = HashSet::new();
        for item in items {
            let rest = item
                .strip_prefix("https://")
                .or_else(|| item.strip_prefix("http://"));
            let valid = rest.is_some_and(|host| {
                !host.is_empty() && !host.contains(['/', '?', '#', '*', ' ', '@'])
            });
            if !valid {
                return Err(format!(
                    "{item:?} is not an origin (scheme://host[:port], no path), nor *"
                ));
            }
            origins.insert(item.to_ascii_lowercase());
        }
        Ok(CorsPolicy::Origins(origins))
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed.
    fn allow(&self, origin: &str) -> Option<HeaderValue> {
        match self {
            CorsPolicy::Closed => None,
            CorsPolicy::Any => Some(HeaderValue::from_static("*")),
            CorsPolicy::Origins(set) if set.contains(&origin.to_ascii_lowercase()) => {
                HeaderValue::from_str(origin).ok()
            }
            CorsPolicy::Origins(_) => None,
        }
    }
}

/// Whether `origin` is the API's own (the request's `Host`): the docs UI's requests.
fn same_origin(req: &ServiceRequest, origin: &str) -> bool {
    let host = req.connection_info().host().to_ascii_lowercase();
    let origin = origin.to_ascii_lowercase();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        == Some(host.as_str())
}

fn refused(origin: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cors_origin_not_allowed",
        "Origin not allowed",
        format!("this API does not take requests from pages of {origin}"),
    )
}

/// The preflight answer, or the reason to refuse it.
fn preflight(req: &ServiceRequest, allow_origin: HeaderValue) -> Result<HttpResponse, ApiError> {
    let asked = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !METHODS.split(", ").any(|m| m == asked) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cors_method_not_allowed",
            "Method not allowed across origins",
            format!("{asked:?} is not one of {METHODS}"),
        ));
    }
    let headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(unknown) = headers
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .find(|h| !h.is_empty() && !REQUEST_HEADERS.contains(&h.as_str()))
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cors_header_not_allowed",
            "Header not allowed across origins",
            format!(
                "{unknown:?} is not a header this API takes; it takes {}",
                REQUEST_HEADERS.join(", ")
            ),
        ));
    }
    Ok(HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            REQUEST_HEADERS.join(", "),
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECS))
        .insert_header((
            header::VARY,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ))
        .finish())
}

/// The middleware (see the module's documentation).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let policy = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.cors.clone())
        .unwrap_or_default();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin else {
        let mut res = next.call(req).await?;
        if matches!(*policy, CorsPolicy::Origins(_)) {
            crate::http_cache::add_vary(res.headers_mut(), "Origin");
        }
        return Ok(res.map_into_left_body());
    };
    let allowed = policy.allow(&origin);
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let Some(allow_origin) = allowed else {
        if is_preflight || !same_origin(&req, &origin) {
            let res = refused(&origin).error_response();
            return Ok(req.into_response(res).map_into_right_body());
        }
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if is_preflight {
        let res = preflight(&req, allow_origin).unwrap_or_else(|e| e.error_response());
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    if matches!(*policy, CorsPolicy::Origins(_)) {
        crate::http_cache::add_vary(headers, "Origin");
    }
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_parsed_strictly() {
        assert_eq!(CorsPolicy::parse(" "), Ok(CorsPolicy::Closed));
        assert_eq!(CorsPolicy::parse("*"), Ok(CorsPolicy::Any));
        let Ok(CorsPolicy::Origins(set)) =
            CorsPolicy::parse("https://app.example, http://localhost:5173")
        else {
            panic!("two origins");
        };
        assert!(set.contains("https://app.example") && set.contains("http://localhost:5173"));
        for bad in [
            "app.example",
            "https://app.example/",
            "https://*.example",
            "ftp://x",
            "https://",
        ] {
            assert!(CorsPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_listed_origins_are_allowed() {
        let policy = CorsPolicy::parse("https://app.example").unwrap_or_default();
        assert!(policy.allow("https://app.example").is_some());
        assert!(policy.allow("https://APP.example").is_some());
        assert!(policy.allow("https://evil.example").is_none());
        assert!(policy.allow("null").is_none());
        assert!(CorsPolicy::Closed.allow("https://app.example").is_none());
    }
}
