//! Third-party apps: the scopes a member grants them, and the rules of their redirect URIs
//! (RFC 8252 for native apps: loopback addresses with any port, private-use schemes).

use std::fmt;

/// What a third-party app may do for a member. First-party sign-in has every power; an app has only
/// what the member granted, and some operations (the password, sessions, two-factor, apps,
/// moderation) no app can be granted at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Diary,
    Social,
    Lists,
    Account,
    Portability,
    Webhooks,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Read,
        Scope::Diary,
        Scope::Social,
        Scope::Lists,
        Scope::Account,
        Scope::Portability,
        Scope::Webhooks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Diary => "diary",
            Scope::Social => "social",
            Scope::Lists => "lists",
            Scope::Account => "account",
            Scope::Portability => "portability",
            Scope::Webhooks => "webhooks",
        }
    }

    /// What the scope lets an app do, in the words of the consent page.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Read => {
                "See everything you can see on Filmlog as you: your diary, ratings, watchlist, lists, \
                 notifications and feed, private ones included"
            }
            Scope::Diary => {
                "Log films in your diary, rate, like and review them, and change your watchlist"
            }
            Scope::Social => {
                "Follow and unfollow members, like and comment, block, mute and report, and answer follow requests"
            }
            Scope::Lists => "Create, change and delete your lists",
            Scope::Account => "Change your profile and privacy settings",
            Scope::Portability => {
                "Import a Letterboxd history into your account and export your data"
            }
            Scope::Webhooks => {
                "See, test and delete your webhooks and their deliveries (adding one takes your password in Filmlog)"
            }
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of scopes, stored as bits (bit `n` is the `n`th of [`Scope::ALL`]; never renumbered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u16);

/// A scope string naming a scope that does not exist, or naming none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope {0:?}; the scopes are read, diary, social, lists, account, portability and webhooks"
)]
pub struct UnknownScope(pub String);

impl Scopes {
    pub fn all() -> Scopes {
        Scope::ALL.into_iter().collect()
    }

    /// The set stored as `bits`; bits of no scope are dropped.
    pub fn from_bits(bits: i16) -> Scopes {
        let known = Scopes::all().0;
        Scopes((bits as u16) & known)
    }

    pub fn bits(self) -> i16 {
        self.0 as i16
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    pub fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    /// Whether every scope of `self` is in `other`.
    pub fn within(self, other: Scopes) -> bool {
        self.0 & !other.0 == 0
    }

    /// A space-separated scope string (RFC 6749 §3.3): at least one scope, each known; repeats
    /// are fine.
    pub fn parse(s: &str) -> Result<Scopes, UnknownScope> {
        let mut set = Scopes::default();
        for word in s.split(' ').filter(|w| !w.is_empty()) {
            let scope = Scope::parse(word).ok_or_else(|| UnknownScope(truncate(word)))?;
            set.0 |= scope.bit();
        }
        if set.is_empty() {
            return Err(UnknownScope(String::new()));
        }
        Ok(set)
    }
}

fn truncate(word: &str) -> String {
    word.chars().take(40).collect()
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

impl fmt::Display for Scopes {
    /// Space-separated, in the order of [`Scope::ALL`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

/// The most apps one member may register.
pub const APPS_MAX: i64 = 25;

/// The longest redirect URI an app may register.
pub const REDIRECT_URI_MAX: usize = 512;
/// The most redirect URIs one app may register.
pub const REDIRECT_URIS_MAX: usize = 10;

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("a redirect URI is at most 512 characters, without spaces or control characters")]
    Malformed,
    #[error("a redirect URI has no fragment (#)")]
    Fragment,
    #[error(
        "a redirect URI is https://, http:// on a loopback address (127.0.0.1 or [::1]), or a private-use scheme in reverse-domain form (com.example.app:/callback)"
    )]
    Scheme,
}

/// What kind of redirect URI a registered one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    Https,
    /// `http://127.0.0.1` or `http://[::1]`: matched with any port (RFC 8252 §7.3).
    Loopback,
    /// `com.example.app:/callback` (RFC 8252 §7.1).
    PrivateUse,
}

