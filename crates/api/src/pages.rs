//! The pages links in mail open (`FILMLOG_PUBLIC_URL` points here unless a web client serves
//! them): `/account/verify-email`, `/account/reset-password`, `/account/confirm-email-change` and
//! `/account/undo-email-change`. Each shows a form that posts the
//! link's token back, so opening a link (a mail scanner fetching it, a preview) changes nothing;
//! the post does what `POST /api/v1/auth/email-verification/confirm` and
//! `POST /api/v1/auth/password-reset/confirm` do (the same functions), within the `auth` budget. Plain server-rendered HTML, no script; never framed,
//! never cached, and the token in the address is never sent on as a `Referer`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use filmlog_app::mail::escape_html;
use filmlog_app::ops::recovery::TOKEN_MAX;

use crate::error::ApiError;
use crate::state::AppState;

pub const VERIFY_PATH: &str = "/account/verify-email";
pub const RESET_PATH: &str = "/account/reset-password";
pub const CHANGE_PATH: &str = "/account/confirm-email-change";
pub const UNDO_PATH: &str = "/account/undo-email-change";

/// The largest form these pages accept.
pub const FORM_MAX: usize = 4096;

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    document(status, title, body, "form-action 'self'; ", "no-referrer")
}

/// A page of the OAuth consent flow: as [`page`], except that its forms may end in a redirect to
/// the app (a browser applies `form-action` to the redirects after a post too), and that its
/// posts carry the page's origin (checked: no other site may consent for a member), while no
/// other site is ever sent a `Referer`.
pub(crate) fn consent_page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    document(status, title, body, "", "same-origin")
}

fn document(
    status: StatusCode,
    title: &str,
    body: &str,
    form_action: &str,
    referrer: &'static str,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, referrer))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; {form_action}frame-ancestors 'none'; base-uri 'none'"
            ),
        ))
        .body(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t} · Filmlog</title></head>\
             <body style=\"font-family: sans-serif; max-width: 30em; margin: 3em auto; line-height: 1.5\">\
             <h1>{t}</h1>\n{body}\n</body></html>\n",
            t = escape_html(title)
        ))
}

/// The `token` of a query string or form body (at most one, at most 128 characters).
fn token_of(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty() && t.len() <= TOKEN_MAX)
}

fn field(encoded: &[u8], name: &str) -> String {
    form_urlencoded::parse(encoded)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn bad_link() -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        "This link does not work",
        "<p>It was used already, has expired, or was copied incompletely. Ask for a new one from \
         the app.</p>",
    )
}

/// The page for what the confirmation answered instead of success.
fn trouble(error: &ApiError) -> HttpResponse {
    let status = error.status();
    match error.code() {
        "invalid_mail_token" => bad_link(),
        "email_taken" => page(
            status,
            "Address in use",
            "<p>Another account verified this address first.</p>",
        ),
        "validation_failed" => page(
            status,
            "Choose another password",
            &format!(
                "<p>{}</p><p>Go back and try again.</p>",
                escape_html(error.detail())
            ),
        ),
        _ if status.is_server_error() => page(
            status,
            "Please try again",
            "<p>Something went wrong on our side; nothing was changed. Try again in a minute.</p>",
        ),
        _ => page(
            status,
            "Please try again",
            &format!("<p>{}</p>", escape_html(error.detail())),
        ),
    }
}

fn form(action: &str, token: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">{fields}\
         <p><button type=\"submit\">{button}</button></p></form>",
        escape_html(token)
    )
}

/// `GET /account/verify-email?token=…`: a button that confirms.
pub async fn verify_form(req: HttpRequest) -> HttpResponse {
    match token_of(req.query_string().as_bytes()) {
        None => bad_link(),
        Some(token) => page(
            StatusCode::OK,
            "Confirm your email address",
            &form(VERIFY_PATH, &token, "", "Confirm my address"),
        ),
    }
}

/// `POST /account/verify-email`.
pub async fn verify(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(token) = token_of(&body) else {
        return bad_link();
    };
    match crate::handlers::recovery::verify_address(&state, &token).await {
        Ok(()) => page(
            StatusCode::OK,
            "Address confirmed",
            "<p>Thank you: your email address is verified. You can close this page.</p>",
        ),
        Err(e) => trouble(&e),
    }
}

const PASSWORD_FIELDS: &str = "<p><label>New password (at least 12 characters)<br>\
    <input type=\"password\" name=\"password\" minlength=\"12\" maxlength=\"1024\" \
    autocomplete=\"new-password\" required></label></p>";

/// `GET /account/reset-password?token=…`: the new password's form.
pub async fn reset_form(req: HttpRequest) -> HttpResponse {
    match token_of(req.query_string().as_bytes()) {
        None => bad_link(),
        Some(token) => page(
            StatusCode::OK,
            "Choose a new password",
            &format!(
                "<p>Setting it signs you out everywhere.</p>{}",
                form(RESET_PATH, &token, PASSWORD_FIELDS, "Set my password")
            ),
        ),
    }
}

/// `POST /account/reset-password`.
pub async fn reset(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(token) = token_of(&body) else {
        return bad_link();
    };
    match crate::handlers::recovery::reset_password(&state, &token, &field(&body, "password")).await
    {
        Ok(()) => page(
            StatusCode::OK,
            "Password changed",
            "<p>Your new password is set, and you are signed out everywhere. Sign in with it in \
             the app.</p>",
        ),
        Err(e) => trouble(&e),
    }
}

/// `GET /account/confirm-email-change?token=…`: a button that confirms.
pub async fn change_form(req: HttpRequest) -> HttpResponse {
    match token_of(req.query_string().as_bytes()) {
        None => bad_link(),
        Some(token) => page(
            StatusCode::OK,
            "Use this email address",
            &form(CHANGE_PATH, &token, "", "Use this address"),
        ),
    }
}

/// `POST /account/confirm-email-change`.
pub async fn change(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(token) = token_of(&body) else {
        return bad_link();
    };
    match crate::handlers::recovery::confirm_change(&state, &token).await {
        Ok(()) => page(
            StatusCode::OK,
            "Address changed",
            "<p>Your account uses this address from now on. You can close this page.</p>",
        ),
        Err(e) => trouble(&e),
    }
}

/// `GET /account/undo-email-change?token=…`: a button that undoes.
pub async fn undo_form(req: HttpRequest) -> HttpResponse {
    match token_of(req.query_string().as_bytes()) {
        None => bad_link(),
        Some(token) => page(
            StatusCode::OK,
            "Undo the change of your email address",
            &format!(
                "<p>Your old address comes back, and every session ends.</p>{}",
                form(UNDO_PATH, &token, "", "Undo the change")
            ),
        ),
    }
}

/// `POST /account/undo-email-change`.
pub async fn undo(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let Some(token) = token_of(&body) else {
        return bad_link();
    };
    match crate::handlers::recovery::undo_change(&state, &token).await {
        Ok(()) => page(
            StatusCode::OK,
            "Change undone",
            "<p>This address is your account's again and every session has ended. Now reset your \
             password from the sign-in screen: whoever changed the address may know it.</p>",
        ),
        Err(e) => trouble(&e),
    }
}
