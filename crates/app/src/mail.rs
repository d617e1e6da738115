//! Mail members receive: the settings links are built from, and each message's subject and bodies
//! (plain text and HTML), rendered when it is queued. The one-time token in a link is the only secret
//! a mail ever carries.

use std::fmt::Write as _;
use std::time::Duration;

/// What mail is built from.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Where the links in mail point: the pages that take a token (`/account/verify-email`,
    /// `/account/reset-password`) are served under it. No trailing slash.
    pub web_base: String,
    /// How long a verification link works.
    pub verify_for: Duration,
    /// How long a password-reset link works.
    pub reset_for: Duration,
    /// Mail of one kind to one address (or about one member) within an hour, at most.
    pub per_address_per_hour: i64,
}

impl MailSettings {
    pub fn new(web_base: impl Into<String>) -> Self {
        MailSettings {
            web_base: web_base.into().trim_end_matches('/').to_owned(),
            verify_for: Duration::from_secs(24 * 3600),
            reset_for: Duration::from_secs(3600),
            per_address_per_hour: 3,
        }
    }
}

/// What a mail is, as the outbox records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerifyEmail,
    RegistrationAttempt,
    PasswordReset,
    PasswordChanged,
    TwoFactorChanged,
    NewSignIn,
    ConfirmEmailChange,
    EmailChanged,
    EmailChangeUndone,
    WebhookAdded,
    AppAuthorized,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::RegistrationAttempt => "registration_attempt",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::TwoFactorChanged => "two_factor_changed",
            MailKind::NewSignIn => "new_sign_in",
            MailKind::ConfirmEmailChange => "confirm_email_change",
            MailKind::EmailChanged => "email_changed",
            MailKind::EmailChangeUndone => "email_change_undone",
            MailKind::WebhookAdded => "webhook_added",
            MailKind::AppAuthorized => "app_authorized",
        }
    }
}

/// A message ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub kind: MailKind,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `s` with `& < > " '` escaped for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "24 hours", "1 hour", "30 minutes".
fn lifetime(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    let (n, unit) = if minutes >= 60 && minutes.is_multiple_of(60) {
        (minutes / 60, "hour")
    } else {
        (minutes.max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A message whose paragraphs are `paragraphs` and, when given, a call to action `(label, url)`
/// after the first one; the same words in both bodies.
fn compose(
    kind: MailKind,
    subject: String,
    greeting: &str,
    paragraphs: &[String],
    action: Option<(&str, &str)>,
) -> Rendered {
    let mut text = format!("{greeting}\n\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5; max-width: 36em\">\n<p>{}</p>\n",
        escape_html(&subject),
        escape_html(greeting)
    );
    for (i, p) in paragraphs.iter().enumerate() {
        let _ = write!(text, "{p}\n\n");
        let _ = writeln!(html, "<p>{}</p>", escape_html(p));
        if i == 0
            && let Some((label, url)) = action
        {
            let _ = write!(text, "{label}:\n{url}\n\n");
            let _ = writeln!(
                html,
                "<p><a href=\"{u}\" style=\"font-weight: bold\">{}</a></p>\n\
                 <p style=\"font-size: small\">Or paste this address into your browser: {u}</p>",
                escape_html(label),
                u = escape_html(url)
            );
        }
    }
    text.push_str("— Filmlog\n");
    html.push_str("<p>— Filmlog</p>\n</body></html>\n");
    Rendered {
        kind,
        subject,
        text,
        html,
    }
}

/// The link that verifies an address.
pub fn verify_email(settings: &MailSettings, username: &str, token: &str) -> Rendered {
    let url = format!("{}/account/verify-email?token={token}", settings.web_base);
    compose(
        MailKind::VerifyEmail,
        "Confirm your email address for Filmlog".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("Please confirm that this address belongs to the Filmlog account {username}."),
            format!(
                "The link works once, for {}. If you did not create the account {username}, do \
                 not open it: ignore this message, and nothing happens.",
                lifetime(settings.verify_for)
            ),
        ],
        Some(("Confirm your address", &url)),
    )
}

/// To the owner of an address someone tried to register again (registration answers as if it
/// worked, so it tells the person registering nothing).
pub fn registration_attempt(username: &str) -> Rendered {
    compose(
        MailKind::RegistrationAttempt,
        "Someone tried to create a Filmlog account with your address".to_owned(),
        &format!("Hello {username},"),
        &[
            "Someone just tried to create a new Filmlog account with this email address, which \
             already belongs to your account. It stays yours: no other account can verify it."
                .to_owned(),
            "If it was you, sign in with your username instead; if you forgot your password, \
             ask for a reset from the sign-in screen. If it was not you, you need not do anything."
                .to_owned(),
        ],
        None,
    )
}

/// The link that sets a new password.
pub fn password_reset(settings: &MailSettings, username: &str, token: &str) -> Rendered {
    let url = format!("{}/account/reset-password?token={token}", settings.web_base);
    compose(
        MailKind::PasswordReset,
        "Reset your Filmlog password".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("Someone asked to reset the password of the Filmlog account {username}."),
            format!(
                "The link works once, for {}. Setting a new password signs you out everywhere. \
                 If you did not ask for this, ignore this message: your password stays as it is.",
                lifetime(settings.reset_for)
            ),
        ],
        Some(("Choose a new password", &url)),
    )
}

/// A notice that the password changed (by a reset or from a signed-in session).
pub fn password_changed(username: &str, how: &str) -> Rendered {
    compose(
        MailKind::PasswordChanged,
        "Your Filmlog password was changed".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("The password of your Filmlog account {username} was just changed ({how})."),
            "If you did this, you need not do anything. If you did not, reset your password now \
             from the sign-in screen: someone may know it."
                .to_owned(),
        ],
        None,
    )
}

