//! Request extractors whose every rejection is a problem+json: a JSON body extractor that insists on a
//! JSON object, and the error handlers for actix's own path and query extractors.

use actix_web::dev::Payload;
use actix_web::error::PathError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use filmlog_app::ErrorCode;
use filmlog_domain::{
    CommentId, ExportJobId, ImportJobId, ListCommentId, ListId, LogEntryId, SessionId, Slug,
    Username, WebhookId,
};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Bodies larger than this are refused with 413. Room for the longest review (100,000 characters of
/// up to four bytes each, escaped) with the rest of a log entry.
pub const BODY_LIMIT: usize = 512 * 1024;

/// A JSON request body that must be an object (an array for `ARRAY` bodies: batches) and must
/// deserialize into `T` (whose DTOs deny unknown fields). Rejections: 415 (not JSON), 413 (too large),
/// 400 (not parseable JSON), 422 (JSON of the wrong shape).
pub struct JsonBody<T, const ARRAY: bool = false>(pub T, pub [u8; 32]);

impl<T, const ARRAY: bool> JsonBody<T, ARRAY> {
    /// SHA-256 of the raw body, for idempotency checks.
    pub fn digest(&self) -> &[u8; 32] {
        &self.1
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        "Request body too large",
        format!("request bodies may be at most {BODY_LIMIT} bytes"),
    )
}

/// Parses a body already read into memory.
pub fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json::<T>(bytes, false)
}

/// Parses a body that must be a JSON object, or an array when `array`.
fn parse_json<T: DeserializeOwned>(bytes: &[u8], array: bool) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if array && !value.is_array() {
        return Err(ApiError::invalid_field(
            "",
            "expected_array",
            "the body must be a JSON array",
        ));
    }
    if !array && !value.is_object() {
        return Err(ApiError::invalid_field(
            "",
            "expected_object",
            "the body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut pointer = pointer_of(e.path());
        // A missing or unknown field is named by the message, inside the object the path reaches.
        if let Some(field) = named_field(&message)
            && !pointer.ends_with(&format!("/{}", escape(field)))
        {
            pointer = format!("{pointer}/{}", escape(field));
        }
        ApiError::validation(vec![FieldError::new(pointer, "invalid_body", message)])
    })
}

/// The JSON pointer (RFC 6901) of where deserializing failed.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .map(|segment| match segment {
            Segment::Seq { index } => format!("/{index}"),
            Segment::Map { key } => format!("/{}", escape(key)),
            Segment::Enum { variant } => format!("/{}", escape(variant)),
            Segment::Unknown => String::new(),
        })
        .collect()
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The field serde names in "missing field `password`" or "unknown field `x`" (not the value it
/// quotes in "unknown variant `friends`").
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next()
}

impl<T: DeserializeOwned + 'static, const ARRAY: bool> FromRequest for JsonBody<T, ARRAY> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let payload = payload.take();
        let body_timeout = req
            .app_data::<web::Data<crate::state::AppState>>()
            .map(|s| s.limits.body_timeout)
            .unwrap_or_default();
        let req = req.clone();
        Box::pin(async move {
            let result = Self::read(json, declared, payload, body_timeout).await;
            crate::auth::after_auth(&req, result).await
        })
    }
}

impl<T: DeserializeOwned + 'static, const ARRAY: bool> JsonBody<T, ARRAY> {
    async fn read(
        json: bool,
        declared: Option<usize>,
        mut payload: Payload,
        body_timeout: std::time::Duration,
    ) -> Result<Self, ApiError> {
        if !json {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Unsupported media type",
                "the body must be sent as Content-Type: application/json",
            ));
        }
        if declared.is_some_and(|n| n > BODY_LIMIT) {
            return Err(too_large());
        }
        let read = async {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request(ErrorCode::MalformedBody, e.to_string()))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        let body = tokio::time::timeout(body_timeout, read)
            .await
            .map_err(|_| ApiError::request_timeout(body_timeout))??;
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&body[..]).into();
        parse_json::<T>(&body, ARRAY).map(|v| JsonBody(v, digest))
    }
}

/// A path parameter parsed into what it names: one that cannot name anything answers the same 404 as
/// one that names nothing, in one place, before any query runs.
macro_rules! path_parameters {
    ($($(#[$doc:meta])* $name:ident($ty:ty) = $segment:literal, $what:literal, $parse:expr;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone)]
            pub struct $name(pub $ty);

            impl FromRequest for $name {
                type Error = ApiError;
                type Future = crate::auth::AfterAuth<Self>;

                fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                    let parse: fn(&str) -> Option<$ty> = $parse;
                    crate::auth::after_auth(
                        req,
                        req.match_info()
                            .get($segment)
                            .and_then(parse)
                            .map($name)
                            .ok_or_else(|| ApiError::not_found($what)),
                    )
                }
            }
        )*
    };
}

