//! Conditional requests: strong ETags over the JSON representation, `If-None-Match` → 304 on reads,
//! `If-Match` → 412 on writes of owned resources.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use filmlog_app::ops::{OpError, OpResult};

use crate::error::{ApiError, ApiResult};

/// The ETag of a representation: a hash of its JSON bytes.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

fn serialize<T: Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(ApiError::internal)
}

/// 200 with `ETag` (a `304` to a matching `If-None-Match` is [`crate::middleware::http_cache`]'s, for every
/// read).
pub fn json_with_etag<T: Serialize>(value: &T) -> ApiResult<HttpResponse> {
    let body = serialize(value)?;
    let etag = etag_of(&body);
    Ok(json_response(body, etag))
}

/// 200 with `value` and an ETag over it and `version` together: for a page of a resource whose
/// other pages can change without this one changing (a list's entries), so that its ETag changes
/// whenever the resource does.
pub fn json_with_version<T: Serialize, V: Serialize>(
    value: &T,
    version: &V,
) -> ApiResult<HttpResponse> {
    let body = serialize(value)?;
    let etag = versioned_etag(&body, version)?;
    Ok(json_response(body, etag))
}

fn json_response(body: Vec<u8>, etag: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .body(body)
}

/// The ETag [`json_with_version`] gives `value` at `version`.
pub fn etag_with_version<T: Serialize, V: Serialize>(value: &T, version: &V) -> ApiResult<String> {
    versioned_etag(&serialize(value)?, version)
}

fn versioned_etag<V: Serialize>(body: &[u8], version: &V) -> ApiResult<String> {
    let mut all = body.to_vec();
    all.extend_from_slice(&serialize(version)?);
    Ok(etag_of(&all))
}

/// The request's `If-Match`, taken out of the request so it can travel into a transaction.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
}

/// Whether an `If-Match` or `If-None-Match` value names `etag` (or is `*`).
pub fn lists_etag(raw: &str, etag: &str) -> bool {
    raw.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == etag || t.strip_prefix("W/") == Some(etag))
}

/// 412 when an `If-Match` was sent and it does not name the current representation: the check a
/// use case runs with the row locked.
pub fn check_if_match<T: Serialize>(if_match: Option<&str>, current: &T) -> OpResult<()> {
    match if_match {
        None => Ok(()),
        Some(raw) => {
            let etag = etag_of(&serde_json::to_vec(current).map_err(OpError::internal)?);
            if lists_etag(raw, &etag) {
                Ok(())
            } else {
                Err(OpError::PreconditionFailed)
            }
        }
    }
}
