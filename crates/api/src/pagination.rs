//! Cursor pagination: `?limit=` (default 20, at most 100) and an opaque `?cursor=` from the previous
//! page; responses are `{"items": [...], "next_cursor": "…" | null}`.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use filmlog_app::ErrorCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(example = "WzE3OTU1NjQ5MjUsNDJd")]
    pub next_cursor: Option<String>,
}

/// The query of a plain list: `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Where a page starts: its size and the key of the row it follows, both checked (400 when bad).
/// Extracted from `?limit=&cursor=` for plain lists; lists with more parameters build it with
/// [`Paging::parse`].
#[derive(Debug, Clone)]
pub struct Paging<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> Paging<K> {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> ApiResult<Self> {
        Ok(Self {
            limit: self::limit(limit)?,
            after: decode(cursor)?,
        })
    }

    /// Rows to fetch: one more than the page, to tell whether there is a next one.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

impl<K: DeserializeOwned + 'static> FromRequest for Paging<K> {
    type Error = ApiError;
    type Future = crate::auth::AfterAuth<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        crate::auth::after_auth(
            req,
            crate::extract::parse_query::<PageQuery>(req)
                .and_then(|q| Self::parse(q.limit, q.cursor.as_deref())),
        )
    }
}

/// The page size asked for: 1–100, default 20. Anything else is 400.
pub fn limit(raw: Option<i64>) -> ApiResult<i64> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            ErrorCode::InvalidLimit,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor made by [`encode`] for the same list; anything else is 400 `invalid_cursor`.
pub fn decode<K: DeserializeOwned>(cursor: Option<&str>) -> ApiResult<Option<K>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::bad_request(
            ErrorCode::InvalidCursor,
            "the cursor is not one this list issued",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if !times_in_range(&value) {
        return Err(invalid());
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|_| invalid())
}

/// Whether every date or time in a cursor lies in years 1–9999 and no text holds a NUL: a list never
/// issues others, and PostgreSQL cannot hold some times that chrono reads nor a NUL in text (a forged
/// cursor once reached it as a 500).
fn times_in_range(value: &serde_json::Value) -> bool {
    use chrono::Datelike;
    match value {
        serde_json::Value::String(s) if s.contains('\0') => false,
        serde_json::Value::String(s) => {
            let year = s
                .parse::<chrono::DateTime<chrono::Utc>>()
                .map(|t| t.year())
                .or_else(|_| s.parse::<chrono::NaiveDate>().map(|d| d.year()));
            year.is_err() || year.is_ok_and(|y| (1..=9999).contains(&y))
        }
        serde_json::Value::Array(items) => items.iter().all(times_in_range),
        serde_json::Value::Object(map) => map.values().all(times_in_range),
        _ => true,
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says there is a next page.
pub fn page<R, T: ToSchema, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> K,
    item: impl FnMut(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(item).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(limit(None).ok(), Some(20));
        assert_eq!(limit(Some(100)).ok(), Some(100));
        assert_eq!(
            limit(Some(101)).err().map(|e| e.code()),
            Some("invalid_limit")
        );
        assert_eq!(
            limit(Some(0)).err().map(|e| e.code()),
            Some("invalid_limit")
        );
        let c = encode(&(5i64, "x".to_owned()));
        assert_eq!(
            decode::<(i64, String)>(Some(&c)).ok().flatten(),
            Some((5, "x".to_owned()))
        );
        assert_eq!(
            decode::<(i64, String)>(Some("!!")).err().map(|e| e.code()),
            Some("invalid_cursor")
        );
        assert_eq!(
            decode::<(i64, String)>(Some(&encode(&1)))
                .err()
                .map(|e| e.code()),
            Some("invalid_cursor")
        );
    }
}
