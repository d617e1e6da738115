//! Bounds on the request head that the router does not enforce: the request target's length.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use filmlog_app::ErrorCode;

use crate::error::ApiError;

/// The longest request target (path and query) served; longer ones are 414. (A head longer than
/// actix-http's buffer, 128 KiB, is 431 before it gets here.)
pub const MAX_URI: usize = 8 * 1024;

pub async fn uri_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI {
        let err = ApiError::new(
            actix_web::http::StatusCode::URI_TOO_LONG,
            ErrorCode::UriTooLong,
            "URI too long",
            format!("the request target is {len} bytes; at most {MAX_URI} are served"),
        );
        let res = actix_web::ResponseError::error_response(&err);
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
