//! Third-party apps (OAuth 2.1): registering apps, the authorization code grant with PKCE (S256
//! only), refresh tokens that rotate as first-party ones do, revocation (RFC 7009), the device
//! authorization grant (RFC 8628), and the member's list of the apps they authorised.
//!
//! A grant is a session bound to the app ([`filmlog_persistence::oauth::create_grant`]): its
//! access tokens carry the scopes granted, its refresh tokens work only for that app, and revoking
//! the app ends the session, so every token of it stops at once.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel_async::AsyncConnection;
use filmlog_domain::oauth::{self as rules, Scopes};
use filmlog_domain::{MemberId, RuleError, SessionId};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::members;
use filmlog_persistence::oauth::{self as store, AppFields, AppRow};
use filmlog_persistence::sessions::{self, RevokeReason};
use sha2::{Digest, Sha256};

use super::{Denied, FieldIssue, OpError, OpResult};
use crate::credentials::{
    Grant, TokenPair, TokenService, constant_time_eq, new_refresh_token, random_token,
    refresh_token_hash,
};

/// How long an authorization code may wait for its exchange.
pub const CODE_FOR: Duration = Duration::from_secs(120);
/// How long a device code waits for its member.
pub const DEVICE_FOR: Duration = Duration::from_secs(600);
/// The most device sign-ins one app may have waiting for members from one network (each row a
/// stranger can make; per network, so no one network can block an app's devices).
pub const DEVICES_PENDING_PER_NETWORK: i64 = 50;
/// The seconds a device waits between polls, to begin with (`slow_down` adds five).
pub const DEVICE_INTERVAL: i32 = 5;

/// What an owner sends to register or change an app, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct AppInput {
    pub name: String,
    pub description: Option<String>,
    pub homepage: Option<String>,
    pub redirect_uris: Vec<String>,
}

impl AppInput {
    /// The fields, or every rule they break.
    pub fn check(self) -> OpResult<AppFields> {
        let mut issues = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(invisible) {
            issues.push(FieldIssue::new(
                "/name",
                "invalid_name",
                "a name of 1 to 60 characters, without control characters",
            ));
        }
        let description = self.description.unwrap_or_default().trim().to_owned();
        if description.chars().count() > 500 {
            issues.push(FieldIssue::new(
                "/description",
                "too_long",
                "at most 500 characters",
            ));
        }
        let homepage = self.homepage.filter(|h| !h.trim().is_empty());
        if let Some(h) = &homepage {
            let ok = h.len() <= 200
                && (h.starts_with("https://") || h.starts_with("http://"))
                && !h.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                issues.push(FieldIssue::new(
                    "/homepage",
                    "invalid_url",
                    "an http(s) URL of at most 200 characters",
                ));
            }
        }
        if self.redirect_uris.is_empty() || self.redirect_uris.len() > rules::REDIRECT_URIS_MAX {
            issues.push(FieldIssue::new(
                "/redirect_uris",
                "invalid_redirect_uris",
                "between 1 and 10 redirect URIs",
            ));
        }
        for (i, uri) in self
            .redirect_uris
            .iter()
            .enumerate()
            .take(rules::REDIRECT_URIS_MAX)
        {
            if let Err(e) = rules::redirect_kind(uri) {
                issues.push(FieldIssue::new(
                    format!("/redirect_uris/{i}"),
                    "invalid_redirect_uri",
                    e,
                ));
            }
        }
        let mut redirect_uris: Vec<String> = Vec::with_capacity(self.redirect_uris.len());
        for uri in self.redirect_uris {
            if !redirect_uris.contains(&uri) {
                redirect_uris.push(uri);
            }
        }
        if !issues.is_empty() {
            return Err(OpError::Invalid(issues));
        }
        Ok(AppFields {
            name,
            description,
            homepage,
            redirect_uris,
        })
    }
}

/// A character a name shown to members must not hold: control characters, and the format
/// characters that reorder or hide text (bidirectional overrides, zero-width ones).
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// An app with its live grants, as its owner sees it.
#[derive(Debug, Clone)]
pub struct OwnedApp {
    pub app: AppRow,
    /// Live grants (each a family of tokens).
    pub tokens: i64,
    /// Members with a live grant.
    pub members: i64,
}

