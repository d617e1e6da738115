//! Rate limiting of every request, by the budgets of [`crate::ratelimit`].

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use filmlog_app::ErrorCode;

use crate::auth::decoded_token;
use crate::ratelimit::*;
use crate::routes::API_PREFIX;
use crate::state::AppState;

/// The middleware: every `/api/v1` request, and every post of a mailed link's page, spends from its
/// budgets before it runs.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let limited = req.path().starts_with(API_PREFIX)
        || req.path().starts_with(crate::routes::OAUTH_PREFIX)
        || (req.method() == actix_web::http::Method::POST
            && req.path().starts_with(crate::routes::PAGES_PREFIX));
    let (Some(state), true) = (state, limited) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let limiter = &state.limiter;
    let classes = Class::of(req.method(), req.path(), req.query_string());
    let client = client_of(req.request(), &limiter.limits);
    // Decoded once here and kept for the extractors; a bad token counts as none (the extractor
    // answers 401).
    let member = decoded_token(req.request(), &state.tokens)
        .ok()
        .flatten()
        .map(|t| match t.grant {
            Some(grant) => Holder::App(t.member, grant.app),
            None => Holder::Member(t.member),
        });
    let decision = limiter.check(classes, client, member).await;
    match decision {
        Some(d) if !d.allowed => {
            crate::metrics::rate_limited(classes.last().map_or("none", |c| c.name()));
            let err = too_many_requests(
                ErrorCode::RateLimited,
                "too many requests; retry after the number of seconds in Retry-After",
                d.retry_after,
            );
            let mut res = err.error_response();
            set_headers(res.headers_mut(), &d);
            Ok(req.into_response(res).map_into_right_body())
        }
        _ => {
            let mut res = next.call(req).await?;
            if let Some(d) = decision {
                set_headers(res.headers_mut(), &d);
            }
            Ok(res.map_into_left_body())
        }
    }
}
