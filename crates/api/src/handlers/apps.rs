//! Third-party apps: the apps a member registers (`/me/apps`) and the apps a member authorised
//! (`/me/authorized-apps`). First-party sign-in only: no app manages apps.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use filmlog_app::ops::oauth::{self, AppInput, AppPatch, OwnedApp};
use filmlog_persistence::oauth::AuthorizedApp as AuthorizedRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::dto::rfc3339;
use crate::error::{ApiResult, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated};
use crate::extract::{ClientIdPath, JsonBody, double_option};
use crate::state::AppState;

/// An app you registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct App {
    /// The public client identifier, sent as `client_id`.
    #[schema(example = "q3Zk8yR2mV0bX1cJd4sT7wNa")]
    pub client_id: String,
    #[schema(example = "Scrobbler for Plex")]
    pub name: String,
    pub description: String,
    #[schema(example = "https://scrobbler.example")]
    pub homepage: Option<String>,
    /// Matched exactly, except that a loopback address (`http://127.0.0.1`, `http://[::1]`)
    /// matches with any port (RFC 8252).
    #[schema(example = json!(["https://scrobbler.example/callback", "http://127.0.0.1/callback"]))]
    pub redirect_uris: Vec<String>,
    /// A confidential app (a server) authenticates with its secret; a public one (a mobile, TV or
    /// single-page app) cannot keep one and relies on PKCE alone.
    pub confidential: bool,
    /// Live grants: token families members gave the app.
    pub tokens: i64,
    /// Members with a live grant.
    pub members: i64,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// The client secret: only in the answer that registered the app or rotated its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl App {
    fn of(owned: OwnedApp, client_secret: Option<String>) -> Self {
        let app = owned.app;
        App {
            client_id: app.client_id,
            name: app.name,
            description: app.description,
            homepage: app.homepage,
            redirect_uris: app.redirect_uris,
            confidential: app.confidential,
            tokens: owned.tokens,
            members: owned.members,
            created_at: app.created_at,
            client_secret,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAppRequest {
    /// Shown to members on the consent page (1 to 60 characters).
    #[schema(example = "Scrobbler for Plex")]
    pub name: String,
    /// At most 500 characters.
    pub description: Option<String>,
    #[schema(example = "https://scrobbler.example")]
    pub homepage: Option<String>,
    /// 1 to 10: `https://…`, `http://127.0.0.1…` or `http://[::1]…` (any port), or a private-use
    /// scheme in reverse-domain form (`com.example.app:/callback`). No fragments.
    #[schema(example = json!(["https://scrobbler.example/callback"]))]
    pub redirect_uris: Vec<String>,
    /// `true` for an app that can keep a secret (it runs on a server).
    pub confidential: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAppRequest {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "https://scrobbler.example")]
    pub homepage: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppList {
    pub items: Vec<App>,
}

/// Register an app
///
/// A confidential app's `client_secret` is in this answer only (rotate it with
/// `POST /me/apps/{client_id}/secret`). At most 25 apps.
#[utoipa::path(
    operation_id = "create_app",
    tag = "apps",
    request_body = CreateAppRequest,
    responses(
        (status = 201, description = "Registered", body = App),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 409, response = crate::error::AppLimit),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedApp),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/apps")]
pub async fn create_app(
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<CreateAppRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let fields = AppInput {
        name: req.name,
        description: req.description,
        homepage: req.homepage,
        redirect_uris: req.redirect_uris,
    }
    .check()?;
    let mut conn = state.conn().await?;
    let (app, secret) = oauth::register(&mut conn, auth.id(), fields, req.confidential).await?;
    let location = format!("/api/v1/me/apps/{}", app.client_id);
    let owned = OwnedApp {
        app,
        tokens: 0,
        members: 0,
    };
    Ok(crate::guards::no_store(HttpResponse::Created())
        .insert_header(("location", location))
        .json(App::of(owned, secret)))
}

/// Your apps
#[utoipa::path(
    operation_id = "list_apps",
    tag = "apps",
    responses(
        (status = 200, description = "Oldest first", body = AppList),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/apps")]
pub async fn list_apps(state: web::Data<AppState>, auth: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let apps = oauth::owned(&mut conn, auth.id()).await?;
    let items = apps.into_iter().map(|a| App::of(a, None)).collect();
    Ok(HttpResponse::Ok().json(AppList { items }))
}

/// One of your apps
#[utoipa::path(
    operation_id = "get_app",
    tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The app (without its secret)", body = App),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/apps/{client_id}")]
