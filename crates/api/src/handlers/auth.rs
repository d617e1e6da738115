//! Registration, login, token refresh and logout.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use filmlog_domain::Username;
use filmlog_persistence::members;
use filmlog_persistence::sessions::SessionClient;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::{Me, Registered, Tokens};
use crate::error::{
    ApiError, ApiResult, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::JsonBody;
use crate::state::AppState;
use filmlog_app::ops::accounts::{self, Registration};
use filmlog_app::ops::{Denied, OpError};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 2–15 of `A–Z a–z 0–9 _`, unique whatever the case.
    #[schema(example = "ana_lima", pattern = "^[A-Za-z0-9_]{2,15}$")]
    pub username: String,
    #[schema(example = "ana@example.com")]
    pub email: String,
    /// At least 12 characters.
    #[schema(
        example = "a long passphrase of mine",
        min_length = 12,
        max_length = 1024
    )]
    pub password: String,
    #[schema(example = "Ana Lima", max_length = 50)]
    pub display_name: Option<String>,
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = ApiError;

    fn try_from(req: RegisterRequest) -> Result<Self, ApiError> {
        let name = req.display_name.as_deref();
        Ok(Registration::parse(
            &req.username,
            &req.email,
            &req.password,
            name,
        )?)
    }
}

/// What a new session records of its client: the user agent (printable, at most 200 characters) and
/// the network of its address (IPv4 /24, IPv6 /48).
pub(crate) fn session_client(req: &HttpRequest, state: &AppState) -> SessionClient {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|ua| !ua.trim().is_empty());
    let ip = crate::ratelimit::client_of(req, &state.limiter.limits);
    let bits = if ip.is_ipv4() { 24 } else { 48 };
    let network = format!("{}/{bits}", crate::ratelimit::mask(ip, 24, 48));
    SessionClient {
        user_agent,
        network: Some(network),
    }
}

/// Create an account
///
/// Creates a member and logs them in. The password is hashed with argon2id; the response carries the
/// member (with their email, which only they see) and a token pair. A link to verify the address is
/// mailed to it; when another member verified that address already, they are told by mail instead,
/// and the answer here is the same (so it tells no one whether an address has an account).
#[utoipa::path(
    operation_id = "register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered; `Location` names the public profile", body = Registered,
            headers(("Location" = String, description = "/api/v1/members/{username}"))),
        (status = 400, response = MalformedJson),
        (status = 409, response = crate::error::UsernameTaken),
        (status = 413, response = crate::error::PayloadTooLarge),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidUsernameInvalid),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/register")]