/// Whether `s` could be a client id (what [`register`] makes: URL-safe base64, at most 64): anything
/// else names no app and never reaches the database.
pub fn client_id_shaped(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn secret_hash(secret: &str) -> [u8; 32] {
    refresh_token_hash(secret)
}

/// Registers an app; a confidential one's client secret is in the answer, and only there.
pub async fn register(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    fields: AppFields,
    confidential: bool,
) -> OpResult<(AppRow, Option<String>)> {
    let secret = confidential.then(|| random_token(32));
    let hash = secret.as_deref().map(secret_hash);
    conn.transaction(async |conn| {
        // The owner's row, locked: concurrent registrations count one after the other.
        members::lock(conn, owner)
            .await?
            .ok_or(Denied::AccountGone)?;
        if store::count_owned(conn, owner).await? >= rules::APPS_MAX {
            return Err(RuleError::AppLimit.into());
        }
        let client_id = random_token(18);
        let app = store::create_app(
            conn,
            owner,
            &client_id,
            &fields,
            hash.as_ref().map(|h| &h[..]),
        )
        .await?;
        Ok((app, secret))
    })
    .await
}

async fn with_counts(conn: &mut AsyncPgConnection, apps: Vec<AppRow>) -> OpResult<Vec<OwnedApp>> {
    let ids: Vec<i64> = apps.iter().map(|a| a.id.get()).collect();
    let counts = store::token_counts(conn, &ids).await?;
    Ok(apps
        .into_iter()
        .map(|app| {
            let (tokens, members) = counts
                .iter()
                .find(|(id, _, _)| *id == app.id.get())
                .map_or((0, 0), |(_, t, m)| (*t, *m));
            OwnedApp {
                app,
                tokens,
                members,
            }
        })
        .collect())
}

pub async fn owned(conn: &mut AsyncPgConnection, owner: MemberId) -> OpResult<Vec<OwnedApp>> {
    let apps = store::owned(conn, owner).await?;
    with_counts(conn, apps).await
}

/// One of the owner's apps (404 for anyone else's).
pub async fn owned_one(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
) -> OpResult<OwnedApp> {
    let app = store::by_client_id(conn, client_id)
        .await?
        .filter(|a| a.owner_id == owner)
        .ok_or(OpError::NotFound("app"))?;
    let mut one = with_counts(conn, vec![app]).await?;
    one.pop().ok_or(OpError::NotFound("app"))
}

/// What an owner changes of an app: absent fields stay; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct AppPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub homepage: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
}

/// Changes an app: merged with the row locked and checked whole, so two owners' changes never
/// undo each other.
pub async fn update(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
    patch: AppPatch,
) -> OpResult<OwnedApp> {
    let app = conn
        .transaction(async |conn| {
            let app = store::lock_owned(conn, owner, client_id)
                .await?
                .ok_or(OpError::NotFound("app"))?;
            let fields = AppInput {
                name: patch.name.unwrap_or(app.name),
                description: patch.description.unwrap_or(Some(app.description)),
                homepage: patch.homepage.unwrap_or(app.homepage),
                redirect_uris: patch.redirect_uris.unwrap_or(app.redirect_uris),
            }
            .check()?;
            Ok::<_, OpError>(store::update_app(conn, app.id, &fields).await?)
        })
        .await?;
    let mut one = with_counts(conn, vec![app]).await?;
    one.pop().ok_or(OpError::NotFound("app"))
}

/// Deletes an app: every token it holds ends at once.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let app = store::lock_owned(conn, owner, client_id)
            .await?
            .ok_or(OpError::NotFound("app"))?;
        store::delete_app(conn, app.id).await?;
        Ok(())
    })
    .await
}