/// The link that confirms a new address (sent to it).
pub fn confirm_email_change(settings: &MailSettings, username: &str, token: &str) -> Rendered {
    let url = format!(
        "{}/account/confirm-email-change?token={token}",
        settings.web_base
    );
    compose(
        MailKind::ConfirmEmailChange,
        "Confirm your new email address for Filmlog".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("The Filmlog account {username} asked to use this address from now on."),
            "The link works once, for 24 hours; the address changes only when it is opened. If \
             you did not ask for this, ignore this message."
                .to_owned(),
        ],
        Some(("Use this address", &url)),
    )
}

/// To the old address after a change, with the link that undoes it.
pub fn email_changed(settings: &MailSettings, username: &str, new: &str, token: &str) -> Rendered {
    let url = format!(
        "{}/account/undo-email-change?token={token}",
        settings.web_base
    );
    compose(
        MailKind::EmailChanged,
        "The email address of your Filmlog account was changed".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("The email address of your Filmlog account {username} is now {new}."),
            "If you did this, you need not do anything. If you did not, undo it within 7 days: \
             your address comes back and every session ends."
                .to_owned(),
        ],
        Some(("Undo the change", &url)),
    )
}

/// To the restored address after an undone change.
pub fn email_change_undone(username: &str) -> Rendered {
    compose(
        MailKind::EmailChangeUndone,
        "Your Filmlog email address is back".to_owned(),
        &format!("Hello {username},"),
        &[
            "The change of your email address was undone: this address is your account's again, \
             and every session was ended."
                .to_owned(),
            "Whoever changed it may know your password: reset it now from the sign-in screen."
                .to_owned(),
        ],
        None,
    )
}

/// A notice that a webhook endpoint was added (it sends the account's events elsewhere).
pub fn webhook_added(username: &str, url: &str) -> Rendered {
    compose(
        MailKind::WebhookAdded,
        "A webhook was added to your Filmlog account".to_owned(),
        &format!("Hello {username},"),
        &[
            format!("Your Filmlog account {username} now sends its events to {url}."),
            "If you did not add it, delete it from your account settings and reset your password."
                .to_owned(),
        ],
        None,
    )
}

