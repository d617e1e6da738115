//! The application: routes, OpenAPI, docs UI, the problem+json fallbacks and the request middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_actix_web::{AppExt, scope, service_config::ServiceConfig};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{FieldError, Problem, ProblemResponses, RuleCodes};
use crate::extract::path_error;
use crate::handlers::{
    activity, apps, auth, comments, film_admin, film_reviews, films, follows, health, lists,
    log_entries, me, member_lists, members, moderation, notifications, people, portability,
    recovery, relationship, review_likes, safety, search, sessions, two_factor, viewer_state,
    webhooks,
};
use crate::routes::{API_PREFIX, KnownRoutes, SPEC_PATH};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Filmlog API",
        description = "Log the films you watch, rate and review them, follow other members and read their activity.\n\n\
            Every error is RFC 9457 `application/problem+json` with a stable `code`. Send `Authorization: Bearer <access token>` \
            where an operation lists the `bearer` security scheme.\n\n\
            **Rate limits.** Requests spend from budgets per client IP and per member, separately for reads, \
            searches (`GET /films?q=`, `GET /lists?q=`), writes and authentication (GCRA: a budget of N per period refills \
            evenly and may be spent at once). Defaults: reads 1,200 a minute per IP and per member; searches \
            120; writes 600 per IP and 300 per member; login, refresh and registration 30 a minute per IP; \
            registrations 10 an hour per IP. Wrong passwords (at login, or where the current password \
            is asked) lock the account for the client's network after 5 in a row for 1 s, doubling up \
            to 15 minutes; other networks are only slowed (after 10 failures from anywhere, each check \
            of the account waits up to 2 s), so nobody can lock an owner out. Every `/api/v1` response carries `RateLimit-Limit`, \
            `RateLimit-Remaining` and `RateLimit-Reset` (seconds) for its tightest budget; a refused \
            request is `429` (`rate_limited`, `login_locked`, `password_locked`) with `Retry-After`.\n\n\
            **Caching.** Every `GET` is also answered to `HEAD`, carries an `ETag` and answers `304` to a \
            matching `If-None-Match`. Anonymous catalog reads (`/films`, `/films/{slug}` and its \
            `statistics`) are `Cache-Control: public, max-age=60`; other anonymous reads (a film's \
            reviews and lists among them) `public, no-cache`; reads with a token carry the viewer's own \
            state and are `private, no-cache`, their ETag changing when that state does; reads vary by \
            `Authorization`. Writes, errors and tokens are `no-store`.\n\n\
            **Your own state.** With a token, films, log entries and members carry `viewer`: your \
            relationship with each, read in the same query as the page.\n\n\
            **Privacy.** Private accounts take follow requests and show non-followers their profile header \
            only; log entries are `public`, `followers` or `private`; a private watchlist is its owner's. \
            What is hidden from you answers 404, as if it did not exist, and stays out of every list; \
            film statistics still count it, and show a film's average rating and histogram only from \
            five ratings, so that no one member's rating can be told from them.\n\n\
            **Browsers.** Pages from the origins in the server's `FILMLOG_CORS_ORIGINS` may call the API: \
            preflights are answered on every route, credentials are off (tokens go in `Authorization`), and \
            `ETag`, `Location`, `Retry-After`, `RateLimit-*`, `X-Request-Id` and `Idempotent-Replayed` are \
            exposed. A request from any other foreign origin is `403` `cors_origin_not_allowed`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "auth", description = "Accounts, login and tokens"),
        (name = "me", description = "The caller's own account"),
        (name = "members", description = "Members: profiles, follows, diaries, reviews, lists, activity"),
        (name = "films", description = "The catalog: search, films with credits and statistics, reviews"),
        (name = "search", description = "One search across films, people, members and lists, with an autocomplete mode"),
        (name = "people", description = "People credited on films: filmographies, and the admins' merges and splits"),
        (name = "relationships", description = "Your state with a film: watched, liked, watchlist, rating"),
        (name = "log entries", description = "Diary entries and reviews; review likes"),
        (name = "lists", description = "Lists of films, ranked or in the order their owner chose, with notes; entries are edited in atomic batches under If-Match"),
        (name = "comments", description = "Comments on log entries"),
        (name = "safety", description = "Blocks and mutes: a block hides each side from the other (the blocked member gets 404 for everything of the blocker's; the blocker still opens the blocked member's page, to unblock) and stops follows, likes and comments between them; a mute only keeps a member's activity out of your feed"),
        (name = "apps", description = "Third-party apps: register OAuth 2.1 clients, see and revoke the apps you authorised"),
        (name = "webhooks", description = "Signed, durable deliveries of what happens to your things to a URL of yours (Standard Webhooks)"),
        (name = "portability", description = "Bring a Letterboxd history in (durable import jobs with dry runs), take everything out (export ZIPs)"),
        (name = "moderation", description = "For admins: the queue of reported subjects, moderation actions and the append-only moderation log"),
        (name = "health", description = "Probes for orchestrators"),
    ),
    components(
        schemas(Problem, FieldError, filmlog_jobs::portability::document::ExportDocument),
    ),
    modifiers(&BearerAuth, &RuleCodes, &ProblemResponses)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".to_owned());
        scheme.description = Some(
            "A 15-minute access token from /auth/login, /auth/register or /auth/refresh".to_owned(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every read decides its viewer (`auth::Viewing`): a read that does not need a token still takes
/// one, answers as that member, and refuses a bad one. Documented on each such operation here, so a
/// new read cannot leave it out.
struct ReadsKnowTheirViewer;

impl utoipa::Modify for ReadsKnowTheirViewer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{Ref, RefOr};
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(op) = item.get.as_mut().filter(|_| path.starts_with(API_PREFIX)) else {
                continue;
            };
            if op.security.is_none() {
                op.security = Some(vec![
                    SecurityRequirement::default(),
                    SecurityRequirement::new("bearer", Vec::<String>::new()),
                ]);
            }
            op.responses
                .responses
                .entry("401".to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("BadToken")));
        }
    }
}

