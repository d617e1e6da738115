//! The OAuth 2.1 authorization server's endpoints (outside `/api/v1`, as OAuth clients expect them,
//! and answered as RFC 6749 says rather than as problem+json):
//!
//! - `GET /.well-known/oauth-authorization-server`: server metadata (RFC 8414);
//! - `GET|POST /oauth/authorize`: the consent page (sign in first, two-factor included);
//! - `POST /oauth/token`: codes (with their PKCE verifier), refresh tokens and device codes for
//!   tokens;
//! - `POST /oauth/revoke`: RFC 7009;
//! - `POST /oauth/device/code` and `GET|POST /oauth/device`: the device grant (RFC 8628) and the
//!   page where a member types the device's code;
//! - `POST /oauth/sign-in` and `/oauth/sign-in/two-factor`: the pages' sign-in.
//!
//! The pages are plain server-rendered HTML without script, never framed, never cached. A member
//! signed in on them holds a cookie (HttpOnly, `SameSite=Lax`, path `/oauth`, ten minutes) with the
//! access token of a session started there; consent forms carry a token derived from that session
//! with a server key, and posts from another origin are refused, so no other site can consent for
//! a member. Allowing also needs the sign-in to be recent (ten minutes), like every grant of power.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use filmlog_app::credentials::constant_time_eq;
use filmlog_app::mail::escape_html;
use filmlog_app::ops::oauth::{
    self, AuthorizeRefused, AuthorizeRequest, ClientCredentials, Granted, OAuthError,
};
use filmlog_app::ops::{Denied, OpError};
use filmlog_domain::oauth::{Scope, Scopes, display_user_code};
use filmlog_domain::{Member, SessionId};
use filmlog_persistence::PersistenceError;
use filmlog_persistence::oauth::AppRow;
use filmlog_persistence::sessions;
use serde_json::json;

use crate::error::ApiError;
use crate::pages::consent_page as page;
use crate::state::AppState;

pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const REVOKE_PATH: &str = "/oauth/revoke";
pub const DEVICE_CODE_PATH: &str = "/oauth/device/code";
pub const DEVICE_PATH: &str = "/oauth/device";
pub const SIGN_IN_PATH: &str = "/oauth/sign-in";
pub const TWO_FACTOR_PATH: &str = "/oauth/sign-in/two-factor";

/// Whether `path` is one of the server's HTML pages (the consent pages, the mailed links' pages),
/// rather than an endpoint apps call.
pub fn is_page(path: &str) -> bool {
    path.starts_with(crate::routes::PAGES_PREFIX)
        || path == AUTHORIZE_PATH
        || path == DEVICE_PATH
        || path.starts_with(SIGN_IN_PATH)
}

/// The largest form these endpoints take.
pub const FORM_MAX: usize = 8192;

const COOKIE: &str = "filmlog_oauth";
/// How long the pages' sign-in lasts: the window of a recent sign-in.
const COOKIE_SECS: u64 = 600;

fn issuer(state: &AppState) -> &str {
    &state.mail.web_base
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = issuer(&state);
    let scopes: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .json(json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
            "token_endpoint": format!("{base}{TOKEN_PATH}"),
            "revocation_endpoint": format!("{base}{REVOKE_PATH}"),
            "device_authorization_endpoint": format!("{base}{DEVICE_CODE_PATH}"),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code"
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": format!("{base}/docs/"),
        }))
}

// ---------------------------------------------------------------------------------------------
// The token endpoints.