pub async fn get_app(
    state: web::Data<AppState>,
    auth: Caller,
    ClientIdPath(client_id): ClientIdPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let app = oauth::owned_one(&mut conn, auth.id(), &client_id).await?;
    Ok(HttpResponse::Ok().json(App::of(app, None)))
}

/// Change an app
///
/// Only the fields sent change. Removing a redirect URI does not end tokens already issued.
#[utoipa::path(
    operation_id = "update_app",
    tag = "apps",
    params(("client_id" = String, Path)),
    request_body = UpdateAppRequest,
    responses(
        (status = 200, description = "Changed", body = App),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedApp),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/me/apps/{client_id}")]
pub async fn update_app(
    state: web::Data<AppState>,
    auth: Caller,
    ClientIdPath(client_id): ClientIdPath,
    body: JsonBody<UpdateAppRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let patch = AppPatch {
        name: req.name,
        description: req.description,
        homepage: req.homepage,
        redirect_uris: req.redirect_uris,
    };
    let mut conn = state.conn().await?;
    let app = oauth::update(&mut conn, auth.id(), &client_id, patch).await?;
    Ok(HttpResponse::Ok().json(App::of(app, None)))
}

/// Delete an app
///
/// Every token members gave it ends at once.
#[utoipa::path(
    operation_id = "delete_app",
    tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/apps/{client_id}")]
pub async fn delete_app(
    state: web::Data<AppState>,
    auth: Caller,
    ClientIdPath(client_id): ClientIdPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    oauth::delete(&mut conn, auth.id(), &client_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate an app's secret
///
/// A new client secret, in this answer only; the old one stops working at once.
#[utoipa::path(
    operation_id = "rotate_app_secret",
    tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 200, description = "The app with its new secret", body = App),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotOneYours),
        (status = 409, response = crate::error::PublicApp),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[post("/me/apps/{client_id}/secret")]
pub async fn rotate_app_secret(
    state: web::Data<AppState>,
    auth: Caller,
    ClientIdPath(client_id): ClientIdPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let (app, secret) = oauth::rotate_secret(&mut conn, auth.id(), &client_id).await?;
    Ok(crate::guards::no_store(HttpResponse::Ok()).json(App::of(app, Some(secret))))
}

/// An app you authorised.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizedApp {
    pub client_id: String,
    pub name: String,
    pub homepage: Option<String>,
    /// What it may do: every scope you granted it.
    #[schema(example = json!(["read", "diary"]))]
    pub scopes: Vec<String>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub authorized_at: DateTime<Utc>,
    /// Its last sign-in or token refresh (it refreshes every 15 minutes while in use).
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_used_at: DateTime<Utc>,
}

impl From<AuthorizedRow> for AuthorizedApp {
    fn from(row: AuthorizedRow) -> Self {
        AuthorizedApp {
            client_id: row.app.client_id,
            name: row.app.name,
            homepage: row.app.homepage,
            scopes: row.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            authorized_at: row.authorized_at,
            last_used_at: row.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizedAppList {
    pub items: Vec<AuthorizedApp>,
}

/// Apps you authorised
///
/// Every app holding a live grant from you, most recently used first.
#[utoipa::path(
    operation_id = "list_authorized_apps",
    tag = "apps",
    responses(
        (status = 200, description = "Most recently used first", body = AuthorizedAppList),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me/authorized-apps")]
pub async fn list_authorized_apps(
    state: web::Data<AppState>,
    auth: Caller,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let apps = oauth::authorized(&mut conn, auth.id()).await?;
    let items = apps.into_iter().map(AuthorizedApp::from).collect();
    Ok(HttpResponse::Ok().json(AuthorizedAppList { items }))
}

/// Revoke an app
///
/// Every token you gave the app ends at once; it must ask you again.
#[utoipa::path(
    operation_id = "revoke_authorized_app",
    tag = "apps",
    params(("client_id" = String, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = Unauthenticated),
        (status = 404, response = crate::error::NotFoundNotAuthorized),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me/authorized-apps/{client_id}")]
pub async fn revoke_authorized_app(
    state: web::Data<AppState>,
    auth: Caller,
    ClientIdPath(client_id): ClientIdPath,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    oauth::revoke_app(&mut conn, auth.id(), &client_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
