//! `Idempotency-Key` on creating POSTs: a retry with the same key and body gets the original response
//! (with `Idempotent-Replayed: true`); the same key with another body is 422; keys are per member and
//! remembered for 24 hours.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use filmlog_app::ErrorCode;
use filmlog_app::ops::idempotency::{Idempotency, Outcome};
use filmlog_app::ops::{OpError, OpResult};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if any: 1–255 visible ASCII characters, otherwise 400.
pub struct IdempotencyKey {
    key: Option<String>,
    request_hash: [u8; 32],
}

impl IdempotencyKey {
    /// Binds the key to this request: its method, path and body digest.
    pub fn for_body(&self, body_digest: &[u8; 32]) -> Idempotency {
        let mut h = Sha256::new();
        h.update(self.request_hash);
        h.update(body_digest);
        Idempotency {
            key: self.key.clone(),
            request_hash: h.finalize().into(),
        }
    }
}

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = crate::auth::AfterAuth<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut h = Sha256::new();
        h.update(req.method().as_str());
        h.update(b" ");
        h.update(req.path());
        let request_hash = h.finalize().into();
        let key = match req.headers().get(HEADER) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(k)
                    if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Ok(Some(k.to_owned()))
                }
                _ => Err(ApiError::bad_request(
                    ErrorCode::InvalidIdempotencyKey,
                    "Idempotency-Key must be 1–255 visible ASCII characters",
                )),
            },
        };
        crate::auth::after_auth(req, key.map(|key| IdempotencyKey { key, request_hash }))
    }
}

/// A create's outcome as a response (`Idempotent-Replayed: true` when it is a stored one).
pub fn into_response(outcome: Outcome) -> HttpResponse {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::CREATED);
    let mut res = HttpResponse::build(status);
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ));
    if let Some(location) = outcome.location {
        res.insert_header((header::LOCATION, location));
    }
    if outcome.replayed {
        res.insert_header(("idempotent-replayed", "true"));
    }
    res.body(outcome.body)
}

/// 201 with `body` at `location`, as an outcome to store.
pub fn created<T: Serialize>(location: String, body: &T) -> OpResult<Outcome> {
    Ok(Outcome {
        status: 201,
        location: Some(location),
        body: serde_json::to_vec(body).map_err(OpError::internal)?,
        replayed: false,
    })
}
