//! The caller's own account.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, put, web};
use filmlog_domain::notification::NotificationKind;
use filmlog_domain::{
    Bio, DisplayName, Location, Password, ProfileChange, Pronouns, TextError, Website,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{AuthMember, Caller};
use crate::dto::{Me, Visibility};
use crate::error::{
    ApiError, ApiResult, FieldError, MalformedJson, NotJson, ServiceUnavailable, Unauthenticated,
};
use crate::extract::{JsonBody, double_option};
use crate::middleware::conditional::{check_if_match, if_match, json_with_etag};
use crate::state::AppState;
use filmlog_app::ops;

/// Your account
#[utoipa::path(
    operation_id = "get_me",
    tag = "me",
    responses(
        (status = 200, description = "The caller's account, with an `ETag`", body = Me),
        (status = 304, description = "Unchanged since the ETag in `If-None-Match`"),
        (status = 401, response = Unauthenticated),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn get_me(auth: AuthMember) -> ApiResult<HttpResponse> {
    let app = auth.grant.is_some();
    json_with_etag(&Me::for_caller(auth.member, app))
}

/// A partial profile update. Absent fields stay; `null` or blank clears a field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "Ana Lima")]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "Slow cinema, fast opinions.")]
    pub bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "Lisbon")]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "https://ana.example.com")]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "she/her")]
    pub pronouns: Option<Option<String>>,
    /// Make new followers ask (`true`); turning it off approves every pending request.
    pub private_account: Option<bool>,
    pub private_watchlist: Option<bool>,
    pub default_visibility: Option<Visibility>,
    /// Turn kinds of notification on (`true`) or off; kinds not named stay as they are.
    pub notifications: Option<NotificationSwitches>,
}

/// The kinds of notification to turn on or off (see `Me.notifications`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSwitches {
    pub follow: Option<bool>,
    pub follow_request: Option<bool>,
    pub follow_approved: Option<bool>,
    pub review_like: Option<bool>,
    pub list_like: Option<bool>,
    pub review_comment: Option<bool>,
    pub list_comment: Option<bool>,
    pub reply: Option<bool>,
    pub mention: Option<bool>,
}

impl NotificationSwitches {
    fn switches(&self) -> Vec<(NotificationKind, bool)> {
        use NotificationKind as K;
        [
            (K::Follow, self.follow),
            (K::FollowRequest, self.follow_request),
            (K::FollowApproved, self.follow_approved),
            (K::ReviewLike, self.review_like),
            (K::ListLike, self.list_like),
            (K::ReviewComment, self.review_comment),
            (K::ListComment, self.list_comment),
            (K::Reply, self.reply),
            (K::Mention, self.mention),
        ]
        .into_iter()
        .filter_map(|(k, on)| on.map(|on| (k, on)))
        .collect()
    }
}

/// Parses one optional field, recording its error under `pointer`.
fn field<T, E: std::fmt::Display>(
    raw: Option<Option<String>>,
    pointer: &str,
    code: &str,
    parse: impl Fn(&str) -> Result<Option<T>, E>,
    errors: &mut Vec<FieldError>,
) -> Option<Option<T>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => match parse(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(FieldError::new(pointer, code, e));
                None
            }
        },
    }
}

impl TryFrom<UpdateMeRequest> for ProfileChange {
    type Error = ApiError;