/// An RFC 6749 §5.2 error answer.
fn oauth_error(err: &OAuthError, basic: bool) -> HttpResponse {
    let (status, code, description) = match err {
        OAuthError::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client", err.to_string()),
        // A suspension or a gone account since the consent: the grant cannot be had.
        OAuthError::Op(OpError::Denied(d)) => {
            (StatusCode::BAD_REQUEST, "invalid_grant", d.to_string())
        }
        OAuthError::Op(OpError::Rule(rule)) => {
            (StatusCode::BAD_REQUEST, "invalid_request", rule.to_string())
        }
        OAuthError::TemporarilyUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            err.to_string(),
        ),
        // The database out of reach (or a transaction to retry): 503, as the API answers it.
        OAuthError::Op(OpError::Persistence(
            PersistenceError::Unavailable(_) | PersistenceError::SerializationFailure,
        )) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is busy; retry".to_owned(),
        ),
        OAuthError::Op(e) => {
            tracing::error!(error = %e, "oauth request failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "something went wrong on our side; retry".to_owned(),
            )
        }
        other => (StatusCode::BAD_REQUEST, other.code(), other.to_string()),
    };
    let mut res = crate::guards::no_store(HttpResponse::build(status));
    if status == StatusCode::UNAUTHORIZED && basic {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"filmlog\""));
    }
    res.json(json!({ "error": code, "error_description": description }))
}

/// The fields of a form body; a repeated field is refused (RFC 6749 §3.1).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = self.0.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(OAuthError::InvalidRequest(format!("{name} is sent twice")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A token endpoint's request: a form body, and the client's credentials (HTTP Basic, or
/// `client_id` and `client_secret` in the body, never both).
fn token_request(req: &HttpRequest, body: &[u8]) -> Result<(Form, ClientCredentials), OAuthError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded".to_owned(),
        ));
    }
    let form = Form::parse(body);
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| basic_credentials(v.as_bytes()).ok_or(OAuthError::InvalidClient))
        .transpose()?;
    let body_id = form.get("client_id")?.map(str::to_owned);
    let body_secret = form.get("client_secret")?.map(str::to_owned);
    let client = match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "authenticate the client one way only".to_owned(),
            ));
        }
        (Some((id, secret)), body_id, None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::InvalidClient);
            }
            ClientCredentials {
                client_id: id,
                secret: Some(secret),
            }
        }
        (None, Some(id), secret) => ClientCredentials {
            client_id: id,
            secret,
        },
        (None, None, _) => {
            return Err(OAuthError::InvalidRequest(
                "client_id is required (or HTTP Basic authentication)".to_owned(),
            ));
        }
    };
    Ok((form, client))
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 1024 {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        let plus_as_space = s.replace('+', "%20");
        let mut out = Vec::new();
        let bytes = plus_as_space.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = plus_as_space.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn tokens_answer(granted: Granted) -> HttpResponse {
    let t = granted.tokens;
    crate::guards::no_store(HttpResponse::Ok()).json(json!({
        "access_token": t.access_token,
        "token_type": "Bearer",
        "expires_in": t.access_expires_in,
        "refresh_token": t.refresh_token,
        "refresh_token_expires_in": t.refresh_expires_in,
        "scope": granted.scopes.to_string(),
    }))
}

/// `POST /oauth/token`.
pub async fn token(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let basic = req.headers().contains_key(header::AUTHORIZATION);
    match token_grant(&req, &state, &body).await {
        Ok(granted) => tokens_answer(granted),
        Err(e) => oauth_error(&e, basic),
    }
}

async fn token_grant(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> Result<Granted, OAuthError> {
    let (form, client) = token_request(req, body)?;
    let grant_type = form
        .get("grant_type")?
        .ok_or_else(|| OAuthError::InvalidRequest("grant_type is required".to_owned()))?
        .to_owned();
    let mut conn = state.conn().await.map_err(unavailable)?;
    let app = oauth::authenticate_client(&mut conn, &client).await?;
    match grant_type.as_str() {
        "authorization_code" => {
            let code = form
                .get("code")?
                .ok_or_else(|| OAuthError::InvalidRequest("code is required".to_owned()))?;
            oauth::exchange_code(
                &mut conn,
                &state.tokens,
                &app,
                code,
                form.get("redirect_uri")?,
                form.get("code_verifier")?,
            )
            .await
        }
        "refresh_token" => {
            let token = form.get("refresh_token")?.ok_or_else(|| {
                OAuthError::InvalidRequest("refresh_token is required".to_owned())
            })?;
            // A narrower scope may be asked for, never a wider one.
            let asked = form
                .get("scope")?
                .map(Scopes::parse)
                .transpose()
                .map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
            oauth::refresh(&mut conn, &state.tokens, &app, token, asked).await
        }
        "urn:ietf:params:oauth:grant-type:device_code" => {
            let code = form
                .get("device_code")?
                .ok_or_else(|| OAuthError::InvalidRequest("device_code is required".to_owned()))?;
            oauth::poll_device(&mut conn, &state.tokens, &app, code).await
        }
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

fn unavailable(e: ApiError) -> OAuthError {
    tracing::warn!(
        error = e.detail(),
        "no database connection for an OAuth request"
    );
    OAuthError::TemporarilyUnavailable
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was live.
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let basic = req.headers().contains_key(header::AUTHORIZATION);
    let outcome = async {
        let (form, client) = token_request(&req, &body)?;
        let token = form
            .get("token")?
            .ok_or_else(|| OAuthError::InvalidRequest("token is required".to_owned()))?
            .to_owned();
        let mut conn = state.conn().await.map_err(unavailable)?;
        let app = oauth::authenticate_client(&mut conn, &client).await?;
        oauth::revoke(&mut conn, &state.tokens, &app, &token).await?;
        Ok::<_, OAuthError>(())
    }
    .await;
    match outcome {
        Ok(()) => crate::guards::no_store(HttpResponse::Ok()).finish(),
        Err(e) => oauth_error(&e, basic),
    }
}

/// `POST /oauth/device/code` (RFC 8628 §3.1).
pub async fn device_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let basic = req.headers().contains_key(header::AUTHORIZATION);
    let outcome = async {
        let (form, client) = token_request(&req, &body)?;
        let scopes = Scopes::parse(form.get("scope")?.unwrap_or(""))
            .map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
        let mut conn = state.conn().await.map_err(unavailable)?;
        let app = oauth::authenticate_client(&mut conn, &client).await?;
        let network = crate::handlers::auth::session_client(&req, &state).network;
        Ok::<_, OAuthError>(oauth::start_device(&mut conn, &app, scopes, network.as_deref()).await?)
    }
    .await;
    match outcome {
        Ok(started) => {
            let base = issuer(&state);
            let shown = display_user_code(&started.user_code);
            crate::guards::no_store(HttpResponse::Ok()).json(json!({
                "device_code": started.device_code,
                "user_code": shown,
                "verification_uri": format!("{base}{DEVICE_PATH}"),
                "verification_uri_complete": format!("{base}{DEVICE_PATH}?user_code={shown}"),
                "expires_in": started.expires_in,
                "interval": started.interval,
            }))
        }
        Err(e) => oauth_error(&e, basic),
    }
}

// ---------------------------------------------------------------------------------------------
// The pages.

/// The member signed in on the pages, with their session.
struct PageSession {
    member: Member,
    session: SessionId,
}

fn cookie_value(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty() && value.len() <= 4096).then(|| value.to_owned())
    })
}

