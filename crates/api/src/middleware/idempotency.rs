//! `Idempotency-Key` on creating POSTs: a retry with the same key and body gets the original response
//! (with `Idempotent-Replayed: true`); the same key with another body is 422; keys are per member and
//! remembered for 24 hours.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use filmlog_domain::MemberId;
use filmlog_persistence::{AsyncPgConnection, idempotency};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

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
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1–255 visible ASCII characters",
                )),
            },
        };
        crate::auth::after_auth(req, key.map(|key| IdempotencyKey { key, request_hash }))
    }
}

/// A key bound to one request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: Option<String>,
    request_hash: [u8; 32],
}

/// A response that can be stored and replayed (plain data, so it can leave a transaction).
#[derive(Debug, Clone)]
pub struct Outcome {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    replayed: bool,
}

impl Outcome {
    pub fn created<T: Serialize>(location: String, body: &T) -> ApiResult<Self> {
        Ok(Outcome {
            status: 201,
            location: Some(location),
            body: serde_json::to_vec(body).map_err(ApiError::internal)?,
            replayed: false,
        })
    }

    pub fn into_response(self) -> HttpResponse {
        let mut res =
            HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::CREATED));
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
        if let Some(location) = self.location {
            res.insert_header((header::LOCATION, location));
        }
        if self.replayed {
            res.insert_header(("idempotent-replayed", "true"));
        }
        res.body(self.body)
    }
}

impl Idempotency {
    /// Whether the request carries a key (and so must be recorded in its transaction).
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// Inside the creating transaction, before creating: the stored outcome when this is a retry.
    pub async fn replay(
        &self,
        conn: &mut AsyncPgConnection,
        member: MemberId,
    ) -> ApiResult<Option<Outcome>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(stored) = idempotency::claim(conn, member, key, &self.request_hash).await? else {
            return Ok(None);
        };
        if stored.request_hash != self.request_hash {
            return Err(ApiError::rule(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key",
            ));
        }
        match (stored.status, stored.body) {
            (Some(status), Some(body)) => Ok(Some(Outcome {
                status: u16::try_from(status).unwrap_or(201),
                location: stored.location,
                body,
                replayed: true,
            })),
            _ => Err(ApiError::conflict(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is in progress",
            )),
        }
    }

    /// Inside the creating transaction, after creating: stores the outcome under the key.
    pub async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        member: MemberId,
        outcome: Outcome,
    ) -> ApiResult<Outcome> {
        if let Some(key) = &self.key {
            let status = i16::try_from(outcome.status).unwrap_or(201);
            idempotency::record(
                conn,
                member,
                key,
                status,
                outcome.location.as_deref(),
                &outcome.body,
            )
            .await?;
        }
        Ok(outcome)
    }
}