/// A new client secret for a confidential app (shown once); the old one stops working.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    owner: MemberId,
    client_id: &str,
) -> OpResult<(OwnedApp, String)> {
    let secret = random_token(32);
    let hash = secret_hash(&secret);
    let app = conn
        .transaction(async |conn| {
            let app = store::lock_owned(conn, owner, client_id)
                .await?
                .ok_or(OpError::NotFound("app"))?;
            if !app.confidential {
                return Err(RuleError::PublicApp.into());
            }
            Ok::<_, OpError>(store::set_secret(conn, app.id, &hash).await?)
        })
        .await?;
    let mut one = with_counts(conn, vec![app]).await?;
    Ok((one.pop().ok_or(OpError::NotFound("app"))?, secret))
}

/// An error of the OAuth endpoints, as RFC 6749 §5.2 and RFC 8628 §3.5 name them.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("client authentication failed")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error(
        "grant_type must be authorization_code, refresh_token or urn:ietf:params:oauth:grant-type:device_code"
    )]
    UnsupportedGrantType,
    #[error("{0}")]
    InvalidScope(String),
    #[error("the member has not answered yet")]
    AuthorizationPending,
    #[error("polling too fast: wait the interval (5 seconds more from now on) between polls")]
    SlowDown,
    #[error("the member denied the request")]
    AccessDenied,
    #[error("the device code expired; start again")]
    ExpiredToken,
    #[error("the service is busy; retry")]
    TemporarilyUnavailable,
    #[error(transparent)]
    Op(#[from] OpError),
}

impl OAuthError {
    /// The `error` value of the response.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::AuthorizationPending => "authorization_pending",
            OAuthError::SlowDown => "slow_down",
            OAuthError::AccessDenied => "access_denied",
            OAuthError::ExpiredToken => "expired_token",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::Op(_) => "server_error",
        }
    }
}

impl From<filmlog_persistence::PersistenceError> for OAuthError {
    fn from(e: filmlog_persistence::PersistenceError) -> Self {
        OAuthError::Op(e.into())
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        OAuthError::Op(e.into())
    }
}

/// The client of a token request: its id and, for a confidential app, its secret.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
}

/// The app a token request comes from: a confidential app must prove its secret; a public app
/// must send none.
pub async fn authenticate_client(
    conn: &mut AsyncPgConnection,
    client: &ClientCredentials,
) -> Result<AppRow, OAuthError> {
    if !client_id_shaped(&client.client_id) {
        return Err(OAuthError::InvalidClient);
    }
    let app = store::by_client_id(conn, &client.client_id)
        .await?
        .ok_or(OAuthError::InvalidClient)?;
    match (&app.secret_hash, &client.secret) {
        (None, None) => Ok(app),
        (Some(stored), Some(secret)) if secret.len() <= 128 => {
            if constant_time_eq(stored, &secret_hash(secret)) {
                Ok(app)
            } else {
                Err(OAuthError::InvalidClient)
            }
        }
        _ => Err(OAuthError::InvalidClient),
    }
}

/// A request to `/oauth/authorize`, as sent.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// An authorization request that may go ahead: the app, where to send the member back, what is
/// asked for.
#[derive(Debug, Clone)]
pub struct Authorize {
    pub app: AppRow,
    /// Where the member goes back to: the one sent, or the app's only one.
    pub redirect_uri: String,
    /// Whether the request named it (the exchange must then name it too, OAuth 2.1 §4.1.3).
    pub redirect_sent: bool,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub challenge: String,
}

