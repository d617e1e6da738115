//! The CORS policy: which origins' pages may call the API (the protocol itself is
//! [`crate::middleware::cors`]).
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

use actix_web::http::header::HeaderValue;

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
    pub fn allow(&self, origin: &str) -> Option<HeaderValue> {
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
