//! CORS: answers preflights and marks responses for the origins the policy allows ([`crate::cors::CorsPolicy`]).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use filmlog_app::ErrorCode;

use crate::cors::{CorsPolicy, EXPOSED_HEADERS, METHODS, PREFLIGHT_MAX_AGE_SECS, REQUEST_HEADERS};
use crate::error::ApiError;
use crate::state::AppState;

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
        ErrorCode::CorsOriginNotAllowed,
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
            ErrorCode::CorsMethodNotAllowed,
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
            ErrorCode::CorsHeaderNotAllowed,
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
    // The API's policy, the OAuth token endpoints' too. The server's HTML pages are not called
    // across origins: the consent pages check where their posts come from themselves, and the
    // mailed links' pages act only on the token posted (sent with `Referrer-Policy: no-referrer`,
    // a browser posts them with `Origin: null`).
    if crate::oauth::is_page(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
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
            crate::middleware::http_cache::add_vary(res.headers_mut(), "Origin");
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
        crate::middleware::http_cache::add_vary(headers, "Origin");
    }
    Ok(res.map_into_left_body())
}
