//! Which scope each operation needs from a third-party app's token, and its check.
//!
//! The table below names every operation that takes a token, by its `operationId`: either the one
//! scope an app needs for it, or [`FIRST_PARTY`] (the password, sessions, two-factor, apps,
//! moderation: no app can be granted those). The spec carries it ([`OAuthScopes`]: an `oauth2`
//! security requirement with the scope on each operation an app may call) and the check reads it
//! back from the spec, by the route the router matched, so the document and the server cannot
//! disagree. A route-generated test shows every operation refusing a token without its scope and
//! accepting one with it; an operation in neither list is refused to every app.

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::Method;
use filmlog_domain::oauth::{Scope, Scopes};

use crate::error::ApiError;
use crate::routes::API_PREFIX;

/// The scope an app's token needs for an operation, by `operationId`; `None` for one no app may
/// call.
pub fn scope_of(operation_id: &str) -> Option<Scope> {
    Some(match operation_id {
        // What a member sees, as them.
        "get_film"
        | "list_films"
        | "film_lists"
        | "film_reviews"
        | "get_film_statistics"
        | "get_film_relationship"
        | "search_lists"
        | "get_list"
        | "list_thread"
        | "list_entries"
        | "list_likes"
        | "get_log_entry"
        | "list_comments"
        | "list_review_likes"
        | "get_me"
        | "list_blocks"
        | "list_mutes"
        | "my_changes"
        | "live_events"
        | "my_feed"
        | "my_film_states"
        | "list_follow_requests"
        | "last_activities"
        | "list_notifications"
        | "unread_notification_count"
        | "my_relationships"
        | "get_member"
        | "member_activity"
        | "member_diary"
        | "list_followers"
        | "list_following"
        | "member_liked_films"
        | "member_lists"
        | "member_reviews"
        | "member_watchlist"
        | "get_person"
        | "search" => Scope::Read,
        // The diary and a member's state with films.
        "like_film"
        | "unlike_film"
        | "rate_film"
        | "unrate_film"
        | "mark_watched"
        | "unmark_watched"
        | "add_to_watchlist"
        | "remove_from_watchlist"
        | "create_log_entry"
        | "update_log_entry"
        | "delete_log_entry" => Scope::Diary,
        // Other members and what they made.
        "follow_member"
        | "unfollow_member"
        | "approve_follow_request"
        | "deny_follow_request"
        | "like_review"
        | "unlike_review"
        | "create_comment"
        | "update_comment"
        | "delete_comment"
        | "subscribe_to_entry"
        | "unsubscribe_from_entry"
        | "like_list"
        | "unlike_list"
        | "subscribe_to_list"
        | "unsubscribe_from_list"
        | "comment_on_list"
        | "delete_list_comment"
        | "mark_notifications_read"
        | "block_member"
        | "unblock_member"
        | "mute_member"
        | "unmute_member"
        | "create_report" => Scope::Social,
        "create_list" | "update_list" | "delete_list" | "clone_list" | "edit_list_entries" => {
            Scope::Lists
        }
        "update_me" => Scope::Account,
        "create_import" | "list_imports" | "get_import" | "list_import_rows" | "confirm_import"
        | "cancel_import" | "create_export" | "get_export" => Scope::Portability,
        "list_webhooks"
        | "get_webhook"
        | "delete_webhook"
        | "test_webhook"
        | "list_webhook_deliveries" => Scope::Webhooks,
        _ => return None,
    })
}