/// Checks a redirect URI an app registers (or sends), saying what kind it is.
pub fn redirect_kind(uri: &str) -> Result<RedirectKind, RedirectUriError> {
    if uri.is_empty()
        || uri.len() > REDIRECT_URI_MAX
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RedirectUriError::Malformed);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        let host = authority(rest);
        if host.is_empty() || host.contains('@') {
            return Err(RedirectUriError::Malformed);
        }
        return Ok(RedirectKind::Https);
    }
    if let Some(rest) = uri.strip_prefix("http://") {
        return match loopback_host(authority(rest)) {
            Some(_) => Ok(RedirectKind::Loopback),
            None => Err(RedirectUriError::Scheme),
        };
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(RedirectUriError::Scheme);
    };
    let scheme_ok = scheme.contains('.')
        && scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
        && !scheme.ends_with('.');
    if !scheme_ok || rest.is_empty() {
        return Err(RedirectUriError::Scheme);
    }
    Ok(RedirectKind::PrivateUse)
}

/// The authority of what follows `scheme://`.
fn authority(rest: &str) -> &str {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    &rest[..end]
}

/// The loopback host of an authority (`127.0.0.1[:port]`, `[::1][:port]`), without its port.
fn loopback_host(authority: &str) -> Option<&'static str> {
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let port = &authority[host.len()..];
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    match (host, port_ok) {
        ("127.0.0.1", true) => Some("127.0.0.1"),
        ("[::1]", true) => Some("[::1]"),
        _ => None,
    }
}

/// A loopback URI without its port, for matching.
fn without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let auth = authority(rest);
    let host = loopback_host(auth)?;
    Some(format!("http://{host}{}", &rest[auth.len()..]))
}

/// Whether `sent` (a request's `redirect_uri`) is `registered`: the same string, except that a
/// loopback URI matches with any port.
pub fn redirect_matches(registered: &str, sent: &str) -> bool {
    if registered == sent {
        return true;
    }
    match (without_port(registered), without_port(sent)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The alphabet of device user codes (RFC 8628 §6.1): consonants only, no look-alikes.
pub const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const USER_CODE_LEN: usize = 8;

/// A user code as a member types it (any case, with or without the dash or spaces), in its
/// stored form: eight letters of [`USER_CODE_ALPHABET`], or `None`.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 32 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// A stored user code as shown: `BCDF-GHJK`.
pub fn display_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_print_and_store() {
        let s = Scopes::parse("diary read  diary").expect("valid");
        assert_eq!(s.to_string(), "read diary");
        assert!(s.contains(Scope::Read) && s.contains(Scope::Diary));
        assert!(!s.contains(Scope::Lists));
        assert_eq!(Scopes::from_bits(s.bits()), s);
        assert!(Scopes::parse("read admin").is_err());
        assert!(Scopes::parse("").is_err());
        assert!(Scopes::parse("READ").is_err());
        assert_eq!(Scopes::from_bits(-1), Scopes::all());
        assert!(s.within(Scopes::all()));
        assert!(!Scopes::all().within(s));
    }

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        use RedirectKind::*;
        for (uri, kind) in [
            ("https://app.example/cb", Https),
            ("https://app.example:8443/cb?x=1", Https),
            ("http://127.0.0.1/cb", Loopback),
            ("http://127.0.0.1:51004/cb", Loopback),
            ("http://[::1]:8080/cb", Loopback),
            ("com.example.app:/oauth2redirect", PrivateUse),
        ] {
            assert_eq!(redirect_kind(uri), Ok(kind), "{uri}");
        }
        for uri in [
            "",
            "http://app.example/cb",
            "http://localhost/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1:/cb",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "myapp:/cb",
            "https:///cb",
            "https://user@evil.example/cb",
            "https://app.example/c b",
        ] {
            assert!(redirect_kind(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn redirects_match_exactly_but_loopback_ports() {
        assert!(redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb/"
        ));
        assert!(!redirect_matches(
            "https://a.example/cb",
            "https://a.example/cb?x"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4711/cb"
        ));
        assert!(redirect_matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4711/other"
        ));
        assert!(!redirect_matches("http://127.0.0.1/cb", "http://[::1]/cb"));
    }

    #[test]
    fn user_codes_are_typed_loosely() {
        assert_eq!(
            normalize_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalize_user_code(" BCDF GHJK ").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(normalize_user_code("BCDFGHJA"), None);
        assert_eq!(normalize_user_code("BCDFGHJ"), None);
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
    }
}