/// Why an authorization request cannot go ahead.
#[derive(Debug, Clone)]
pub enum AuthorizeRefused {
    /// The client or its redirect URI is unknown: the member is told, and never sent anywhere
    /// (RFC 6749 §4.1.2.1).
    Here(String),
    /// Anything else is told to the app at its redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// A PKCE value (challenge or verifier): 43 to 128 of `A-Z a-z 0-9 - . _ ~` (RFC 7636 §4.1).
fn pkce_shaped(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks an authorization request.
pub async fn check_authorize(
    conn: &mut AsyncPgConnection,
    req: &AuthorizeRequest,
) -> Result<Authorize, AuthorizeRefused> {
    let here = |m: &str| AuthorizeRefused::Here(m.to_owned());
    let client_id = req
        .client_id
        .as_deref()
        .filter(|c| client_id_shaped(c))
        .ok_or_else(|| here("The request names no app (client_id)."))?;
    let app = store::by_client_id(conn, client_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading an app for an authorization request");
            here("Something went wrong on our side; try again in a minute.")
        })?
        .ok_or_else(|| here("The app that sent you here is not registered with Filmlog."))?;
    let redirect_uri = match &req.redirect_uri {
        Some(sent) => app
            .redirect_uris
            .iter()
            .any(|r| rules::redirect_matches(r, sent))
            .then(|| sent.clone()),
        // Only an app with a single redirect URI may leave it out.
        None if app.redirect_uris.len() == 1 => app.redirect_uris.first().cloned(),
        None => None,
    }
    .ok_or_else(|| {
        here("The app asked to send you back to an address it did not register, so it was stopped.")
    })?;
    let state = req.state.clone().filter(|s| !s.is_empty());
    let refuse = |error: &'static str, description: &str| AuthorizeRefused::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if state.as_ref().is_some_and(|s| s.len() > 512) {
        return Err(refuse("invalid_request", "state is at most 512 characters"));
    }
    if req.response_type.as_deref() != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = req
        .code_challenge
        .clone()
        .filter(|c| pkce_shaped(c))
        .ok_or_else(|| {
            refuse(
                "invalid_request",
                "code_challenge (PKCE, 43 to 128 characters) is required",
            )
        })?;
    if req.code_challenge_method.as_deref() != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    let scopes = Scopes::parse(req.scope.as_deref().unwrap_or(""))
        .map_err(|e| refuse("invalid_scope", &e.to_string()))?;
    Ok(Authorize {
        app,
        redirect_uri,
        redirect_sent: req.redirect_uri.is_some(),
        scopes,
        state,
        challenge,
    })
}

/// Tells the member by mail that `app` may now act for them.
async fn tell_authorized(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    app: &str,
    scopes: Scopes,
) -> OpResult<()> {
    let me = members::find(conn, member)
        .await?
        .ok_or(Denied::AccountGone)?;
    let words: Vec<&str> = scopes.iter().map(|s| s.describe()).collect();
    let notice = crate::mail::app_authorized(&me.username, app, &words);
    super::recovery::tell(conn, &me, &notice).await
}

/// The member (signed in on `session` within the last ten minutes) allows the request: a code for
/// the app's redirect.
pub async fn allow(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
    request: &Authorize,
) -> OpResult<String> {
    let code = random_token(32);
    let hash = refresh_token_hash(&code);
    let expires_at =
        Utc::now() + chrono::Duration::from_std(CODE_FOR).map_err(OpError::internal)?;
    conn.transaction(async |conn| {
        // The member's row, locked: a sign-out everywhere (which locks it too) voids this code or
        // ends the session first.
        members::lock(conn, member)
            .await?
            .ok_or(Denied::AccountGone)?;
        super::two_factor::require_recent(conn, session).await?;
        store::insert_code(
            conn,
            &store::NewCode {
                hash: &hash,
                app: request.app.id,
                member,
                // What the exchange must send: nothing when the request sent nothing.
                redirect_uri: if request.redirect_sent {
                    &request.redirect_uri
                } else {
                    ""
                },
                challenge: &request.challenge,
                scopes: request.scopes,
                expires_at,
            },
        )
        .await?;
        tell_authorized(conn, member, &request.app.name, request.scopes).await
    })
    .await?;
    Ok(code)
}

/// Tokens an app obtained, with the scopes they carry.
#[derive(Debug, Clone)]
pub struct Granted {
    pub tokens: TokenPair,
    pub scopes: Scopes,
}

async fn grant_in(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    member: MemberId,
    app: &AppRow,
    scopes: Scopes,
) -> OpResult<(SessionId, Granted)> {
    let me = members::find(conn, member)
        .await?
        .ok_or(Denied::AccountGone)?;
    filmlog_domain::moderation::check_sign_in(me.suspended_until, Utc::now())
        .map_err(Denied::Suspended)?;
    let session = store::create_grant(conn, member, app.id, scopes, Some(&app.name)).await?;
    let refresh = new_refresh_token();
    sessions::insert_refresh_token(
        conn,
        session,
        &refresh_token_hash(&refresh),
        tokens.refresh_expiry(),
    )
    .await?;
    let grant = Grant {
        app: app.id,
        scopes,
    };
    let pair = tokens.pair(member, session, Some(grant), refresh)?;
    Ok((
        session,
        Granted {
            tokens: pair,
            scopes,
        },
    ))
}