/// The operations that take a token and that no app may call: only first-party sign-in (a
/// password typed into Filmlog's own clients) reaches them.
pub const FIRST_PARTY: &[&str] = &[
    "logout",
    "reauthenticate",
    "delete_me",
    "change_email",
    "resend_email_verification",
    "change_password",
    "list_sessions",
    "end_other_sessions",
    "end_session",
    "get_two_factor",
    "begin_two_factor",
    "confirm_two_factor",
    "disable_two_factor",
    "regenerate_recovery_codes",
    "list_apps",
    "create_app",
    "get_app",
    "update_app",
    "delete_app",
    "rotate_app_secret",
    "list_authorized_apps",
    "revoke_authorized_app",
    "moderate",
    "moderation_log",
    "list_reports",
    "merge_film",
    "merge_person",
    "split_person",
    // The shared catalog is the admins'.
    "create_film",
    "update_film",
    // Sending a member's events to a new address takes their password (an app never has it).
    "create_webhook",
    "update_webhook",
    "list_unverified_films",
];

/// The name of the OAuth 2 security scheme in the spec.
pub const SCHEME: &str = "oauth2";

/// Adds the `oauth2` security scheme (authorization code with PKCE; the device grant is in its
/// description) and, on every operation an app may call, the requirement of its scope.
pub struct OAuthScopes;

impl utoipa::Modify for OAuthScopes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            AuthorizationCode, Flow, OAuth2, Scopes as SpecScopes, SecurityRequirement,
            SecurityScheme,
        };
        let scopes =
            SpecScopes::from_iter(Scope::ALL.into_iter().map(|s| (s.as_str(), s.describe())));
        let flow = AuthorizationCode::with_refresh_url(
            "/oauth/authorize",
            "/oauth/token",
            scopes,
            "/oauth/token",
        );
        let mut scheme = OAuth2::new([Flow::AuthorizationCode(flow)]);
        scheme.description = Some(
            "Third-party apps: the authorization code grant with PKCE (S256), refresh tokens that \
             rotate, revocation at /oauth/revoke (RFC 7009) and the device authorization grant \
             (RFC 8628) at /oauth/device/code for devices without a browser. Server metadata: \
             /.well-known/oauth-authorization-server. An app's token may call an operation only \
             when the operation lists this scheme with a scope the member granted; otherwise 403 \
             `insufficient_scope`."
                .to_owned(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(SCHEME, SecurityScheme::OAuth2(scheme));
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut refusals = Refusals {
            known: components.responses.clone(),
            added: Vec::new(),
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                if !takes_token(op) {
                    continue;
                }
                document_refusal(&mut op.responses, &mut refusals);
                let Some(scope) = op.operation_id.as_deref().and_then(scope_of) else {
                    continue;
                };
                if let Some(security) = op.security.as_mut() {
                    security.push(SecurityRequirement::new(SCHEME, [scope.as_str()]));
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, response) in refusals.added {
            components.responses.insert(name, response.into());
        }
    }
}

/// The shared responses, and the combined 403s made for operations that had a 403 of their own.
struct Refusals {
    known: std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    >,
    added: Vec<(String, utoipa::openapi::response::Response)>,
}

const INSUFFICIENT_SCOPE: &str = "InsufficientScope";

/// Documents the 403 `insufficient_scope` of an operation that takes a token: the shared
/// response, or, where the operation has a 403 of its own, one that names both.
fn document_refusal(responses: &mut utoipa::openapi::Responses, refusals: &mut Refusals) {
    use utoipa::openapi::{Ref, RefOr};
    let name = match responses.responses.get("403") {
        None => INSUFFICIENT_SCOPE.to_owned(),
        Some(RefOr::Ref(r)) => {
            let own = r.ref_location.trim_start_matches("#/components/responses/");
            let combined = format!("{own}Or{INSUFFICIENT_SCOPE}");
            if !refusals.added.iter().any(|(n, _)| *n == combined) {
                let description = |name: &str| match refusals.known.get(name) {
                    Some(RefOr::T(res)) => res.description.clone(),
                    _ => String::new(),
                };
                let mut response = match refusals.known.get(own) {
                    Some(RefOr::T(res)) => res.clone(),
                    _ => return,
                };
                response.description = format!(
                    "{}; or {}",
                    description(own),
                    description(INSUFFICIENT_SCOPE)
                );
                refusals.added.push((combined.clone(), response));
            }
            combined
        }
        // An inline 403 says what it says.
        Some(RefOr::T(_)) => return,
    };
    responses
        .responses
        .insert("403".to_owned(), RefOr::Ref(Ref::from_response_name(name)));
}

/// Whether an operation takes a token (its security names the `bearer` scheme).
fn takes_token(op: &utoipa::openapi::path::Operation) -> bool {
    op.security.iter().flatten().any(|r| {
        serde_json::to_value(r)
            .ok()
            .is_some_and(|v| v.get("bearer").is_some())
    })
}

/// Every operation of the document that may take a token, with its method and path.
fn operations(
    api: &utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (Method, &str, &utoipa::openapi::path::Operation)> {
    api.paths.paths.iter().flat_map(|(path, item)| {
        [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ]
        .into_iter()
        .filter_map(move |(method, op)| op.as_ref().map(|op| (method, path.as_str(), op)))
    })
}

/// What an app's token needs for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Scope(Scope),
    /// No app may call it.
    FirstParty,
}

/// The scope every operation of the spec needs, by method and route pattern, read from the spec.
#[derive(Debug, Default)]
pub struct ScopeTable(HashMap<(Method, String), Scope>);

impl ScopeTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let mut table = HashMap::new();
        for (method, path, op) in operations(api) {
            let scope = op.security.iter().flatten().find_map(|requirement| {
                let value = serde_json::to_value(requirement).ok()?;
                let scopes = value.get(SCHEME)?.as_array()?;
                scopes.first()?.as_str().and_then(Scope::parse)
            });
            if let Some(scope) = scope {
                table.insert((method, path.to_owned()), scope);
            }
        }
        ScopeTable(table)
    }

    /// What an app needs for `method` on the route `pattern`.
    pub fn needs(&self, method: &Method, pattern: &str) -> Needs {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        match self.0.get(&(method.clone(), pattern.to_owned())) {
            Some(scope) => Needs::Scope(*scope),
            None => Needs::FirstParty,
        }
    }
}

