//! Members: the value types of an account and its public profile.

use chrono::{DateTime, Utc};

use crate::ids::MemberId;
use crate::text::{self, TextError};
pub use crate::username::{Username, UsernameError};

/// An email address: one `@`, a non-empty local part, a domain with a dot; at most 254 characters;
/// none of the characters that make a mail header's address more than an address (`<>()[],;:"\`),
/// so mail goes exactly where the stored address says. Stored in Unicode NFKC (so a look-alike is
/// delivered to the address it looks like, and verifies that one), unique by its [`Email::key`] once
/// verified by a link sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email must be an address such as name@example.com")]
    Invalid,
    #[error("email must be at most 254 characters")]
    TooLong,
}

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        if raw.len() > Self::MAX {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = raw.split_once('@').ok_or(EmailError::Invalid)?;
        let bad_char = |c: char| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '@' | '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '"' | '\\'
                )
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty()
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
            || !domain_ok
        {
            return Err(EmailError::Invalid);
        }
        use unicode_normalization::UnicodeNormalization;
        let normal: String = raw.nfkc().collect();
        if normal != raw {
            // The look-alike's normal form must itself be an address.
            return Self::parse(&normal);
        }
        Ok(Self(normal))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// What makes two addresses the same account: Unicode NFKC normalization, then lower case, so
    /// `ＳHIRIN@example.com` (full-width letters) and `shirin@example.com` are one address.
    pub fn key(&self) -> String {
        Self::key_of(&self.0)
    }

    /// [`Email::key`] of an address as stored (checked when it was stored, under the rules of then).
    pub fn key_of(stored: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        stored.nfkc().collect::<String>().to_lowercase()
    }
}

/// A password as chosen by a member: at least 12 characters (OWASP ASVS 2.1.1) and at most 1,024 (so a
/// hash cannot be made to cost arbitrary time). No composition rules, per NIST SP 800-63B.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {} characters", Password::MIN)]
    TooShort,
    #[error("password must be at most {} characters", Password::MAX)]
    TooLong,
}