pub async fn register(
    http: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let reg = Registration::try_from(body.0)?;
    let client = session_client(&http, &state);
    let password_hash = state.passwords.hash(&reg.password).await?;
    let mut conn = state.conn().await?;
    let (member, tokens) = accounts::register(
        &mut conn,
        &state.tokens,
        &state.mail,
        &reg,
        &password_hash,
        &client,
    )
    .await?;
    Ok(crate::guards::no_store(HttpResponse::Created())
        .insert_header((
            header::LOCATION,
            format!("/api/v1/members/{}", member.username),
        ))
        .json(Registered {
            member: Me::from(member),
            tokens: tokens.into(),
        }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ana_lima")]
    pub username: String,
    #[schema(example = "a long passphrase of mine")]
    pub password: String,
}

fn bad_credentials() -> ApiError {
    OpError::from(Denied::InvalidCredentials).into()
}

/// Log in
///
/// Exchanges a username and password for a token pair. An unknown username and a wrong password
/// answer the same, after the same work. An account with two-factor sign-in answers `202` with a
/// challenge instead: send it with a code to `POST /auth/login/two-factor`. A sign-in from a network
/// and user agent the member never signed in from is told to them by mail.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Tokens),
        (status = 202, description = "The password was right; the account needs a second factor", body = crate::dto::TwoFactorChallenge),
        (status = 400, response = MalformedJson),
        (status = 401, response = crate::error::InvalidCredentials),
        (status = 403, response = crate::error::AccountSuspended),
        (status = 415, response = NotJson),
        (status = 429, response = crate::error::LoginLocked),
        (status = 422, response = crate::error::BodyWrongShapeValidationFailed),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/login")]
pub async fn login(
    http: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    Ok(
        match sign_in(&http, &state, &req.username, &req.password).await? {
            SignedIn::Challenge(challenge) => crate::guards::no_store(HttpResponse::Accepted())
                .json(crate::dto::TwoFactorChallenge::new(challenge)),
            SignedIn::Tokens(tokens) => {
                crate::guards::no_store(HttpResponse::Ok()).json(Tokens::from(tokens))
            }
        },
    )
}

/// What a right password led to.
pub(crate) enum SignedIn {
    /// A session (no second factor).
    Tokens(filmlog_app::credentials::TokenPair),
    /// A two-factor challenge to answer with a code.
    Challenge(String),
}

/// Checks a username and password as `POST /auth/login` does (throttled by account and network,
/// suspensions refused) and signs in, or asks for the second factor.
pub(crate) async fn sign_in(
    http: &HttpRequest,
    state: &AppState,
    username: &str,
    password: &str,
) -> ApiResult<SignedIn> {
    let client = session_client(http, state);
    let username = Username::parse(username).ok();
    // Back-off by account (whether or not it exists, so it tells nothing) and client network: a
    // network that failed too often is refused for the account, everyone else only slowed down.
    let account = username.as_ref().map(|u| u.as_str().to_lowercase());
    let ip = crate::ratelimit::client_of(http, &state.limiter.limits);
    let check = account
        .as_ref()
        .map(|a| state.limiter.credential_check(a, ip));
    if let Some(check) = &check {
        check.admit().await.map_err(crate::guards::login_locked)?;
    }
    let mut conn = state.conn().await?;
    // A string that cannot be a username is looked up as no one (and never reaches the database).
    let credentials = match &username {
        Some(username) => members::find_credentials(&mut conn, username.as_str()).await?,
        None => None,
    };
    drop(conn);
    let member = match accounts::check_credentials(&state.passwords, credentials, password).await {
        Err(OpError::Denied(Denied::InvalidCredentials)) => {
            if let Some(check) = &check {
                check.failed().await;
            }
            return Err(bad_credentials());
        }
        other => other?,
    };
    if let Some(check) = &check {
        // Guesses sent together all pass the first check; one that hits while the others have
        // locked this network out is refused as a wrong one (a 429 here would tell the guesser
        // which of their guesses was right).
        check.succeeded().await.map_err(|_| bad_credentials())?;
    }
    let mut conn = state.conn().await?;
    if filmlog_app::ops::two_factor::needed(&mut conn, member).await? {
        let challenge = filmlog_app::ops::two_factor::challenge(&mut conn, member, &client).await?;
        return Ok(SignedIn::Challenge(challenge));
    }
    let tokens = accounts::start_session(&mut conn, &state.tokens, member, &client).await?;
    Ok(SignedIn::Tokens(tokens))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Refresh tokens
///
/// Spends a refresh token for a new pair. Each refresh token works once: reusing a spent one ends its
/// whole session (every token descended from the same login), except that a retry within a few seconds
/// of the first use gets the same successor again (for a client whose response was lost).
#[utoipa::path(
    operation_id = "refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = Tokens),
        (status = 400, response = MalformedJson),
        (status = 401, response = crate::error::InvalidRefreshToken),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::BodyWrongShapeValidationFailed),
        (status = 503, response = ServiceUnavailable),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let tokens = accounts::refresh(&mut conn, &state.tokens, &body.0.refresh_token, None).await?;
    Ok(crate::guards::no_store(HttpResponse::Ok()).json(Tokens::from(tokens)))
}

/// Log out
///
/// Ends the session of the access token: its refresh tokens and access tokens stop working at once.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    accounts::log_out(&mut conn, auth.session).await?;
    Ok(HttpResponse::NoContent().finish())
}