/// The member signed in on these pages (a live first-party session), if any.
async fn page_session(
    req: &HttpRequest,
    state: &AppState,
) -> Result<Option<PageSession>, ApiError> {
    let Some(token) = cookie_value(req) else {
        return Ok(None);
    };
    let Ok(access) = state.tokens.decode_access(&token) else {
        return Ok(None);
    };
    if access.grant.is_some() {
        return Ok(None);
    }
    let mut conn = state.conn().await?;
    let member = sessions::authenticated_member(&mut conn, access.member, access.session).await?;
    Ok(member.map(|member| PageSession {
        member,
        session: access.session,
    }))
}

/// Ends the pages' sign-in once the member decided, and clears its cookie: the next person at a
/// shared computer signs in again.
async fn end_page_session(state: &AppState, session: SessionId) -> &'static str {
    if let Ok(mut conn) = state.conn().await {
        let ended = sessions::revoke(&mut conn, session, sessions::RevokeReason::Logout).await;
        if let Err(e) = ended {
            tracing::warn!(error = %e, "ending the consent pages' sign-in");
        }
    }
    CLEAR_COOKIE
}

const CLEAR_COOKIE: &str = "filmlog_oauth=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax";

fn set_cookie(state: &AppState, access_token: &str) -> String {
    let secure = if issuer(state).starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{COOKIE}={access_token}; Path=/oauth; Max-Age={COOKIE_SECS}; HttpOnly; SameSite=Lax{secure}"
    )
}