impl Password {
    pub const MIN: usize = 12;
    pub const MAX: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(PasswordError::TooShort);
        }
        if n > Self::MAX {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a member may do beyond their own content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    /// May create and edit catalog entries.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One optional line of a public profile, with the limit of its field.
macro_rules! profile_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            /// `Ok(None)` when the text is blank: the field is cleared.
            pub fn parse(raw: &str) -> Result<Option<Self>, TextError> {
                Ok(text::clean(raw, Self::MAX, $multiline)?.map(Self))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

profile_text!(
    /// The name shown beside the username.
    DisplayName, 50, false
);
profile_text!(
    /// A few paragraphs about the member.
    Bio, 1000, true
);
profile_text!(
    /// Where the member is, in their words.
    Location, 100, false
);
profile_text!(
    /// Pronouns as the member writes them.
    Pronouns, 30, false
);

/// A member's website: an absolute `http` or `https` URL of at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Website(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebsiteError {
    #[error("website must be an http:// or https:// address")]
    NotHttp,
    #[error(transparent)]
    Text(#[from] TextError),
}

impl Website {
    pub const MAX: usize = 200;

    pub fn parse(raw: &str) -> Result<Option<Self>, WebsiteError> {
        let Some(url) = text::clean(raw, Self::MAX, false)? else {
            return Ok(None);
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or(WebsiteError::NotHttp)?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || url.chars().any(char::is_whitespace) {
            return Err(WebsiteError::NotHttp);
        }
        Ok(Some(Self(url)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A member as the rest of the system sees it (never with a password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub username: String,
    pub email: String,
    /// When the member proved the address theirs (a link sent to it); `None` until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub pronouns: Option<String>,
    pub role: Role,
    pub follower_count: i32,
    pub following_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Until when a moderator suspended the member ([`crate::moderation::forever`]: for good).
    pub suspended_until: Option<DateTime<Utc>>,
    /// New followers become requests, and only followers see more than the profile header.
    pub private_account: bool,
    /// Only the member sees their watchlist.
    pub private_watchlist: bool,
    /// The visibility of a new log entry that does not say.
    pub default_visibility: crate::Audience,
    /// Lists the member made.
    pub list_count: i32,
    /// The notifications the member wants.
    pub notifications: crate::notification::Preferences,
}

/// A change to a profile: for each field `None` leaves it, `Some(None)` clears it, `Some(Some(v))`
/// sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub display_name: Option<Option<DisplayName>>,
    pub bio: Option<Option<Bio>>,
    pub location: Option<Option<Location>>,
    pub website: Option<Option<Website>>,
    pub pronouns: Option<Option<Pronouns>>,
    pub private_account: Option<bool>,
    pub private_watchlist: Option<bool>,
    pub default_visibility: Option<crate::Audience>,
    /// Notification kinds turned on (`true`) or off.
    pub notifications: Vec<(crate::notification::NotificationKind, bool)>,
}

impl ProfileChange {
    /// The notification preferences after this change, when it changes them.
    pub fn notifications_after(
        &self,
        current: &crate::notification::Preferences,
    ) -> Option<crate::notification::Preferences> {
        if self.notifications.is_empty() {
            return None;
        }
        let mut after = current.clone();
        for (kind, on) in &self.notifications {
            after.set(*kind, *on);
        }
        Some(after)
    }

    pub fn is_empty(&self) -> bool {
        self.notifications.is_empty()
            && self.private_account.is_none()
            && self.private_watchlist.is_none()
            && self.default_visibility.is_none()
            && self.display_name.is_none()
            && self.bio.is_none()
            && self.location.is_none()
            && self.website.is_none()
            && self.pronouns.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_address_is_only_an_address_and_stored_in_its_normal_form() {
        for header_syntax in [
            "a<victim@example.com>",
            "\"x\"@example.com",
            "a,b@example.com",
            "a;b@example.com",
            "(c)a@example.com",
            "a@[127.0.0.1]",
            "a\\b@example.com",
        ] {
            assert_eq!(
                Email::parse(header_syntax),
                Err(EmailError::Invalid),
                "{header_syntax}"
            );
        }
        assert_eq!(
            Email::parse("\u{ff41}na@example.com").map(Email::into_inner),
            Ok("ana@example.com".to_owned())
        );
        assert_eq!(
            Email::parse("Ana.Lima+films@Example.com").map(Email::into_inner),
            Ok("Ana.Lima+films@Example.com".to_owned())
        );
    }

    proptest! {
        #[test]
        fn passwords_of_twelve_or_more_characters_pass(s in "\\PC{12,64}") {
            prop_assert!(Password::parse(&s).is_ok());
        }

        #[test]
        fn short_passwords_fail(s in "\\PC{0,11}") {
            prop_assert_eq!(Password::parse(&s), Err(PasswordError::TooShort));
        }

        #[test]
        fn plausible_emails_pass(local in "[a-z0-9._+-]{1,20}", host in "[a-z0-9-]{1,20}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{host}.{tld}");
            prop_assert_eq!(Email::parse(&raw).map(Email::into_inner), Ok(raw));
        }

        #[test]
        fn keys_ignore_case_and_compatibility_forms(local in "[a-z0-9]{1,20}") {
            let plain = Email::parse(&format!("{local}@example.com")).map(|e| e.key());
            let upper = Email::parse(&format!("{}@EXAMPLE.COM", local.to_uppercase())).map(|e| e.key());
            // Full-width forms (U+FF01..U+FF5E) of the same ASCII letters and digits.
            let wide: String = local
                .chars()
                .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
                .collect();
            let full_width = Email::parse(&format!("{wide}@example.com")).map(|e| e.key());
            prop_assert_eq!(&plain, &upper);
            prop_assert_eq!(&plain, &full_width);
        }

        #[test]
        fn emails_without_at_fail(s in "[^@]{0,30}") {
            prop_assert_eq!(Email::parse(&s), Err(EmailError::Invalid));
        }

        #[test]
        fn display_names_obey_their_limit(s in "[a-zA-Z ]{0,80}") {
            let trimmed = s.trim();
            let parsed = DisplayName::parse(&s);
            if trimmed.is_empty() {
                prop_assert_eq!(parsed, Ok(None));
            } else if trimmed.chars().count() <= DisplayName::MAX {
                prop_assert_eq!(parsed.map(|o| o.map(DisplayName::into_inner)), Ok(Some(trimmed.to_owned())));
            } else {
                prop_assert_eq!(parsed, Err(TextError::TooLong { max: DisplayName::MAX }));
            }
        }

        #[test]
        fn websites_need_http(host in "[a-z]{1,20}\\.[a-z]{2,5}", path in "(/[a-z0-9]{0,10}){0,3}") {
            let good = format!("https://{host}{path}");
            prop_assert_eq!(Website::parse(&good).map(|o| o.map(Website::into_inner)), Ok(Some(good)));
            let bad = format!("ftp://{host}{path}");
            prop_assert_eq!(Website::parse(&bad), Err(WebsiteError::NotHttp));
        }

        #[test]
        fn bios_keep_newlines_but_refuse_nul(a in "[a-z]{1,10}", b in "[a-z]{1,10}") {
            let ok = Bio::parse(&format!("{a}\n{b}")).map(|o| o.map(Bio::into_inner));
            prop_assert_eq!(ok, Ok(Some(format!("{a}\n{b}"))));
            prop_assert_eq!(Bio::parse(&format!("{a}\0{b}")), Err(TextError::ControlCharacter));
            prop_assert_eq!(Pronouns::parse(&format!("{a}\n{b}")), Err(TextError::ControlCharacter));
        }
    }

    #[test]
    fn specific_cases() {
        assert_eq!(Email::parse("a@b"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a b@c.d"), Err(EmailError::Invalid));
        assert!(Email::parse("ana@example.com").is_ok());
        assert_eq!(Website::parse("https://"), Err(WebsiteError::NotHttp));
        assert_eq!(Website::parse("  "), Ok(None));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").ok()),
            "Some(Password(<redacted>))"
        );
    }
}