/// Every read has an ETag and answers 304 to a matching `If-None-Match`, and HEAD
/// ([`crate::middleware::http_cache`]): documented on each, so a new read cannot leave it out.
struct ConditionalReads;

impl utoipa::Modify for ConditionalReads {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Parameter, ParameterIn};
        use utoipa::openapi::response::ResponseBuilder;
        use utoipa::openapi::{ObjectBuilder, RefOr, Type};
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(op) = item.get.as_mut().filter(|_| path.starts_with(API_PREFIX)) else {
                continue;
            };
            op.responses
                .responses
                .entry("304".to_owned())
                .or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new()
                            .description("Unchanged since the ETag in `If-None-Match`")
                            .build(),
                    )
                });
            let params = op.parameters.get_or_insert_with(Vec::new);
            if !params
                .iter()
                .any(|p| matches!(p, RefOr::T(p) if p.name.eq_ignore_ascii_case("if-none-match")))
            {
                let mut param = Parameter::new("If-None-Match");
                param.parameter_in = ParameterIn::Header;
                param.required = utoipa::openapi::Required::False;
                param.description = Some(
                    "ETags of representations the client holds: 304 when one is current".to_owned(),
                );
                param.schema = Some(RefOr::T(
                    ObjectBuilder::new().schema_type(Type::String).into(),
                ));
                params.push(RefOr::T(param));
            }
        }
    }
}

/// Every operation may answer 429: documented on each, so a new one cannot leave it out.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, RefOr};
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with(API_PREFIX) {
                continue;
            }
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                op.responses
                    .responses
                    .entry("429".to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name("TooManyRequests")));
            }
        }
    }
}

