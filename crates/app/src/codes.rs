//! Every `code` a problem the API answers can carry, in one enum: the API's own (a bad request, a
//! token, a limit, the database) and every business rule's ([`RuleError`]). The HTTP layer builds
//! its problems from these, and the OpenAPI document lists them from [`ErrorCode::all`].

use filmlog_domain::RuleError;

macro_rules! error_codes {
    ($($name:ident => $code:literal,)*) => {
        /// A problem's machine code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($name,)*
            /// A business rule the request would break.
            Rule(RuleError),
        }

        impl ErrorCode {
            /// The API's own codes (the rules' are [`RuleError::ALL`]).
            pub const API: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The code as sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $code,)*
                    ErrorCode::Rule(rule) => rule.code(),
                }
            }
        }
    };
}

error_codes! {
    AccountSuspended => "account_suspended",
    AdminOnly => "admin_only",
    ArchiveTooLarge => "archive_too_large",
    Conflict => "conflict",
    CorsHeaderNotAllowed => "cors_header_not_allowed",
    CorsMethodNotAllowed => "cors_method_not_allowed",
    CorsOriginNotAllowed => "cors_origin_not_allowed",
    EmailAlreadyVerified => "email_already_verified",
    EmailTaken => "email_taken",
    EmailUnverified => "email_unverified",
    ExternalIdTaken => "external_id_taken",
    HeadersTooLarge => "headers_too_large",
    InsufficientScope => "insufficient_scope",
    InternalError => "internal_error",
    InvalidChallenge => "invalid_challenge",
    InvalidCredentials => "invalid_credentials",
    InvalidCursor => "invalid_cursor",
    InvalidIdempotencyKey => "invalid_idempotency_key",
    InvalidLastEventId => "invalid_last_event_id",
    InvalidLimit => "invalid_limit",
    InvalidLink => "invalid_link",
    InvalidMailToken => "invalid_mail_token",
    InvalidPathParameter => "invalid_path_parameter",
    InvalidQueryParameter => "invalid_query_parameter",
    InvalidRefreshToken => "invalid_refresh_token",
    InvalidToken => "invalid_token",
    InvalidTwoFactorCode => "invalid_two_factor_code",
    LinkExpired => "link_expired",
    LoginLocked => "login_locked",
    MalformedBody => "malformed_body",
    MalformedJson => "malformed_json",
    MalformedMultipart => "malformed_multipart",
    MalformedRequest => "malformed_request",
    MethodNotAllowed => "method_not_allowed",
    MissingFile => "missing_file",
    MissingToken => "missing_token",
    NotFound => "not_found",
    NotMultipart => "not_multipart",
    PasswordLocked => "password_locked",
    PayloadTooLarge => "payload_too_large",
    PreconditionFailed => "precondition_failed",
    PreconditionRequired => "precondition_required",
    RateLimited => "rate_limited",
    ReauthenticationRequired => "reauthentication_required",
    RefreshTokenReused => "refresh_token_reused",
    RequestTimeout => "request_timeout",
    ResyncRequired => "resync_required",
    RouteNotFound => "route_not_found",
    ServiceUnavailable => "service_unavailable",
    SlugTaken => "slug_taken",
    TooManyStreams => "too_many_streams",
    TwoFactorDisabled => "two_factor_disabled",
    TwoFactorEnabled => "two_factor_enabled",
    TwoFactorLocked => "two_factor_locked",
    UnsupportedMediaType => "unsupported_media_type",
    UriTooLong => "uri_too_long",
    UsernameTaken => "username_taken",
    ValidationFailed => "validation_failed",
}

impl ErrorCode {
    /// Every code the API sends: its own, then every rule's.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        Self::API
            .iter()
            .copied()
            .chain(RuleError::ALL.iter().copied().map(ErrorCode::Rule))
    }
}

impl From<RuleError> for ErrorCode {
    fn from(rule: RuleError) -> Self {
        ErrorCode::Rule(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let all: Vec<&str> = ErrorCode::all().map(ErrorCode::as_str).collect();
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "a code is listed twice");
        for code in all {
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }
}