/// The form token of a consent: the page session's and the request's (an authorization request's
/// query, a device's user code), under a server key, so a post can neither come from another site
/// nor swap in another request.
fn csrf_of(state: &AppState, session: SessionId, request: &str) -> String {
    state
        .tokens
        .sign_position(&format!("oauth-consent:{session}:{request}"))
}

fn csrf_ok(state: &AppState, session: SessionId, request: &str, sent: Option<&str>) -> bool {
    sent.is_some_and(|s| {
        constant_time_eq(s.as_bytes(), csrf_of(state, session, request).as_bytes())
    })
}

/// The member deciding a consent posted as `form` for `request`: signed in on these pages (else
/// the sign-in form, leading back to `next`) and posting that consent's own form token (else
/// refused).
async fn consenting(
    req: &HttpRequest,
    state: &AppState,
    form: &Form,
    request: &str,
    next: &str,
) -> Result<PageSession, HttpResponse> {
    let me = match page_session(req, state).await {
        Ok(Some(me)) => me,
        Ok(None) => {
            return Err(sign_in_page(
                StatusCode::UNAUTHORIZED,
                next,
                Some("Sign in first."),
            ));
        }
        Err(e) => return Err(trouble(&e)),
    };
    if !csrf_ok(state, me.session, request, form.first("csrf")) {
        return Err(refused_origin());
    }
    Ok(me)
}

/// A post from a page of another origin is refused (the browser says where it comes from).
fn same_origin(req: &HttpRequest, state: &AppState) -> bool {
    let site_ok = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none");
    let origin_ok = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| {
            let base = issuer(state);
            let base_origin = base
                .find("://")
                .and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j]))
                .unwrap_or(base);
            origin == base_origin
        });
    site_ok && origin_ok
}

fn refused_origin() -> HttpResponse {
    page(
        StatusCode::FORBIDDEN,
        "Not from here",
        "<p>This form was sent from another site, so nothing was done.</p>",
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape_html(name),
        escape_html(value)
    )
}

/// Where a page may send the member after signing in: back to one of these pages only.
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.len() <= 4096
            && (n.starts_with("/oauth/authorize?")
                || n == &DEVICE_PATH
                || n.starts_with("/oauth/device?"))
            && !n.contains(['\\', '\r', '\n'])
    })
    .unwrap_or(DEVICE_PATH)
    .to_owned()
}

fn sign_in_page(status: StatusCode, next: &str, message: Option<&str>) -> HttpResponse {
    let message = message
        .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape_html(m)))
        .unwrap_or_default();
    page(
        status,
        "Sign in to Filmlog",
        &format!(
            "{message}<p>An app asks to use your Filmlog account. Sign in to see what it asks for.</p>\
             <form method=\"post\" action=\"{SIGN_IN_PATH}\">{next}\
             <p><label>Username<br><input id=\"username\" name=\"username\" autocomplete=\"username\" \
             maxlength=\"30\" required></label></p>\
             <p><label>Password<br><input id=\"password\" type=\"password\" name=\"password\" \
             autocomplete=\"current-password\" maxlength=\"1024\" required></label></p>\
             <p><button id=\"sign-in\" type=\"submit\">Sign in</button></p></form>",
            next = hidden("next", next),
        ),
    )
}

fn two_factor_page(
    status: StatusCode,
    challenge: &str,
    next: &str,
    message: Option<&str>,
) -> HttpResponse {
    let message = message
        .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape_html(m)))
        .unwrap_or_default();
    page(
        status,
        "Two-factor sign-in",
        &format!(
            "{message}<form method=\"post\" action=\"{TWO_FACTOR_PATH}\">{}{}\
             <p><label>Code from your authenticator app (or a recovery code)<br>\
             <input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" maxlength=\"32\" required>\
             </label></p><p><button id=\"verify\" type=\"submit\">Continue</button></p></form>",
            hidden("challenge", challenge),
            hidden("next", next),
        ),
    )
}

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    res
}