/// A notice that the member let a third-party app act for them.
pub fn app_authorized(username: &str, app: &str, scopes: &[&str]) -> Rendered {
    compose(
        MailKind::AppAuthorized,
        format!("{app} can now use your Filmlog account"),
        &format!("Hello {username},"),
        &[
            format!("You allowed the app {app} to use your Filmlog account {username}. It may:"),
            scopes.join("; "),
            "If this was not you, revoke it under authorised apps in your account settings and \
             change your password."
                .to_owned(),
        ],
        None,
    )
}

/// A notice that two-factor sign-in was turned on or off.
pub fn two_factor_changed(username: &str, on: bool) -> Rendered {
    let (subject, what) = if on {
        (
            "Two-factor sign-in is on for your Filmlog account",
            "Two-factor sign-in was turned on: signing in now takes your password and a code from \
             your authenticator app (or one of your recovery codes).",
        )
    } else {
        (
            "Two-factor sign-in is off for your Filmlog account",
            "Two-factor sign-in was turned off: your password alone signs in now.",
        )
    };
    compose(
        MailKind::TwoFactorChanged,
        subject.to_owned(),
        &format!("Hello {username},"),
        &[
            what.to_owned(),
            "If you did not do this, reset your password now from the sign-in screen.".to_owned(),
        ],
        None,
    )
}

/// A notice of a sign-in from a network and user agent the member never signed in from before.
pub fn new_sign_in(username: &str, user_agent: &str, network: &str, at: &str) -> Rendered {
    compose(
        MailKind::NewSignIn,
        "New sign-in to your Filmlog account".to_owned(),
        &format!("Hello {username},"),
        &[
            format!(
                "Your Filmlog account {username} was signed in to at {at} from a device we had not \
                 seen: {user_agent}, on the network {network}."
            ),
            "If this was you, you need not do anything. If not, reset your password and end your \
             other sessions from your account settings."
                .to_owned(),
        ],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MailSettings {
        MailSettings::new("https://filmlog.example/")
    }

    #[test]
    fn a_verification_carries_its_link_and_lifetime_in_both_bodies() {
        let m = verify_email(&settings(), "ana", "tok-123");
        let url = "https://filmlog.example/account/verify-email?token=tok-123";
        assert!(m.text.contains(url), "{}", m.text);
        assert!(m.html.contains(&format!("href=\"{url}\"")), "{}", m.html);
        assert!(m.text.contains("for 24 hours"), "{}", m.text);
        assert!(m.text.contains("Hello ana,"));
    }

    #[test]
    fn a_reset_link_works_for_an_hour_and_names_the_account() {
        let m = password_reset(&settings(), "ana", "t");
        assert!(m.text.contains("for 1 hour."), "{}", m.text);
        assert!(m.text.contains("account ana"), "{}", m.text);
        assert!(m.text.contains("/account/reset-password?token=t\n"));
    }

    #[test]
    fn html_is_escaped() {
        let m = password_changed("<b>&", "x");
        assert!(m.html.contains("&lt;b&gt;&amp;"), "{}", m.html);
        assert!(!m.html.contains("<b>&"), "{}", m.html);
        assert_eq!(escape_html("\"'"), "&quot;&#39;");
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(lifetime(Duration::from_secs(3600)), "1 hour");
        assert_eq!(lifetime(Duration::from_secs(7200)), "2 hours");
        assert_eq!(lifetime(Duration::from_secs(90 * 60)), "90 minutes");
        assert_eq!(lifetime(Duration::from_secs(10)), "1 minute");
    }

    #[test]
    fn notices_carry_no_link() {
        for m in [
            registration_attempt("ana"),
            password_changed("ana", "a reset"),
        ] {
            assert!(!m.text.contains("http"), "{}", m.text);
            assert!(!m.html.contains("href"), "{}", m.html);
        }
    }
}