/// `Ok` when an app's token with `granted` may call the operation the router matched for `req`;
/// otherwise 403 `insufficient_scope`, with the scope needed in `WWW-Authenticate`.
pub fn check(req: &HttpRequest, granted: Scopes) -> Result<(), ApiError> {
    let needs = match (
        req.app_data::<actix_web::web::Data<ScopeTable>>(),
        req.match_pattern(),
    ) {
        (Some(table), Some(pattern)) if pattern.starts_with(API_PREFIX) => {
            table.needs(req.method(), &pattern)
        }
        _ => Needs::FirstParty,
    };
    match needs {
        Needs::Scope(scope) if granted.contains(scope) => Ok(()),
        Needs::Scope(scope) => Err(ApiError::insufficient_scope(
            Some(scope),
            format!(
                "this app's token lacks the `{scope}` scope this operation needs; the member must \
                 authorise the app again with it"
            ),
        )),
        Needs::FirstParty => Err(ApiError::insufficient_scope(
            None,
            "no app may do this: only Filmlog's own sign-in can",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_operation_is_both_scoped_and_first_party() {
        for id in FIRST_PARTY {
            assert_eq!(scope_of(id), None, "{id}");
        }
    }

    #[test]
    fn every_operation_with_a_token_is_in_one_list() {
        let api = crate::app::openapi();
        let table = ScopeTable::from_openapi(&api);
        let mut seen = 0;
        for (method, path, op) in operations(&api).filter(|(_, _, op)| takes_token(op)) {
            seen += 1;
            let id = op.operation_id.clone().unwrap_or_default();
            let listed = scope_of(&id).is_some() || FIRST_PARTY.contains(&id.as_str());
            assert!(listed, "{method} {path} ({id}) is in neither list");
            let expected = scope_of(&id).map_or(Needs::FirstParty, Needs::Scope);
            assert_eq!(table.needs(&method, path), expected, "{method} {path}");
        }
        assert!(seen > 100, "{seen}");
    }
}
