//! Verified addresses and password resets: the links sent by mail, and what they confirm.

use actix_web::{HttpResponse, post, put, web};
use filmlog_app::ErrorCode;
use filmlog_app::ops::recovery::{self, Change, Resend};
use filmlog_domain::Email;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{
    ApiError, ApiResult, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailTokenRequest {
    /// The `token` of the link the mail carried.
    #[schema(
        example = "oV5u0PZ3yM2r8w4cQmB1T6kLxH9sJdNfE7aGiYpRqZc",
        max_length = 128,
        min_length = 1
    )]
    pub token: String,
}

/// Ask for a new verification link
///
/// Sends a new link to your address (earlier ones keep working until they expire, 24 hours after
/// they were sent); at most three an hour, registration's included. Until your address is verified you cannot add webhooks.
/// The answer is the same whether or not a mail could go: an address another member verified first
/// gets nothing.
#[utoipa::path(
    operation_id = "resend_email_verification",
    tag = "auth",
    responses(
        (status = 202, description = "A link is on its way"),
        (status = 401, response = Unauthenticated),
        (status = 409, response = crate::error::EmailAlreadyVerified),
        (status = 429, response = crate::error::MailLimited),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/email-verification")]
pub async fn resend_email_verification(
    state: web::Data<AppState>,
    auth: Caller,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    match recovery::resend_verification(&mut conn, &state.mail, auth.id()).await? {
        Resend::Queued => Ok(HttpResponse::Accepted().finish()),
        Resend::AlreadyVerified => Err(ApiError::conflict(
            ErrorCode::EmailAlreadyVerified,
            "your email address is verified already",
        )),
        Resend::TooSoon(wait) => Err(asked_too_often("verification links", wait)),
    }
}

/// Verify an email address
///
/// Takes the token of a verification link: the address it was sent to becomes verified. Each link
/// works once, for 24 hours, and only while the account still has that address.
#[utoipa::path(
    operation_id = "confirm_email_verification",
    tag = "auth",
    request_body = MailTokenRequest,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, response = MalformedJson),
        (status = 409, response = crate::error::EmailTakenByVerification),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::InvalidMailTokenOrBodyShape),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/email-verification/confirm")]
pub async fn confirm_email_verification(
    state: web::Data<AppState>,
    body: JsonBody<MailTokenRequest>,
) -> ApiResult<HttpResponse> {
    verify_address(&state, &body.0.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

thread_local! {
    /// Password resets being worked on in this worker thread, at most.
    static RESET_WORK: std::sync::Arc<tokio::sync::Semaphore> =
        std::sync::Arc::new(tokio::sync::Semaphore::new(8));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[schema(example = "ana@example.com")]
    pub email: String,
}

/// Ask for a password reset
///
/// Mails a link that sets a new password (it works once, for an hour) to the account with this
/// address. Always `202`, whether or not an account has the address: nothing here tells anyone
/// which addresses have accounts. At most three reset mails go to one address an hour.
#[utoipa::path(
    operation_id = "request_password_reset",
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If an account has this address, a link is on its way"),
        (status = 400, response = MalformedJson),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidEmail),
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    body: JsonBody<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    let email = Email::parse(&body.0.email)
        .map_err(|e| ApiError::invalid_field("/email", "invalid_email", e))?;
    // The answer goes before the work, so its timing cannot tell whether an account has the
    // address. (A reset lost with the process is asked for again.) At most a few run at once in a
    // worker; beyond them a request is dropped, as one over its address's hourly limit is.
    let Ok(slot) = RESET_WORK.with(|s| s.clone()).try_acquire_owned() else {
        tracing::warn!("password reset: too many at once; this one was dropped");
        return Ok(HttpResponse::Accepted().finish());
    };
    let pool = state.pool.clone();
    let settings = state.mail.clone();
    actix_web::rt::spawn(async move {
        let _slot = slot;
        let outcome = match pool.get().await {
            Ok(mut conn) => recovery::request_password_reset(&mut conn, &settings, &email)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = outcome {
            tracing::warn!(%error, "password reset: no mail queued");
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmRequest {
    /// The `token` of the link the mail carried.
    #[schema(
        example = "oV5u0PZ3yM2r8w4cQmB1T6kLxH9sJdNfE7aGiYpRqZc",
        max_length = 128,
        min_length = 1
    )]
    pub token: String,
    /// The new password: at least 12 characters.
    #[schema(example = "a new long passphrase", min_length = 12, max_length = 1024)]
    pub password: String,
}

/// Set a new password with a reset link
///
/// Takes the token of a reset link and the new password. Every session of the account ends (sign in
/// again), its webhooks pause, every other reset link stops working, and the member is told by mail.
#[utoipa::path(
    operation_id = "confirm_password_reset",
    tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 400, response = MalformedJson),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::InvalidMailTokenOrWeakPassword),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: JsonBody<PasswordResetConfirmRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    reset_password(&state, &req.token, &req.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A reset link's new password set (this operation and the link's page): a weak password is refused
/// before the link is spent, and the link is spent before the password is hashed.
pub async fn reset_password(state: &AppState, token: &str, password: &str) -> ApiResult<()> {
    let password = recovery::parse_new_password(password)?;
    let member = {
        let mut conn = state.conn().await?;
        recovery::claim_reset_token(&mut conn, token).await?
    };
    let hash = state.passwords.hash(&password).await?;
    let mut conn = state.conn().await?;
    recovery::confirm_password_reset(&mut conn, member, &hash).await?;
    Ok(())
}

/// An address verified with a link's token (this operation and the link's page).
pub async fn verify_address(state: &AppState, token: &str) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    recovery::confirm_verification(&mut conn, token).await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChangeRequest {
    /// The new address.
    #[schema(example = "ana.lima@example.org")]
    pub email: String,
}

/// Change your email address
///
/// Mails a link to the new address (it works once, for 24 hours); the address changes only when the
/// link is opened. Then the old address is told, with a link that undoes the change for 7 days. The
/// answer is the same whether or not another account has the new address. Needs a recent sign-in;
/// three requests an hour.
#[utoipa::path(
    operation_id = "change_email",
    tag = "me",
    request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "A link to the new address is on its way"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidEmailSame),
        (status = 429, response = crate::error::MailLimited),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/me/email")]
