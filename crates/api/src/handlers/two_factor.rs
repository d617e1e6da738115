//! Two-factor sign-in: enrolment with an authenticator app, recovery codes, turning it off, the
//! second step of a login, and re-authentication for what needs a recent sign-in.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use filmlog_app::ErrorCode;
use filmlog_app::ops::two_factor::{self, Answered};
use filmlog_app::ops::{Denied, OpError};
use filmlog_persistence::members;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::Tokens;
use crate::error::{
    ApiError, ApiResult, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::JsonBody;
use crate::guards::{confirm_password, no_store, require_recent};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    /// Unspent recovery codes (0 when off).
    pub recovery_codes_left: i64,
}

/// Your two-factor sign-in
#[utoipa::path(
    operation_id = "get_two_factor",
    tag = "auth",
    responses(
        (status = 200, description = "Whether it is on", body = TwoFactorStatus),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/two-factor")]
pub async fn get_two_factor(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let (enabled, recovery_codes_left) = two_factor::status(&mut conn, auth.id()).await?;
    Ok(HttpResponse::Ok().json(TwoFactorStatus {
        enabled,
        recovery_codes_left,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorEnrolment {
    /// The key, base32, for typing into an authenticator app by hand.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub key: String,
    /// The same as an `otpauth://` URI (what the QR code holds).
    #[schema(
        example = "otpauth://totp/Filmlog%3Aana_lima?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Filmlog&algorithm=SHA1&digits=6&period=30"
    )]
    pub otpauth_uri: String,
    /// A QR code of `otpauth_uri`, as an SVG document.
    pub qr_svg: String,
}

/// Start two-factor sign-in
///
/// A new key for an authenticator app (TOTP: SHA-1, six digits, 30 seconds), as text, an
/// `otpauth://` URI and its QR code. Nothing changes until `POST /me/two-factor/confirm` gets a first
/// code from it; asking again replaces a key that waits. Needs a recent sign-in.
#[utoipa::path(
    operation_id = "begin_two_factor",
    tag = "auth",
    responses(
        (status = 200, description = "The key to enrol", body = TwoFactorEnrolment),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 409, response = crate::error::TwoFactorEnabled),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor")]
pub async fn begin_two_factor(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    require_recent(&state, &auth).await?;
    let mut conn = state.conn().await?;
    let me = members::find(&mut conn, auth.id())
        .await?
        .ok_or(OpError::from(Denied::AccountGone))?;
    let enrolment = two_factor::begin(&mut conn, &state.tokens, &me).await?;
    drop(conn);
    let qr_svg = qrcode::QrCode::new(enrolment.uri.as_bytes())
        .map_err(|e| ApiError::internal(format!("QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    Ok(no_store(HttpResponse::Ok()).json(TwoFactorEnrolment {
        key: enrolment.key,
        otpauth_uri: enrolment.uri,
        qr_svg,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorCode {
    /// The current six-digit code of your authenticator app, or (except to confirm an enrolment) one
    /// of your recovery codes.
    #[schema(example = "492039", max_length = 64)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten codes, each working once in place of an authenticator code. Shown only now: keep them
    /// somewhere safe.
    #[schema(example = json!(["k3m7q-2xw9a", "p4t8z-6vn2c"]))]
    pub recovery_codes: Vec<String>,
}

/// Turn two-factor sign-in on
///
/// Confirms the key of `POST /me/two-factor` with a first code from it (within 15 minutes): from now
/// on, signing in takes your password and a code, and every other session ends. Answers ten recovery
/// codes, shown only here. You are told by mail. Needs a recent sign-in.
#[utoipa::path(
    operation_id = "confirm_two_factor",
    tag = "auth",
    request_body = TwoFactorCode,
    responses(
        (status = 200, description = "On; your recovery codes", body = RecoveryCodes),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 409, response = crate::error::TwoFactorEnabled),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWrongCode),
        (status = 429, response = crate::error::TwoFactorLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor/confirm")]
pub async fn confirm_two_factor(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<TwoFactorCode>,
) -> ApiResult<HttpResponse> {
    require_recent(&state, &auth).await?;
    let mut conn = state.conn().await?;
    let recovery_codes = two_factor::confirm(
        &mut conn,
        &state.tokens,
        auth.id(),
        auth.session,
        &body.0.code,
    )
    .await?;
    Ok(no_store(HttpResponse::Ok()).json(RecoveryCodes { recovery_codes }))
}

/// Turn two-factor sign-in off
///
/// Needs a recent sign-in and a code (or a recovery code). You are told by mail.
#[utoipa::path(
    operation_id = "disable_two_factor",
    tag = "auth",
    request_body = TwoFactorCode,
    responses(
        (status = 204, description = "Off"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 409, response = crate::error::TwoFactorDisabled),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWrongCode),
        (status = 429, response = crate::error::TwoFactorLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor/disable")]
pub async fn disable_two_factor(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<TwoFactorCode>,
) -> ApiResult<HttpResponse> {
    require_recent(&state, &auth).await?;
    let mut conn = state.conn().await?;
    two_factor::disable(&mut conn, &state.tokens, auth.id(), &body.0.code).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// New recovery codes
///
/// Ten new codes; the old ones stop working. Needs a recent sign-in and a code.
#[utoipa::path(
    operation_id = "regenerate_recovery_codes",
    tag = "auth",
    request_body = TwoFactorCode,
    responses(
        (status = 200, description = "Your new recovery codes", body = RecoveryCodes),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 409, response = crate::error::TwoFactorDisabled),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWrongCode),
        (status = 429, response = crate::error::TwoFactorLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/two-factor/recovery-codes")]
pub async fn regenerate_recovery_codes(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<TwoFactorCode>,
) -> ApiResult<HttpResponse> {
    require_recent(&state, &auth).await?;
    let mut conn = state.conn().await?;
    let recovery_codes =
        two_factor::regenerate(&mut conn, &state.tokens, auth.id(), &body.0.code).await?;
    Ok(no_store(HttpResponse::Ok()).json(RecoveryCodes { recovery_codes }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReauthenticateRequest {
    #[schema(example = "a long passphrase of mine")]
    pub password: String,
    /// With two-factor sign-in: a code (or a recovery code).
    #[schema(example = "492039", max_length = 64)]
    pub code: Option<String>,
}

/// Sign in again
///
/// Proves it is still you (your password, and a code with two-factor sign-in): for the next 10
/// minutes this session may do what needs a recent sign-in (change the password or the address,
/// delete the account, add or redirect a webhook, change two-factor sign-in), which otherwise answers `403 reauthentication_required`.
/// Wrong passwords are throttled as logins are.
#[utoipa::path(
    operation_id = "reauthenticate",
    tag = "auth",
    request_body = ReauthenticateRequest,
    responses(
        (status = 204, description = "This session signed in just now"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWrongPasswordOrCode),
        (status = 429, response = crate::error::TwoFactorLockedOrPassword),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/auth/reauthenticate")]
pub async fn reauthenticate(
    http: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<ReauthenticateRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    confirm_password(&http, &state, auth.id(), &req.password, "/password").await?;
    let mut conn = state.conn().await?;
    two_factor::reauthenticate(
        &mut conn,
        &state.tokens,
        auth.id(),
        auth.session,
        req.code.as_deref(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoFactorLoginRequest {
    /// The `challenge` of the login's `202`.
    pub challenge: String,
    /// The current code of your authenticator app, or a recovery code.
    #[schema(example = "492039", max_length = 64)]
    pub code: String,
}

/// Log in: the second step
///
/// Answers the challenge of a `202` from `POST /auth/login` with a code (or a recovery code, which
/// then stops working) for a token pair. A code works once. Wrong codes are throttled as passwords
/// are, and five end the challenge (log in again).
#[utoipa::path(
    operation_id = "login_two_factor",
    tag = "auth",
    request_body = TwoFactorLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Tokens),
        (status = 400, response = MalformedJson),
        (status = 401, response = crate::error::InvalidChallengeOrCode),
        (status = 403, response = crate::error::AccountSuspended),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::BodyWrongShapeValidationFailed),
        (status = 429, response = crate::error::LoginOrTwoFactorLocked),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/login/two-factor")]
pub async fn login_two_factor(
    http: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<TwoFactorLoginRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let pair = answer_challenge(&http, &state, &req.challenge, &req.code).await?;
    Ok(no_store(HttpResponse::Ok()).json(Tokens::from(pair)))
}

/// Answers a sign-in's two-factor challenge as `POST /auth/login/two-factor` does (codes throttled
/// as passwords are): the session's tokens when the code is right.
pub(crate) async fn answer_challenge(
    http: &HttpRequest,
    state: &AppState,
    challenge: &str,
    code: &str,
) -> ApiResult<filmlog_app::credentials::TokenPair> {
    let no_challenge = || {
        ApiError::unauthorized(
            ErrorCode::InvalidChallenge,
            "the challenge is unknown, expired or out of attempts: log in again".to_owned(),
        )
    };
    let member = {
        let mut conn = state.conn().await?;
        two_factor::challenge_member(&mut conn, challenge)
            .await?
            .ok_or_else(no_challenge)?
    };
    // Codes are throttled as passwords: by the account and the client's network.
    let ip = crate::ratelimit::client_of(http, &state.limiter.limits);
    let check = state
        .limiter
        .credential_check(&format!("member:{}", member.get()), ip);
    check.admit().await.map_err(crate::guards::login_locked)?;
    let mut conn = state.conn().await?;
    match two_factor::answer(&mut conn, &state.tokens, challenge, code).await? {
        Answered::SignedIn(pair) => {
            // The code was right and the session is made: a lock-out that concurrent wrong codes
            // started meanwhile does not take it back.
            let _ = check.succeeded().await;
            Ok(pair)
        }
        Answered::WrongCode => {
            check.failed().await;
            Err(wrong_code())
        }
        Answered::NoChallenge => Err(no_challenge()),
        Answered::Locked(wait) => Err(ApiError::from(OpError::from(Denied::CodesLocked(wait)))),
    }
}

fn wrong_code() -> ApiError {
    ApiError::unauthorized(
        ErrorCode::InvalidTwoFactorCode,
        "that code is not right".to_owned(),
    )
}