/// A sign-in on the pages that succeeded: its cookie, and on to `next`.
fn signed_in(
    state: &AppState,
    next: &str,
    pair: &filmlog_app::credentials::TokenPair,
) -> HttpResponse {
    see_other(next)
        .insert_header((header::SET_COOKIE, set_cookie(state, &pair.access_token)))
        .finish()
}

/// A refusal a page shows for what the sign-in answered.
fn sign_in_trouble(e: &ApiError) -> Option<&'static str> {
    match e.code() {
        "invalid_credentials" => Some("The username or password is wrong."),
        "login_locked" => Some("Too many failed sign-ins from your network: wait a few minutes."),
        "account_suspended" => Some("This account is suspended."),
        "invalid_two_factor_code" => Some("That code is not right."),
        "two_factor_locked" => Some("Too many wrong codes lately: wait, then try again."),
        _ => None,
    }
}

/// `POST /oauth/sign-in`.
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return refused_origin();
    }
    let form = Form::parse(&body);
    let next = safe_next(form.first("next"));
    let (username, password) = (
        form.first("username").unwrap_or(""),
        form.first("password").unwrap_or(""),
    );
    match crate::handlers::auth::sign_in(&req, &state, username, password).await {
        Ok(crate::handlers::auth::SignedIn::Tokens(pair)) => signed_in(&state, &next, &pair),
        Ok(crate::handlers::auth::SignedIn::Challenge(challenge)) => {
            two_factor_page(StatusCode::OK, &challenge, &next, None)
        }
        Err(e) => match sign_in_trouble(&e) {
            Some(message) => sign_in_page(e.status(), &next, Some(message)),
            None => trouble(&e),
        },
    }
}

/// `POST /oauth/sign-in/two-factor`.
pub async fn sign_in_two_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return refused_origin();
    }
    let form = Form::parse(&body);
    let next = safe_next(form.first("next"));
    let challenge = form.first("challenge").unwrap_or("");
    let code = form.first("code").unwrap_or("");
    match crate::handlers::two_factor::answer_challenge(&req, &state, challenge, code).await {
        Ok(pair) => signed_in(&state, &next, &pair),
        Err(e) if e.code() == "invalid_challenge" => sign_in_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That sign-in took too long or had too many wrong codes; sign in again."),
        ),
        Err(e) => match sign_in_trouble(&e) {
            Some(message) => two_factor_page(e.status(), challenge, &next, Some(message)),
            None => trouble(&e),
        },
    }
}

fn trouble(e: &ApiError) -> HttpResponse {
    if e.status().is_server_error() {
        page(
            e.status(),
            "Please try again",
            "<p>Something went wrong on our side; nothing was changed. Try again in a minute.</p>",
        )
    } else {
        page(
            e.status(),
            "Please try again",
            &format!("<p>{}</p>", escape_html(e.detail())),
        )
    }
}

/// The parameters of an authorization request; one sent twice makes it no request (RFC 6749 §3.1),
/// told on the page.
fn authorize_request(encoded: &[u8]) -> Result<AuthorizeRequest, String> {
    let form = Form::parse(encoded);
    for name in AUTHORIZE_PARAMETERS {
        if form.get(name).is_err() {
            return Err(format!(
                "The app's request names {name} twice, so it was stopped."
            ));
        }
    }
    let get = |name: &str| form.first(name).map(str::to_owned);
    Ok(AuthorizeRequest {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    })
}

const AUTHORIZE_PARAMETERS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// The query string of an authorization request, to carry it through a sign-in.
fn authorize_query(r: &AuthorizeRequest) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("response_type", &r.response_type),
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect_uri),
        ("scope", &r.scope),
        ("state", &r.state),
        ("code_challenge", &r.code_challenge),
        ("code_challenge_method", &r.code_challenge_method),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

/// The app's redirect URI with the answer's parameters (and `iss`, RFC 9207).
fn redirect_with(
    state: &AppState,
    uri: &str,
    params: &[(&str, &str)],
    app_state: Option<&str>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some(s) = app_state {
        query.append_pair("state", s);
    }
    query.append_pair("iss", issuer(state));
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", query.finish())
}