pub async fn change_email(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<EmailChangeRequest>,
) -> ApiResult<HttpResponse> {
    let email = Email::parse(&body.0.email)
        .map_err(|e| ApiError::invalid_field("/email", "invalid_email", e))?;
    crate::guards::require_recent(&state, &auth).await?;
    let mut conn = state.conn().await?;
    match recovery::request_email_change(&mut conn, &state.mail, auth.id(), &email).await? {
        Change::Asked => Ok(HttpResponse::Accepted().finish()),
        Change::TooSoon(wait) => Err(asked_too_often("address changes", wait)),
    }
}

/// Confirm a new email address
///
/// Takes the token of the link sent to the new address: the account has it from now on, verified.
#[utoipa::path(
    operation_id = "confirm_email_change",
    tag = "auth",
    request_body = MailTokenRequest,
    responses(
        (status = 204, description = "The address changed"),
        (status = 400, response = MalformedJson),
        (status = 409, response = crate::error::EmailTakenByVerification),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::InvalidMailTokenOrBodyShape),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/email-change/confirm")]
pub async fn confirm_email_change(
    state: web::Data<AppState>,
    body: JsonBody<MailTokenRequest>,
) -> ApiResult<HttpResponse> {
    confirm_change(&state, &body.0.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Undo an email change
///
/// Takes the token of the link sent to the old address: it is the account's again, every session
/// ends, webhooks pause, and every link out stops working. Then reset the password.
#[utoipa::path(
    operation_id = "undo_email_change",
    tag = "auth",
    request_body = MailTokenRequest,
    responses(
        (status = 204, description = "The old address is back"),
        (status = 400, response = MalformedJson),
        (status = 409, response = crate::error::EmailTakenByVerification),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::InvalidMailTokenOrBodyShape),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/email-change/undo")]
pub async fn undo_email_change(
    state: web::Data<AppState>,
    body: JsonBody<MailTokenRequest>,
) -> ApiResult<HttpResponse> {
    undo_change(&state, &body.0.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new address confirmed (this operation and the link's page).
pub async fn confirm_change(state: &AppState, token: &str) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    recovery::confirm_email_change(&mut conn, &state.mail, token).await?;
    Ok(())
}

/// An address change undone (this operation and the link's page).
pub async fn undo_change(state: &AppState, token: &str) -> ApiResult<()> {
    let mut conn = state.conn().await?;
    recovery::undo_email_change(&mut conn, token).await?;
    Ok(())
}

/// 429 for a member who asked for the most `what` an hour allows.
fn asked_too_often(what: &str, wait: std::time::Duration) -> ApiError {
    crate::ratelimit::too_many_requests(
        ErrorCode::RateLimited,
        &format!("you asked for the most {what} an hour allows; retry after Retry-After seconds"),
        wait,
    )
}