    fn try_from(req: UpdateMeRequest) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let text = |e: TextError| e;
        let change = ProfileChange {
            display_name: field(
                req.display_name,
                "/display_name",
                "invalid_display_name",
                |s| DisplayName::parse(s).map_err(text),
                &mut errors,
            ),
            bio: field(req.bio, "/bio", "invalid_bio", Bio::parse, &mut errors),
            location: field(
                req.location,
                "/location",
                "invalid_location",
                Location::parse,
                &mut errors,
            ),
            website: field(
                req.website,
                "/website",
                "invalid_website",
                Website::parse,
                &mut errors,
            ),
            pronouns: field(
                req.pronouns,
                "/pronouns",
                "invalid_pronouns",
                Pronouns::parse,
                &mut errors,
            ),
            private_account: req.private_account,
            private_watchlist: req.private_watchlist,
            default_visibility: req.default_visibility.map(Into::into),
            notifications: req.notifications.map(|n| n.switches()).unwrap_or_default(),
        };
        if errors.is_empty() {
            Ok(change)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// Update your profile
///
/// Send `If-Match` with the ETag of `GET /me` to refuse the change when the profile changed meanwhile.
///
/// Privacy: `private_account` makes new followers ask (`GET /me/follow-requests`); turning it off
/// approves every pending request (each requester asked to follow, and a public account takes
/// followers without asking). `private_watchlist` hides your watchlist from everyone else;
/// `default_visibility` applies to new log entries that do not say.
#[utoipa::path(
    operation_id = "update_me",
    tag = "me",
    request_body = UpdateMeRequest,
    params(("If-Match" = Option<String>, Header, description = "ETag from `GET /me`; 412 when stale")),
    responses(
        (status = 200, description = "The updated account", body = Me),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 412, response = crate::error::PreconditionFailed),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedInvalidDisplayName),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[patch("/me")]
pub async fn update_me(
    req: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let change = ProfileChange::try_from(body.0)?;
    let precondition = if_match(&req);
    let me = auth.id();
    let app = auth.grant.is_some();
    let mut conn = state.conn().await?;
    // The ETag is compared with the row locked, in the transaction that writes: of several
    // writers holding the same ETag exactly one wins, the others get 412.
    let precondition = move |current: &filmlog_domain::Member| {
        check_if_match(
            precondition.as_deref(),
            &Me::for_caller(current.clone(), app),
        )
    };
    let member = ops::accounts::update_profile(&mut conn, me, change, precondition).await?;
    json_with_etag(&Me::for_caller(member, app))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Change your password
///
/// Needs the current password. Every other session is ended (their tokens stop working); the session
/// making the change stays. Your webhooks are paused (a `webhook_disabled` notification each) until
/// you turn them on again with your password, in case one was made with a stolen token.
#[utoipa::path(
    operation_id = "change_password",
    tag = "me",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed; other sessions ended"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 415, response = NotJson),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 422, response = crate::error::ValidationFailedWeakPasswordWrong),
        (status = 429, response = crate::error::PasswordLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    http: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<ChangePasswordRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let new_password = Password::parse(&req.new_password)
        .map_err(|e| ApiError::invalid_field("/new_password", "weak_password", e))?;
    crate::guards::require_recent(&state, &auth).await?;
    crate::guards::confirm_password(
        &http,
        &state,
        auth.id(),
        &req.current_password,
        "/current_password",
    )
    .await?;
    let hash = state.passwords.hash(&new_password).await?;
    let mut conn = state.conn().await?;
    ops::accounts::change_password(&mut conn, auth.id(), auth.session, &hash).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeRequest {
    /// Your current password.
    pub password: String,
}

/// Delete your account
///
/// Needs a recent sign-in and the current password. Deletes the account at once, with its sessions (every token stops
/// working) and everything it created; the username becomes free. This cannot be undone.
#[utoipa::path(
    operation_id = "delete_me",
    tag = "me",
    request_body = DeleteMeRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = MalformedJson),
        (status = 401, response = Unauthenticated),
        (status = 403, response = crate::error::ReauthenticationRequired),
        (status = 415, response = NotJson),
        (status = 422, response = crate::error::ValidationFailedWrongPassword),
        (status = 429, response = crate::error::PasswordLocked),
        (status = 503, response = ServiceUnavailable),
    ),
    security(("bearer" = []))
)]
#[delete("/me")]
pub async fn delete_me(
    http: HttpRequest,
    state: web::Data<AppState>,
    auth: Caller,
    body: JsonBody<DeleteMeRequest>,
) -> ApiResult<HttpResponse> {
    crate::guards::require_recent(&state, &auth).await?;
    crate::guards::confirm_password(&http, &state, auth.id(), &body.0.password, "/password")
        .await?;
    let mut conn = state.conn().await?;
    ops::accounts::delete_account(&mut conn, auth.id()).await?;
    Ok(HttpResponse::NoContent().finish())
}