fn refused_here(message: &str) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "This app cannot sign in",
        &format!("<p>{}</p>", escape_html(message)),
    )
}

fn refused_redirect(state: &AppState, refused: AuthorizeRefused) -> HttpResponse {
    match refused {
        AuthorizeRefused::Here(message) => refused_here(&message),
        AuthorizeRefused::Redirect {
            redirect_uri,
            state: app_state,
            error,
            description,
        } => {
            // Told here, with a way back the member chooses: never an automatic redirect to an
            // address any member can register (RFC 9700 §4.11.2).
            let back = redirect_with(
                state,
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                app_state.as_deref(),
            );
            page(
                StatusCode::BAD_REQUEST,
                "This app's request is not valid",
                &format!(
                    "<p id=\"error\" data-error=\"{error}\">{}</p>\
                     <p><a id=\"back\" href=\"{}\" rel=\"noreferrer\">Return to the app</a></p>",
                    escape_html(&description),
                    escape_html(&back),
                ),
            )
        }
    }
}

fn scope_list(scopes: Scopes) -> String {
    let items: String = scopes
        .iter()
        .map(|s| {
            format!(
                "<li data-scope=\"{}\">{}</li>",
                s.as_str(),
                escape_html(s.describe())
            )
        })
        .collect();
    format!("<ul>{items}</ul>")
}

fn app_intro(app: &AppRow, who: &Member) -> String {
    let homepage = app
        .homepage
        .as_deref()
        .map(|h| {
            format!(
                " (<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>)",
                escape_html(h)
            )
        })
        .unwrap_or_default();
    let description = if app.description.is_empty() {
        String::new()
    } else {
        format!("<p><em>{}</em></p>", escape_html(&app.description))
    };
    format!(
        "<p>You are signed in as <strong>{user}</strong>.</p>\
         <p><strong id=\"app-name\">{name}</strong>{homepage} asks to use your Filmlog account. It will be able to:</p>{description}",
        user = escape_html(who.username.as_str()),
        name = escape_html(&app.name),
    )
}

const DECISION_BUTTONS: &str = "<p><button id=\"allow\" type=\"submit\" name=\"decision\" value=\"allow\">Allow</button> \
     <button id=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p>";

/// `GET /oauth/authorize`: the sign-in form, then the consent page.
pub async fn authorize_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let request = match authorize_request(req.query_string().as_bytes()) {
        Ok(r) => r,
        Err(message) => return refused_here(&message),
    };
    let checked = {
        let mut conn = match state.conn().await {
            Ok(c) => c,
            Err(e) => return trouble(&e),
        };
        oauth::check_authorize(&mut conn, &request).await
    };
    let authorize = match checked {
        Ok(a) => a,
        Err(refused) => return refused_redirect(&state, refused),
    };
    let next = format!("{AUTHORIZE_PATH}?{}", authorize_query(&request));
    let signed_in = match page_session(&req, &state).await {
        Ok(s) => s,
        Err(e) => return trouble(&e),
    };
    let Some(me) = signed_in else {
        return sign_in_page(StatusCode::OK, &next, None);
    };
    let mut fields = String::new();
    for (name, value) in form_urlencoded::parse(authorize_query(&request).as_bytes()) {
        fields.push_str(&hidden(&name, &value));
    }
    fields.push_str(&hidden(
        "csrf",
        &csrf_of(&state, me.session, &authorize_query(&request)),
    ));
    page(
        StatusCode::OK,
        &format!("Allow {}?", authorize.app.name),
        &format!(
            "{}{}<form method=\"post\" action=\"{AUTHORIZE_PATH}\">{fields}{DECISION_BUTTONS}</form>\
             <p>You can revoke it at any time under authorised apps.</p>",
            app_intro(&authorize.app, &me.member),
            scope_list(authorize.scopes),
        ),
    )
}

