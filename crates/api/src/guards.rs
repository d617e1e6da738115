//! What sensitive operations ask of their caller before they run: the current password (throttled
//! as logins are), a recent sign-in, and answers that carry secrets never being cached.

use actix_web::HttpRequest;
use actix_web::http::header;
use filmlog_app::ErrorCode;
use filmlog_app::ops::two_factor;
use filmlog_domain::MemberId;
use filmlog_persistence::members;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::too_many_requests;
use crate::state::AppState;

/// `reauthentication_required` unless the caller's session signed in (or re-authenticated) within
/// the last 10 minutes.
pub async fn require_recent(state: &AppState, auth: &Caller) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    two_factor::require_recent(&mut conn, auth.session).await?;
    Ok(())
}

/// A response that carries tokens: never stored by any cache (RFC 6749 §5.1).
pub fn no_store(mut res: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    res
}

/// 429 `login_locked`, retry after `wait`.
pub fn login_locked(wait: std::time::Duration) -> ApiError {
    too_many_requests(
        ErrorCode::LoginLocked,
        "too many failed logins for this account from your network; retry after Retry-After seconds",
        wait,
    )
}

/// 422 `wrong_password` at `pointer` unless `password` is the member's: a stolen access token alone
/// cannot change the password, delete the account or add a webhook. Guesses are throttled as
/// logins are (429 `password_locked` for the guessing network, a delay for everyone else).
pub async fn confirm_password(
    http: &HttpRequest,
    state: &AppState,
    member: MemberId,
    password: &str,
    pointer: &str,
) -> ApiResult<()> {
    let locked = |wait| {
        crate::ratelimit::too_many_requests(
            ErrorCode::PasswordLocked,
            "too many wrong passwords for this account from your network; retry after Retry-After seconds",
            wait,
        )
    };
    let ip = crate::ratelimit::client_of(http, &state.limiter.limits);
    let check = state
        .limiter
        .credential_check(&format!("member:{}", member.get()), ip);
    check.admit().await.map_err(locked)?;
    let mut conn = state.conn().await?;
    let current = members::password_hash(&mut conn, member).await?;
    drop(conn);
    let wrong =
        || ApiError::invalid_field(pointer, "wrong_password", "the current password is wrong");
    if state.passwords.verify(password, Some(current)).await? {
        // Refused as wrong when concurrent guesses locked this network meanwhile (a 429 here would
        // confirm the guess).
        check.succeeded().await.map_err(|_| wrong())
    } else {
        check.failed().await;
        Err(wrong())
    }
}