/// Exchanges an authorization code (`grant_type=authorization_code`): once, soon, by the app it was
/// issued to, with the redirect URI it was issued for and the verifier of its challenge. A code
/// presented again ends the grant it was exchanged for (OAuth 2.1 §4.1.3).
pub async fn exchange_code(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    app: &AppRow,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Granted, OAuthError> {
    if code.is_empty() || code.len() > 128 {
        return Err(OAuthError::InvalidGrant("the code is unknown"));
    }
    let verifier = verifier
        .filter(|v| pkce_shaped(v))
        .ok_or_else(|| OAuthError::InvalidRequest("code_verifier (PKCE) is required".to_owned()))?;
    let hash = refresh_token_hash(code);
    conn.transaction(async |conn| {
        // The member's row first, then the code's, in the order consents and sign-outs take them
        // (a sign-out locks the member, then voids the codes): never a deadlock between them.
        if let Some(member) = store::code_member(conn, &hash).await? {
            members::lock(conn, member).await?;
        }
        let Some(found) = store::lock_code(conn, &hash).await? else {
            return Ok(Err(OAuthError::InvalidGrant("the code is unknown")));
        };
        if found.used_at.is_some() {
            if let Some(session) = found.session_id {
                sessions::revoke(conn, SessionId::new(session), RevokeReason::CodeReused).await?;
            }
            return Ok(Err(OAuthError::InvalidGrant(
                "the code was used already; the tokens it gave were revoked",
            )));
        }
        if found.expires_at <= Utc::now() {
            return Ok(Err(OAuthError::InvalidGrant("the code expired")));
        }
        if found.app_id != app.id {
            return Ok(Err(OAuthError::InvalidGrant(
                "the code was issued to another client",
            )));
        }
        let sent = redirect_uri.unwrap_or("");
        if sent != found.redirect_uri {
            return Ok(Err(OAuthError::InvalidGrant(
                "redirect_uri differs from the authorization request's",
            )));
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !constant_time_eq(computed.as_bytes(), found.challenge.as_bytes()) {
            return Ok(Err(OAuthError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            )));
        }
        let scopes = Scopes::from_bits(found.scopes);
        let (session, granted) = grant_in(conn, tokens, found.member_id, app, scopes).await?;
        store::spend_code(conn, &hash, session).await?;
        Ok::<_, OpError>(Ok(granted))
    })
    .await?
}

/// `grant_type=refresh_token`: the first-party rotation, for the app's own grants only. `asked`, a
/// narrower scope, may not name a scope the grant does not have (refused before anything is
/// spent).
pub async fn refresh(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    app: &AppRow,
    refresh_token: &str,
    asked: Option<Scopes>,
) -> Result<Granted, OAuthError> {
    if let Some(asked) = asked
        && refresh_token.len() <= 128
    {
        let hash = refresh_token_hash(refresh_token);
        let granted = sessions::refresh_token_grant(conn, &hash).await?;
        if granted.is_some_and(|(a, scopes)| a == app.id && !asked.within(scopes)) {
            return Err(OAuthError::InvalidScope(
                "a refresh cannot add scopes the member did not grant".to_owned(),
            ));
        }
    }
    match super::accounts::refresh(conn, tokens, refresh_token, Some(app.id)).await {
        Ok(mut pair) => {
            let access = tokens
                .decode_access(&pair.access_token)
                .map_err(|_| OpError::internal("a token just issued does not decode"))?;
            let granted = access.grant.map(|g| g.scopes).unwrap_or_default();
            // A narrower scope applies to this access token; the grant keeps its scopes.
            let scopes = match asked {
                Some(asked) if asked != granted => {
                    pair.access_token = tokens.issue_access(
                        access.member,
                        access.session,
                        Some(Grant {
                            app: app.id,
                            scopes: asked,
                        }),
                    )?;
                    asked
                }
                _ => granted,
            };
            Ok(Granted {
                tokens: pair,
                scopes,
            })
        }
        Err(OpError::Denied(Denied::InvalidRefreshToken)) => Err(OAuthError::InvalidGrant(
            "the refresh token is invalid, expired or not this client's",
        )),
        Err(OpError::Denied(Denied::RefreshTokenReused)) => Err(OAuthError::InvalidGrant(
            "the refresh token was used already; the grant was revoked",
        )),
        Err(e) => Err(e.into()),
    }
}

/// RFC 7009: ends the grant of a refresh or access token the app holds. A token that is unknown,
/// ended already or another client's changes nothing and is not told apart.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    app: &AppRow,
    token: &str,
) -> OpResult<()> {
    if token.is_empty() || token.len() > 4096 {
        return Ok(());
    }
    let session = if let Ok(access) = tokens.decode_access(token) {
        access
            .grant
            .filter(|g| g.app == app.id)
            .map(|_| access.session)
    } else if token.len() <= 128 {
        let hash = refresh_token_hash(token);
        conn.transaction(async |conn| {
            Ok::<_, OpError>(
                sessions::lock_refresh_token(conn, &hash)
                    .await?
                    .filter(|f| f.grant.is_some_and(|(a, _)| a == app.id))
                    .map(|f| f.session),
            )
        })
        .await?
    } else {
        None
    };
    if let Some(session) = session {
        sessions::revoke(conn, session, RevokeReason::AppRevoked).await?;
    }
    Ok(())
}