/// A positive id as these paths have always read it (a sign or leading zeros allowed, unlike the
/// typed ids' own `FromStr`: kept so that no URL that worked stops working).
fn lenient(s: &str) -> Option<i64> {
    s.parse().ok().filter(|id: &i64| *id > 0)
}

path_parameters! {
    /// `{slug}`: a film's slug.
    FilmSlug(Slug) = "slug", "that film", |s| Slug::parse(s).ok();
    /// `{person}` of `/people/{person}` and `/admin/people/{person}…`: a person's slug.
    PersonSlug(Slug) = "person", "that person", |s| Slug::parse(s).ok();
    /// `{username}`: a member's username (any case).
    MemberName(Username) = "username", "that member", |s| Username::parse(s).ok();
    /// `{id}` of `/log-entries/{id}…`.
    EntryPath(LogEntryId) = "id", "that log entry", |s| s.parse().ok();
    /// `{list_id}` of `/lists/{list_id}…`.
    ListPath(ListId) = "list_id", "that list", |s| lenient(s).map(ListId::new);
    /// `{id}` of `/list-comments/{id}`.
    ListCommentPath(ListCommentId) = "id", "that comment", |s| lenient(s).map(ListCommentId::new);
    /// `{id}` of `/comments/{id}`.
    CommentPath(CommentId) = "id", "that comment", |s| s.parse().ok();
    /// `{webhook_id}` of `/me/webhooks/{webhook_id}…`.
    WebhookPath(WebhookId) = "webhook_id", "that webhook", |s| lenient(s).map(WebhookId::new);
    /// `{import_id}` of `/me/imports/{import_id}…`.
    ImportPath(ImportJobId) = "import_id", "that import", |s| lenient(s).map(ImportJobId::new);
    /// `{export_id}` of `/me/exports/{export_id}…`.
    ExportPath(ExportJobId) = "export_id", "that export", |s| lenient(s).map(ExportJobId::new);
    /// `{id}` of `/me/sessions/{id}`.
    SessionPath(SessionId) = "id", "that session", |s| s.parse().ok();
    /// `{client_id}` of `/me/apps/{client_id}…` and `/me/authorized-apps/{client_id}`.
    ClientIdPath(String) = "client_id", "that app", |s| {
        filmlog_app::ops::oauth::client_id_shaped(s).then(|| s.to_owned())
    };
}

/// Rejections of `web::Path`: a path parameter of the wrong form.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request(ErrorCode::InvalidPathParameter, err.to_string()).into()
}

/// The request's query string as `T`; 400 `invalid_query_parameter` (an unknown parameter, an
/// unknown enum value, a wrong type) when it is not one.
pub(crate) fn parse_query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    web::Query::<T>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidQueryParameter, e.to_string()))
}

/// The query string parsed into `T` ([`parse_query`]), like `web::Query` but
/// answered after the request's session check ([`crate::auth::after_auth`]).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = crate::auth::AfterAuth<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        crate::auth::after_auth(req, parse_query(req).map(Query))
    }
}

/// For `Option<Option<T>>` fields of PATCH bodies: absent → `None`, `null` → `Some(None)`.
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

/// A request's `tags`, each checked and normalised ([`filmlog_domain::Tag`]); the first bad one is a
/// field error at `/tags/{i}`.
pub fn parse_tags(tags: &[String], errors: &mut Vec<crate::error::FieldError>) -> Vec<String> {
    use filmlog_domain::Tag;
    match Tag::parse_all(tags) {
        Ok(tags) => tags.into_iter().map(Tag::into_inner).collect(),
        Err((i, e)) => {
            errors.push(crate::error::FieldError::new(
                format!("/tags/{i}"),
                "invalid_tag",
                e,
            ));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[test]
    fn non_objects_and_bad_shapes_are_refused_with_their_codes() {
        assert_eq!(
            parse_json_object::<Body>(b"[\"x\"]")
                .err()
                .map(|e| e.code()),
            Some("validation_failed")
        );
        assert_eq!(
            parse_json_object::<Body>(b"{").err().map(|e| e.code()),
            Some("malformed_json")
        );
        let unknown = parse_json_object::<Body>(br#"{"name":"a","x":1}"#)
            .err()
            .map(|e| e.problem());
        assert_eq!(
            unknown.map(|p| p.errors[0].pointer.clone()),
            Some("/x".to_owned())
        );
        assert!(parse_json_object::<Body>(br#"{"name":"a"}"#).is_ok());
    }
}