/// Every documented route.
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::live).service(health::ready).service(
        scope(API_PREFIX)
            // The hottest routes first: actix tries them in order, and a route with a parameter costs a
            // regex match each time it is passed over.
            .service(films::get_film)
            .service(film_reviews::film_reviews)
            .service(activity::feed)
            .service(films::list_films)
            .service(log_entries::get_log_entry)
            .service(review_likes::like_review)
            .service(log_entries::create_log_entry)
            .service(auth::register)
            .service(auth::login)
            .service(auth::refresh)
            .service(auth::logout)
            .service(recovery::resend_email_verification)
            .service(recovery::confirm_email_verification)
            .service(recovery::request_password_reset)
            .service(recovery::confirm_password_reset)
            .service(recovery::change_email)
            .service(recovery::confirm_email_change)
            .service(recovery::undo_email_change)
            .service(two_factor::get_two_factor)
            .service(two_factor::begin_two_factor)
            .service(two_factor::confirm_two_factor)
            .service(two_factor::disable_two_factor)
            .service(two_factor::regenerate_recovery_codes)
            .service(two_factor::reauthenticate)
            .service(two_factor::login_two_factor)
            .service(me::get_me)
            .service(me::update_me)
            .service(me::change_password)
            .service(me::delete_me)
            .service(viewer_state::my_films)
            .service(viewer_state::my_relationships)
            .service(sessions::list_sessions)
            .service(sessions::end_other_sessions)
            .service(sessions::end_session)
            .service(apps::create_app)
            .service(apps::list_apps)
            .service(apps::get_app)
            .service(apps::update_app)
            .service(apps::delete_app)
            .service(apps::rotate_app_secret)
            .service(apps::list_authorized_apps)
            .service(apps::revoke_authorized_app)
            .service(members::get_member)
            .service(follows::follow)
            .service(follows::unfollow)
            .service(follows::followers)
            .service(follows::following)
            .service(follows::follow_requests)
            .service(follows::approve_follow_request)
            .service(follows::deny_follow_request)
            .service(safety::block)
            .service(safety::unblock)
            .service(safety::mute)
            .service(safety::unmute)
            .service(safety::list_blocks)
            .service(safety::list_mutes)
            .service(moderation::create_report)
            .service(moderation::list_reports)
            .service(moderation::moderate)
            .service(moderation::moderation_log)
            .service(member_lists::diary)
            .service(member_lists::member_reviews)
            .service(member_lists::watchlist)
            .service(member_lists::liked_films)
            .service(activity::member_activity)
            .service(film_admin::create_film)
            .service(film_admin::update_film)
            .service(films::get_film_statistics)
            .service(relationship::get_relationship)
            .service(relationship::put_watched)
            .service(relationship::delete_watched)
            .service(relationship::put_like)
            .service(relationship::delete_like)
            .service(relationship::put_watchlist)
            .service(relationship::delete_watchlist)
            .service(relationship::put_rating)
            .service(relationship::delete_rating)
            .service(log_entries::update_log_entry)
            .service(log_entries::delete_log_entry)
            .service(review_likes::unlike_review)
            .service(review_likes::list_review_likes)
            .service(comments::list_comments)
            .service(comments::create_comment)
            .service(comments::update_comment)
            .service(comments::delete_comment)
            .service(lists::create_list)
            .service(lists::get_list)
            .service(lists::list_entries)
            .service(lists::update_list)
            .service(lists::delete_list)
            .service(lists::edit_entries)
            .service(lists::member_lists)
            .service(lists::like_list)
            .service(lists::unlike_list)
            .service(lists::list_likes)
            .service(lists::clone_list)
            .service(lists::film_lists)
            .service(lists::search_lists)
            .service(lists::list_comments)
            .service(lists::comment_on_list)
            .service(lists::delete_list_comment)
            .service(notifications::list_notifications)
            .service(notifications::unread_count)
            .service(notifications::mark_read)
            .service(notifications::subscribe_entry)
            .service(notifications::unsubscribe_entry)
            .service(notifications::subscribe_list)
            .service(notifications::unsubscribe_list)
            .service(notifications::last_activities)
            .service(notifications::my_changes)
            .service(notifications::live_events)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::get_webhook)
            .service(webhooks::update_webhook)
            .service(webhooks::delete_webhook)
            .service(webhooks::test_webhook)
            .service(webhooks::list_deliveries)
            .service(portability::create_import)
            .service(portability::list_imports)
            .service(portability::get_import)
            .service(portability::list_import_rows)
            .service(portability::confirm_import)
            .service(portability::cancel_import)
            .service(portability::create_export)
            .service(portability::get_export)
            .service(portability::download_export)
            .service(film_admin::merge_film)
            .service(film_admin::list_unverified_films)
            .service(people::get_person)
            .service(people::merge_person)
            .service(people::split_person)
            .service(search::search_everything),
    );
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut api = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    // These walk the operations, which exist only once the routes are in.
    ReadsKnowTheirViewer.modify(&mut api);
    RateLimited.modify(&mut api);
    ConditionalReads.modify(&mut api);
    // After the reads have their security requirements.
    crate::scopes::OAuthScopes.modify(&mut api);
    api
}