/// A device authorization just started.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: String,
    /// As stored (eight letters); shown with a dash.
    pub user_code: String,
    pub expires_in: u64,
    pub interval: i32,
}

fn new_user_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..rules::USER_CODE_LEN)
        .map(|_| {
            let i = rng.random_range(0..rules::USER_CODE_ALPHABET.len());
            char::from(rules::USER_CODE_ALPHABET[i])
        })
        .collect()
}

/// Starts a device authorization for `app` asking for `scopes`.
pub async fn start_device(
    conn: &mut AsyncPgConnection,
    app: &AppRow,
    scopes: Scopes,
    network: Option<&str>,
) -> OpResult<DeviceStart> {
    let device_code = random_token(32);
    let hash = refresh_token_hash(&device_code);
    let expires_at =
        Utc::now() + chrono::Duration::from_std(DEVICE_FOR).map_err(OpError::internal)?;
    if store::pending_devices(conn, app.id, network).await? >= DEVICES_PENDING_PER_NETWORK {
        return Err(RuleError::DevicesPending.into());
    }
    // A user code is one of 20^8; a clash with a live one is drawn again.
    for _ in 0..5 {
        let user_code = new_user_code();
        let inserted = store::insert_device_code(
            conn,
            &store::NewDeviceCode {
                hash: &hash,
                user_code: &user_code,
                app: app.id,
                scopes,
                expires_at,
                interval_secs: DEVICE_INTERVAL,
                network,
            },
        )
        .await?;
        if inserted {
            return Ok(DeviceStart {
                device_code,
                user_code,
                expires_in: DEVICE_FOR.as_secs(),
                interval: DEVICE_INTERVAL,
            });
        }
    }
    Err(OpError::internal("no free user code after five draws"))
}

/// The app and scopes a pending user code asks for, to show the member before they decide.
pub async fn pending_device(
    conn: &mut AsyncPgConnection,
    user_code: &str,
) -> OpResult<Option<(AppRow, Scopes)>> {
    let Some(code) = rules::normalize_user_code(user_code) else {
        return Ok(None);
    };
    conn.transaction(async |conn| {
        let Some(found) = store::lock_pending_user_code(conn, &code).await? else {
            return Ok(None);
        };
        let app = store::app_by_id(conn, found.app_id).await?;
        Ok(app.map(|a| (a, Scopes::from_bits(found.scopes))))
    })
    .await
}