/// `POST /oauth/authorize`: the member's decision.
pub async fn authorize_decision(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return refused_origin();
    }
    let form = Form::parse(&body);
    let request = match authorize_request(&body) {
        Ok(r) => r,
        Err(message) => return refused_here(&message),
    };
    let next = format!("{AUTHORIZE_PATH}?{}", authorize_query(&request));
    let me = match consenting(&req, &state, &form, &authorize_query(&request), &next).await {
        Ok(me) => me,
        Err(page) => return page,
    };
    let mut conn = match state.conn().await {
        Ok(c) => c,
        Err(e) => return trouble(&e),
    };
    let authorize = match oauth::check_authorize(&mut conn, &request).await {
        Ok(a) => a,
        Err(refused) => return refused_redirect(&state, refused),
    };
    let app_state = authorize.state.as_deref();
    if form.first("decision") != Some("allow") {
        let to = redirect_with(
            &state,
            &authorize.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the member denied the request"),
            ],
            app_state,
        );
        drop(conn);
        let clear = end_page_session(&state, me.session).await;
        return see_other(&to)
            .insert_header((header::SET_COOKIE, clear))
            .finish();
    }
    match oauth::allow(&mut conn, me.member.id, me.session, &authorize).await {
        Ok(code) => {
            let to = redirect_with(
                &state,
                &authorize.redirect_uri,
                &[("code", &code)],
                app_state,
            );
            drop(conn);
            let clear = end_page_session(&state, me.session).await;
            see_other(&to)
                .insert_header((header::SET_COOKIE, clear))
                .finish()
        }
        Err(OpError::Denied(Denied::ReauthenticationRequired | Denied::AccountGone)) => {
            sign_in_page(StatusCode::UNAUTHORIZED, &next, Some(SIGN_IN_AGAIN))
        }
        Err(e) => trouble(&ApiError::from(e)),
    }
}

const SIGN_IN_AGAIN: &str =
    "Sign in again to allow it: your sign-in is more than 10 minutes old, or has ended.";
const UNKNOWN_CODE: &str =
    "That code is unknown, was used already or has expired. Check your device.";

/// What a device's user code is checked against: its stored form (any case, dash or not).
fn device_binding(typed: &str) -> String {
    filmlog_domain::oauth::normalize_user_code(typed).unwrap_or_default()
}

/// The back-off of a member typing user codes (RFC 8628 §5.1): wrong codes in a row lock their
/// network out of trying more for a while, and slow everyone else trying for that member; nobody
/// else is slowed.
fn code_check<'a>(
    req: &HttpRequest,
    state: &'a AppState,
    me: &PageSession,
) -> crate::ratelimit::CredentialCheck<'a> {
    let ip = crate::ratelimit::client_of(req, &state.limiter.limits);
    state
        .limiter
        .credential_check(&format!("device-codes:{}", me.member.id), ip)
}

fn too_many_codes(wait: std::time::Duration) -> HttpResponse {
    let mut res = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many wrong codes",
        "<p>Wait a few minutes, then type the code your device shows again.</p>",
    );
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn device_code_form(message: Option<&str>, status: StatusCode) -> HttpResponse {
    let message = message
        .map(|m| format!("<p role=\"alert\"><strong>{}</strong></p>", escape_html(m)))
        .unwrap_or_default();
    page(
        status,
        "Connect a device",
        &format!(
            "{message}<form method=\"get\" action=\"{DEVICE_PATH}\">\
             <p><label>The code your device shows<br><input id=\"user_code\" name=\"user_code\" \
             maxlength=\"16\" autocomplete=\"off\" required></label></p>\
             <p><button id=\"continue\" type=\"submit\">Continue</button></p></form>"
        ),
    )
}