/// The whole application for one worker.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let api = openapi();
    let known = KnownRoutes::from_openapi(&api);
    let scopes = crate::scopes::ScopeTable::from_openapi(&api);
    // The spec and docs are registered before the API scope, which would otherwise claim
    // /api/v1/openapi.json.
    App::new()
        .service(SwaggerUi::new("/docs/{_:.*}").url(SPEC_PATH, api))
        .route(
            "/docs",
            web::get().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/docs/"))
                    .finish()
            }),
        )
        .service(
            web::resource(crate::pages::VERIFY_PATH)
                .app_data(web::PayloadConfig::new(crate::pages::FORM_MAX))
                .route(web::get().to(crate::pages::verify_form))
                .route(web::post().to(crate::pages::verify)),
        )
        .service(
            web::resource(crate::pages::CHANGE_PATH)
                .app_data(web::PayloadConfig::new(crate::pages::FORM_MAX))
                .route(web::get().to(crate::pages::change_form))
                .route(web::post().to(crate::pages::change)),
        )
        .service(
            web::resource(crate::pages::UNDO_PATH)
                .app_data(web::PayloadConfig::new(crate::pages::FORM_MAX))
                .route(web::get().to(crate::pages::undo_form))
                .route(web::post().to(crate::pages::undo)),
        )
        .service(
            web::resource(crate::pages::RESET_PATH)
                .app_data(web::PayloadConfig::new(crate::pages::FORM_MAX))
                .route(web::get().to(crate::pages::reset_form))
                .route(web::post().to(crate::pages::reset)),
        )
        .route(
            crate::oauth::METADATA_PATH,
            web::get().to(crate::oauth::metadata),
        )
        .service(
            web::scope("/oauth")
                .app_data(web::PayloadConfig::new(crate::oauth::FORM_MAX))
                .route("/token", web::post().to(crate::oauth::token))
                .route("/revoke", web::post().to(crate::oauth::revoke))
                .route("/device/code", web::post().to(crate::oauth::device_code))
                .route("/authorize", web::get().to(crate::oauth::authorize_page))
                .route(
                    "/authorize",
                    web::post().to(crate::oauth::authorize_decision),
                )
                .route("/device", web::get().to(crate::oauth::device_page))
                .route("/device", web::post().to(crate::oauth::device_decision))
                .route("/sign-in", web::post().to(crate::oauth::sign_in))
                .route(
                    "/sign-in/two-factor",
                    web::post().to(crate::oauth::sign_in_two_factor),
                ),
        )
        .into_utoipa_app()
        .configure(routes)
        .into_app()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(known))
        .app_data(web::Data::new(scopes))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .default_service(web::to(crate::routes::fallback))
        .wrap(from_fn(crate::middleware::replication::middleware))
        .wrap(from_fn(crate::middleware::ratelimit::middleware))
        .wrap(from_fn(crate::middleware::cors::middleware))
        .wrap(from_fn(crate::middleware::http_cache::middleware))
        .wrap(from_fn(crate::middleware::limits::uri_limit))
        .wrap(from_fn(crate::middleware::request_context::request_context))
        .wrap(from_fn(crate::middleware::metrics::middleware))
        // Outermost: nothing before it has seen the raw path or an unknown method.
        .wrap(from_fn(crate::middleware::canonical::middleware))
}