/// The member (signed in on `session` within the last ten minutes) answers a user code; `false`
/// when it is unknown, answered already or expired.
pub async fn decide_device(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    session: SessionId,
    user_code: &str,
    allowed: bool,
) -> OpResult<bool> {
    let Some(code) = rules::normalize_user_code(user_code) else {
        return Ok(false);
    };
    conn.transaction(async |conn| {
        members::lock(conn, member)
            .await?
            .ok_or(Denied::AccountGone)?;
        super::two_factor::require_recent(conn, session).await?;
        let Some(found) = store::lock_pending_user_code(conn, &code).await? else {
            return Ok(false);
        };
        store::decide_device(conn, &found.device_hash, member, allowed).await?;
        if allowed {
            let app = store::app_by_id(conn, found.app_id)
                .await?
                .ok_or(OpError::NotFound("app"))?;
            tell_authorized(conn, member, &app.name, Scopes::from_bits(found.scopes)).await?;
        }
        Ok(true)
    })
    .await
}

/// A device polls (`grant_type=urn:ietf:params:oauth:grant-type:device_code`).
pub async fn poll_device(
    conn: &mut AsyncPgConnection,
    tokens: &TokenService,
    app: &AppRow,
    device_code: &str,
) -> Result<Granted, OAuthError> {
    if device_code.is_empty() || device_code.len() > 128 {
        return Err(OAuthError::InvalidGrant("the device code is unknown"));
    }
    let hash = refresh_token_hash(device_code);
    conn.transaction(async |conn| {
        // The deciding member's row first, then the device's (see `exchange_code`).
        let decided_by = store::device_member(conn, &hash).await?;
        if let Some(member) = decided_by {
            members::lock(conn, member).await?;
        }
        let Some(found) = store::lock_device(conn, &hash).await? else {
            return Ok(Err(OAuthError::InvalidGrant("the device code is unknown")));
        };
        if found.app_id != app.id {
            return Ok(Err(OAuthError::InvalidGrant(
                "the device code was issued to another client",
            )));
        }
        if found.collected_at.is_some() {
            return Ok(Err(OAuthError::InvalidGrant(
                "the device code was used already",
            )));
        }
        let now = Utc::now();
        // An allowed device must collect its tokens before the code expires.
        if found.expires_at <= now {
            return Ok(Err(OAuthError::ExpiredToken));
        }
        match (found.decision.as_deref(), found.member_id) {
            // Decided between the two reads: collected at the next poll, with the member locked.
            (Some(_), Some(_)) if decided_by.is_none() => {
                return Ok(Err(OAuthError::AuthorizationPending));
            }
            (Some("allowed"), Some(member)) => {
                let scopes = Scopes::from_bits(found.scopes);
                let (_, granted) =
                    grant_in(conn, tokens, MemberId::new(member), app, scopes).await?;
                store::collected(conn, &hash).await?;
                return Ok(Ok(granted));
            }
            (Some(_), _) => return Ok(Err(OAuthError::AccessDenied)),
            _ => {}
        }
        let too_soon = found
            .last_polled_at
            .is_some_and(|at| now - at < chrono::Duration::seconds(i64::from(found.poll_interval)));
        if too_soon {
            store::polled(conn, &hash, found.poll_interval.saturating_add(5).min(60)).await?;
            return Ok(Err(OAuthError::SlowDown));
        }
        store::polled(conn, &hash, found.poll_interval).await?;
        Ok::<_, OpError>(Err(OAuthError::AuthorizationPending))
    })
    .await?
}

/// The apps a member authorised.
pub async fn authorized(
    conn: &mut AsyncPgConnection,
    member: MemberId,
) -> OpResult<Vec<store::AuthorizedApp>> {
    Ok(store::authorized(conn, member).await?)
}

/// Revokes every grant a member gave an app: its tokens end at once.
pub async fn revoke_app(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    client_id: &str,
) -> OpResult<()> {
    conn.transaction(async |conn| {
        let app = store::by_client_id(conn, client_id)
            .await?
            .ok_or(OpError::NotFound("authorized app"))?;
        if store::revoke_grants(conn, member, app.id).await? == 0 {
            return Err(OpError::NotFound("authorized app"));
        }
        Ok(())
    })
    .await
}