/// `GET /oauth/device[?user_code=…]`: sign in, type the device's code, then consent.
pub async fn device_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query = Form::parse(req.query_string().as_bytes());
    let typed = query.first("user_code").map(str::to_owned);
    let next = match &typed {
        Some(code) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("user_code", code);
            format!("{DEVICE_PATH}?{}", q.finish())
        }
        None => DEVICE_PATH.to_owned(),
    };
    let me = match page_session(&req, &state).await {
        Ok(Some(me)) => me,
        Ok(None) => return sign_in_page(StatusCode::OK, &next, None),
        Err(e) => return trouble(&e),
    };
    let Some(typed) = typed else {
        return device_code_form(None, StatusCode::OK);
    };
    let check = code_check(&req, &state, &me);
    if let Err(wait) = check.admit().await {
        return too_many_codes(wait);
    }
    let pending = match state.conn().await {
        Ok(mut conn) => oauth::pending_device(&mut conn, &typed).await,
        Err(e) => return trouble(&e),
    };
    // (A code that exists does not forget the wrong ones before it: only a decision does, so
    // guesses cannot be spread between looks at a code of one's own.)
    let (app, scopes) = match pending {
        Ok(Some(found)) => found,
        Ok(None) => {
            check.failed().await;
            return device_code_form(Some(UNKNOWN_CODE), StatusCode::NOT_FOUND);
        }
        Err(e) => return trouble(&ApiError::from(e)),
    };
    page(
        StatusCode::OK,
        &format!("Allow {}?", app.name),
        &format!(
            "{}{}<p>Only allow it if your device shows the code <strong>{}</strong>.</p>\
             <form method=\"post\" action=\"{DEVICE_PATH}\">{}{}{DECISION_BUTTONS}</form>",
            app_intro(&app, &me.member),
            scope_list(scopes),
            escape_html(&typed.to_uppercase()),
            hidden("user_code", &typed),
            hidden(
                "csrf",
                &csrf_of(&state, me.session, &device_binding(&typed))
            ),
        ),
    )
}

/// `POST /oauth/device`: the member's decision for a device.
pub async fn device_decision(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    if !same_origin(&req, &state) {
        return refused_origin();
    }
    let form = Form::parse(&body);
    let typed = form.first("user_code").unwrap_or("").to_owned();
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("user_code", &typed);
    let next = format!("{DEVICE_PATH}?{}", q.finish());
    let me = match consenting(&req, &state, &form, &device_binding(&typed), &next).await {
        Ok(me) => me,
        Err(page) => return page,
    };
    let allowed = form.first("decision") == Some("allow");
    let decided = match state.conn().await {
        Ok(mut conn) => {
            oauth::decide_device(&mut conn, me.member.id, me.session, &typed, allowed).await
        }
        Err(e) => return trouble(&e),
    };
    let done = |title: &str, text: &str| {
        let mut res = page(StatusCode::OK, title, &format!("<p id=\"done\">{text}</p>"));
        res.headers_mut().insert(
            header::SET_COOKIE,
            header::HeaderValue::from_static(CLEAR_COOKIE),
        );
        res
    };
    match decided {
        Ok(true) => {
            let _ = code_check(&req, &state, &me).succeeded().await;
            end_page_session(&state, me.session).await;
            if allowed {
                done(
                    "Device connected",
                    "Done: go back to your device, it signs in by itself.",
                )
            } else {
                done("Request denied", "The device was not let in.")
            }
        }
        Ok(false) => device_code_form(Some(UNKNOWN_CODE), StatusCode::NOT_FOUND),
        Err(OpError::Denied(Denied::ReauthenticationRequired | Denied::AccountGone)) => {
            sign_in_page(StatusCode::UNAUTHORIZED, &next, Some(SIGN_IN_AGAIN))
        }
        Err(e) => trouble(&ApiError::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_url_decoded() {
        let value = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret+x"));
        assert_eq!(
            basic_credentials(value.as_bytes()),
            Some(("my id".to_owned(), "s:cret x".to_owned()))
        );
        assert_eq!(basic_credentials(b"Bearer abc"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
    }

    #[test]
    fn sign_in_only_leads_back_to_these_pages() {
        assert_eq!(
            safe_next(Some("/oauth/authorize?client_id=x")),
            "/oauth/authorize?client_id=x"
        );
        assert_eq!(
            safe_next(Some("/oauth/device?user_code=X")),
            "/oauth/device?user_code=X"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), DEVICE_PATH);
        assert_eq!(
            safe_next(Some("//evil.example/oauth/authorize?")),
            DEVICE_PATH
        );
        assert_eq!(safe_next(None), DEVICE_PATH);
    }
}
