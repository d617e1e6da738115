//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.
//!
//! Every failure a client can see has a stable machine `code` (documented in the OpenAPI spec) named
//! after the rule that failed. 5xx bodies are generic; their cause is logged once, with the request id.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use filmlog_app::ErrorCode;
use filmlog_domain::{RuleError, RuleKind};
use filmlog_persistence::{PersistenceError, Taken};
use serde::Serialize;
use utoipa::ToSchema;

use crate::middleware::request_id;
use filmlog_app::ops::{Denied, OpError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the offending value, e.g. `/rating`; for query and path parameters,
    /// the parameter's name.
    #[schema(example = "/username")]
    pub pointer: String,
    /// Stable machine code of the rule that failed.
    #[schema(example = "invalid_username")]
    pub code: String,
    #[schema(example = "username may contain only letters A–Z, digits and underscores")]
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, code: &str, message: impl fmt::Display) -> Self {
        Self {
            pointer: pointer.into(),
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
}

/// RFC 9457 problem details, the body of every 4xx and 5xx response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-failed",
    "title": "Request body is invalid",
    "status": 422,
    "code": "validation_failed",
    "detail": "username may contain only letters A–Z, digits and underscores",
    "errors": [{"pointer": "/username", "code": "invalid_username",
                "message": "username may contain only letters A–Z, digits and underscores"}],
    "request_id": "9b2f6c1e4d3a4f0b"
}))]
pub struct Problem {
    /// A URI reference naming the problem type: `/problems/` and the code in kebab-case.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code: a business rule's (see `RuleCode`) or the API's own.
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request's id, also in the `X-Request-Id` header; quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error answer. Boxed, so `Result<T, ApiError>` stays small on the happy path.
#[derive(Debug)]
pub struct ApiError(Box<ApiErrorDetails>);

#[derive(Debug)]
pub struct ApiErrorDetails {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u32>,
    bearer_challenge: Option<&'static str>,
    /// The scope named in the `WWW-Authenticate` challenge of an `insufficient_scope` refusal.
    challenge_scope: Option<&'static str>,
    allow: Option<String>,
    /// Close the connection after answering (the rest of the request may never come).
    close: bool,
    /// What went wrong inside, logged for 5xx; never shown.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: ErrorCode,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(ApiErrorDetails {
            status,
            code: code.as_str(),
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            bearer_challenge: None,
            challenge_scope: None,
            allow: None,
            close: false,
            cause: None,
        }))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// 422: the request was well-formed but its values break a rule.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            "Request body is invalid",
            detail,
        );
        err.errors = errors;
        err
    }

    /// 422 for one field.
    pub fn invalid_field(pointer: &str, code: &str, message: impl fmt::Display) -> Self {
        Self::validation(vec![FieldError::new(pointer, code, message)])
    }

    /// 422 for a business rule that is not about one field.
    pub fn rule(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
            "Request breaks a rule",
            detail,
        )
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "Request is malformed",
            detail,
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "Not found",
            format!("{what} was not found"),
        )
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            code,
            "Conflict with the current state",
            detail,
        )
    }

    /// 403 `insufficient_scope` (RFC 6750 §3.1): an app's token without the scope an operation
    /// needs (`None`: an operation no app may call).
    pub fn insufficient_scope(
        scope: Option<filmlog_domain::oauth::Scope>,
        detail: impl Into<String>,
    ) -> Self {
        let mut err = Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InsufficientScope,
            "Insufficient scope",
            detail,
        );
        err.bearer_challenge = Some("insufficient_scope");
        err.challenge_scope = scope.map(|s| s.as_str());
        err
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> Self {
        let mut err = Self::new(
            StatusCode::UNAUTHORIZED,
            code,
            "Authentication required",
            detail,
        );
        err.bearer_challenge = Some(if code == ErrorCode::MissingToken {
            ""
        } else {
            "invalid_token"
        });
        err
    }

    pub fn forbidden(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
    }

    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::PreconditionFailed,
            "Precondition failed",
            "the resource has changed since the ETag given in If-Match",
        )
    }

    /// 428: a write that must be conditional came without `If-Match`.
    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            ErrorCode::PreconditionRequired,
            "Precondition required",
            "send If-Match with the ETag of the resource as you last read it",
        )
    }

    pub fn method_not_allowed(allow: String) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "Method not allowed",
            format!("this resource allows {allow}"),
        );
        err.allow = Some(allow);
        err
    }

    /// The same error, answered with `Retry-After: secs`.
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 408: the client did not send the whole request in time; the connection is closed.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        let mut err = Self::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            "Request timeout",
            format!(
                "the request body did not arrive within {} ms",
                limit.as_millis()
            ),
        );
        err.close = true;
        err
    }

    /// 503 with `Retry-After`: a dependency (the database) is down or saturated.
    pub fn unavailable(cause: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ServiceUnavailable,
            "Service unavailable",
            "the service is temporarily unable to answer; retry shortly",
        );
        err.retry_after = Some(1);
        err.cause = Some(cause.to_string());
        err
    }

    /// 500: a bug or an unexpected failure. The cause is logged, the client sees a generic body.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Internal server error",
            "something went wrong on our side; it has been logged",
        );
        err.cause = Some(cause.to_string());
        err
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/problems/{}", self.code.replace('_', "-")),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            code: self.code.to_owned(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            request_id: request_id::current(),
        }
    }
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorDetails;
    fn deref(&self) -> &ApiErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorDetails {
        &mut self.0
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        if let Some(cause) = self
            .cause
            .as_ref()
            .filter(|_| self.status.is_server_error())
        {
            tracing::error!(
                request_id = problem.request_id.as_deref().unwrap_or("-"),
                code = self.code,
                %cause,
                "request failed"
            );
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(error) = self.bearer_challenge {
            let value = match (error.is_empty(), self.challenge_scope) {
                (true, _) => "Bearer realm=\"filmlog\"".to_owned(),
                (false, None) => format!("Bearer realm=\"filmlog\", error=\"{error}\""),
                (false, Some(scope)) => {
                    format!("Bearer realm=\"filmlog\", error=\"{error}\", scope=\"{scope}\"")
                }
            };
            res.insert_header((header::WWW_AUTHENTICATE, value));
        }
        if let Some(allow) = &self.allow {
            res.insert_header((header::ALLOW, allow.clone()));
        }
        if self.close {
            res.force_close();
        }
        match serde_json::to_vec(&problem) {
            Ok(body) => res.body(body),
            Err(_) => res.finish(),
        }
    }
}

impl From<PersistenceError> for ApiError {
    fn from(err: PersistenceError) -> Self {
        crate::metrics::database_error(&err);
        match err {
            PersistenceError::NotFound => ApiError::not_found("the resource"),
            PersistenceError::Unavailable(cause) => ApiError::unavailable(cause),
            PersistenceError::SerializationFailure => {
                ApiError::unavailable("serialization failure")
            }
            PersistenceError::Taken(taken) => {
                let (code, detail) = match taken {
                    Taken::Username => (ErrorCode::UsernameTaken, "that username is taken"),
                    Taken::Email => (
                        ErrorCode::EmailTaken,
                        "another account verified that address first",
                    ),
                    Taken::FilmSlug => (ErrorCode::SlugTaken, "a film with that slug exists"),
                    Taken::ExternalId => (
                        ErrorCode::ExternalIdTaken,
                        "another film has that external id",
                    ),
                };
                ApiError::conflict(code, detail)
            }
            PersistenceError::UniqueViolation { constraint } => {
                let mut e = ApiError::conflict(
                    ErrorCode::Conflict,
                    "the request conflicts with existing data",
                );
                e.cause = Some(constraint);
                e
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<RuleError> for ApiError {
    /// The one place a broken business rule becomes a status: 409 when it conflicts with the current
    /// state, 422 otherwise; the code is the rule's.
    fn from(rule: RuleError) -> Self {
        match rule.kind() {
            RuleKind::Conflict => ApiError::conflict(ErrorCode::Rule(rule), rule.to_string()),
            RuleKind::Unprocessable => ApiError::rule(ErrorCode::Rule(rule), rule.to_string()),
        }
    }
}

impl From<OpError> for ApiError {
    fn from(err: OpError) -> Self {
        match err {
            OpError::Rule(rule) => rule.into(),
            OpError::NotFound(what) => ApiError::not_found(what),
            OpError::Persistence(e) => e.into(),
            OpError::Internal(cause) => ApiError::internal(cause),
            OpError::PreconditionFailed => ApiError::precondition_failed(),
            OpError::Invalid(issues) => ApiError::validation(
                issues
                    .into_iter()
                    .map(|i| FieldError::new(i.pointer, i.code, i.message))
                    .collect(),
            ),
            OpError::Denied(denied) => {
                let detail = denied.to_string();
                match denied {
                    Denied::InvalidCredentials => {
                        ApiError::unauthorized(ErrorCode::InvalidCredentials, detail)
                    }
                    Denied::InvalidRefreshToken => {
                        ApiError::unauthorized(ErrorCode::InvalidRefreshToken, detail)
                    }
                    Denied::RefreshTokenReused => {
                        ApiError::unauthorized(ErrorCode::RefreshTokenReused, detail)
                    }
                    Denied::AccountGone => ApiError::unauthorized(ErrorCode::InvalidToken, detail),
                    Denied::Suspended(_) => {
                        ApiError::forbidden(ErrorCode::AccountSuspended, detail)
                    }
                    Denied::ReauthenticationRequired => {
                        ApiError::forbidden(ErrorCode::ReauthenticationRequired, detail)
                    }
                    Denied::CodesLocked(wait) => ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        ErrorCode::TwoFactorLocked,
                        "Too many requests",
                        detail,
                    )
                    .with_retry_after(u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX)),
                    Denied::TwoFactorOn => ApiError::conflict(ErrorCode::TwoFactorEnabled, detail),
                    Denied::TwoFactorOff => {
                        ApiError::conflict(ErrorCode::TwoFactorDisabled, detail)
                    }
                    Denied::EmailUnverified => {
                        ApiError::forbidden(ErrorCode::EmailUnverified, detail)
                    }
                    Denied::InvalidMailToken => ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        ErrorCode::InvalidMailToken,
                        "Invalid link",
                        detail,
                    ),
                }
            }
        }
    }
}

impl From<filmlog_app::credentials::InvalidToken> for ApiError {
    fn from(e: filmlog_app::credentials::InvalidToken) -> Self {
        ApiError::unauthorized(ErrorCode::InvalidToken, e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        PersistenceError::from(err).into()
    }
}

/// Adds the `RuleCode` schema (every business-rule code, generated from the domain's `RuleError`, with
/// its status and meaning) and the `ErrorCode` schema (every code the API sends, from
/// [`ErrorCode::all`]), so the document lists the codes from the enums rather than from prose.
pub struct RuleCodes;

impl utoipa::Modify for RuleCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let mut description = String::from(
            "The `code` of a problem answering a request that breaks a business rule:\n",
        );
        for rule in RuleError::ALL {
            let status = ApiError::from(rule).status.as_u16();
            description.push_str(&format!("- `{}` ({status}): {rule}\n", rule.code()));
        }
        let schema = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(RuleError::ALL.iter().map(|r| r.code())))
            .description(Some(description))
            .build();
        let all = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(ErrorCode::all().map(ErrorCode::as_str)))
            .description(Some(
                "Every `code` a problem can carry: the API's own, then every business rule's \
                 (`RuleCode`, with their statuses and meanings). New codes may be added; a client \
                 treats an unknown one by the problem's status.",
            ))
            .build();
        let schemas = &mut openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas;
        schemas.insert("RuleCode".to_owned(), schema.into());
        schemas.insert("ErrorCode".to_owned(), all.into());
    }
}

/// Problem responses that many operations share, as OpenAPI response components
/// (`(status = 503, response = ServiceUnavailable)`); registered in the document's components.
macro_rules! problem_responses {
    ($($name:ident => $description:literal;)*) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'s> utoipa::ToResponse<'s> for $name {
                fn response() -> (
                    &'s str,
                    utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
                ) {
                    (stringify!($name), problem_response($description).into())
                }
            }
        )*

        /// Adds every shared problem response to the document's components, so operations refer to
        /// them (`(status = 409, response = …)`) and none repeats one inline.
        pub struct ProblemResponses;

        impl utoipa::Modify for ProblemResponses {
            fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
                let responses = &mut openapi.components.get_or_insert_with(Default::default).responses;
                $(
                    responses.insert(stringify!($name).to_owned(), problem_response($description).into());
                )*
            }
        }
    };
}

fn problem_response(description: &str) -> utoipa::openapi::response::Response {
    let problem = utoipa::openapi::Ref::from_schema_name("Problem");
    utoipa::openapi::response::ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            utoipa::openapi::content::Content::new(Some(problem)),
        )
        .build()
}

problem_responses! {
    ServiceUnavailable => "Database unavailable (`service_unavailable`)";
    Unauthenticated => "`missing_token` or `invalid_token`";
    TooManyRequests => "A budget is spent (`rate_limited`); `Retry-After` says when to retry";
    BadToken => "A token was sent and is bad or its session ended (`invalid_token`); without a token the read answers anonymously";
    BadPageQuery => "`invalid_query_parameter`, `invalid_limit` or `invalid_cursor`";
    MalformedJson => "Malformed JSON (`malformed_json`)";
    MalformedJsonOrKey => "Malformed JSON (`malformed_json`) or `invalid_idempotency_key`";
    NotJson => "Not JSON (`unsupported_media_type`)";
    FilmNotFound => "No such film (`not_found`)";
    MemberNotFound => "No such member (`not_found`)";
    EntryNotFound => "No such entry (`not_found`)";
    AdminOnly => "Not an admin (`admin_only`)";
    ListNotFound => "No such list, or not one you may read (`not_found`)";
    NotYourList => "No such list of yours (`not_found`)";
    UsernameTaken => "`username_taken` (an address that has an account is answered as any other: its owner is told by mail)";
    EmailAlreadyVerified => "`email_already_verified`";
    ReauthenticationRequired => "`reauthentication_required`: the session signed in more than 10 minutes ago; `POST /auth/reauthenticate`, then retry";
    EmailUnverifiedOrReauthenticationRequired => "`email_unverified`: verify your email address first (`POST /me/email-verification` sends a link); or `reauthentication_required`: the session signed in more than 10 minutes ago (`POST /auth/reauthenticate`, then retry)";
    TwoFactorEnabled => "`two_factor_enabled`: two-factor sign-in is on already";
    TwoFactorLocked => "`two_factor_locked`: ten wrong codes in a row (anywhere) refuse codes for a minute, doubling up to an hour; `Retry-After` says when, or a budget is spent (`rate_limited`)";
    LoginOrTwoFactorLocked => "`login_locked` (wrong codes from this network, throttled as passwords) or `two_factor_locked` (ten wrong codes in a row from anywhere); `Retry-After` says when";
    TwoFactorLockedOrPassword => "`two_factor_locked` (ten wrong codes in a row refuse codes for a while) or `password_locked`, or a budget is spent (`rate_limited`); `Retry-After` says when";
    TwoFactorDisabled => "`two_factor_disabled`: two-factor sign-in is off";
    ValidationFailedWrongCode => "`validation_failed` (`wrong_code`)";
    ValidationFailedWrongPasswordOrCode => "`validation_failed` (`wrong_password`, `code_required`, `wrong_code`)";
    InvalidChallengeOrCode => "`invalid_challenge` (unknown, expired, or five wrong codes: log in again) or `invalid_two_factor_code`";
    EmailUnverifiedLargeImport => "`email_unverified`: until your address is verified, an archive may be at most 1 MiB";
    MailLimited => "`rate_limited`: three links were sent in the last hour (`Retry-After` says when the next may go), or a budget is spent";
    InvalidMailTokenOrBodyShape => "`invalid_mail_token`: the link is unknown, used or expired (ask for a new one); or a body of the wrong shape (`validation_failed`)";
    InvalidMailTokenOrWeakPassword => "`invalid_mail_token`: the link is unknown, used or expired (ask for a new one); or `validation_failed` (`weak_password`, or a body of the wrong shape)";
    EmailTakenByVerification => "`email_taken`: another account verified this address first";
    ValidationFailedInvalidEmailSame => "`validation_failed` (`invalid_email`, `same_email`, or a body of the wrong shape)";
    ValidationFailedInvalidEmail => "`validation_failed` (`invalid_email`, or a body of the wrong shape)";
    PayloadTooLarge => "Body too large (`payload_too_large`)";
    ValidationFailedInvalidUsernameInvalid => "`validation_failed`: `invalid_username`, `invalid_email`, `weak_password`, `invalid_display_name`";
    InvalidCredentials => "`invalid_credentials`";
    AccountSuspended => "`account_suspended`: a moderator suspended the account; the detail says until when (told only with the right password)";
    LoginLocked => "`login_locked`: too many failed logins for this account from the client's network (after 5 in a row, 1 s, doubling up to 15 min; the right password is refused too from that network until it ends, never from others), or `rate_limited`";
    BodyWrongShapeValidationFailed => "Body of the wrong shape (`validation_failed`)";
    InvalidRefreshToken => "`invalid_refresh_token` (unknown, expired or its session ended) or `refresh_token_reused` (the session is now ended)";
    BlockedYouBlockedItsAuthorUnblock => "`blocked`: you blocked its author; unblock them first (a member who blocked you is answered 404, as if they did not exist)";
    ValidationFailedInvalidCommentNot => "`validation_failed` (`invalid_comment`), `not_a_review` (the entry has no review text: likes and comments are for reviews) or `idempotency_key_reused`";
    NoSuchCommentYoursNot => "No such comment of yours (`not_found`)";
    ValidationFailedInvalidComment => "`validation_failed` (`invalid_comment`)";
    NoSuchCommentYouMay => "No such comment you may delete (`not_found`)";
    SameFilm => "`same_film`: a film cannot be merged into itself";
    SamePerson => "`same_person`: a person cannot be merged into themselves";
    PersonNotFound => "No such person (`not_found`), or (admins) a film named in `films` that does not exist";
    ValidationFailedSplit => "`validation_failed`: `invalid_films` (none, or more than 500), `invalid_slug`, `not_credited` (a film that does not credit the person)";
    ValidationFailedIntoNotSlug => "`validation_failed`: `into` is not a slug";
    SlugTaken => "The slug is taken (`slug_taken`)";
    ValidationFailed => "`validation_failed`";
    SortFollowingWithoutTokenMissing => "`sort=following` without a token (`missing_token`), or a bad token";
    BlockedYouBlockedThisMember => "`blocked`: you blocked this member; unblock them first (a member who blocked you is answered 404, as if they did not exist)";
    FollowYourself => "`follow_yourself`";
    NotFoundNoSuchMember => "`not_found`: no such member, or no request from them";
    BlockedYouBlockedItsOwnerUnblock => "`blocked`: you blocked its owner; unblock them first";
    ValidationFailedPointingAtOperation => "`validation_failed` pointing at the operation: `unknown_film`, `duplicate_film`, `not_in_list`, `position_out_of_range`, `too_many_entries`, `invalid_notes`, `too_many_operations`";
    PreconditionRequiredSendIfMatch => "`precondition_required`: send `If-Match`";
    LikeOwnList => "`like_own_list`";
    ValidationFailedInvalidListName => "`validation_failed`: `invalid_list_name`, `invalid_description`, `invalid_tag`, `invalid_notes`, `unknown_film`, `duplicate_film`, `too_many_entries`";
    PreconditionFailed => "`precondition_failed`";
    ValidationFailedUnknownFilmInvalid => "`validation_failed` (`unknown_film`, `invalid_rating`, `invalid_watched_on`, `invalid_review`, `invalid_tag`), `log_entry_needs_date_or_review` or `idempotency_key_reused`";
    NoSuchEntryYoursNot => "No such entry of yours (`not_found`)";
    ValidationFailedLogEntryNeeds => "`validation_failed` or `log_entry_needs_date_or_review`";
    ValidationFailedInvalidDisplayName => "`validation_failed`: `invalid_display_name`, `invalid_bio`, `invalid_location`, `invalid_website`, `invalid_pronouns`";
    ValidationFailedWeakPasswordWrong => "`validation_failed` (`weak_password`, `wrong_password`)";
    PasswordLocked => "`password_locked`: too many wrong passwords for this account from your network (after 5 in a row, 1 s, doubling up to 15 min), or `rate_limited`";
    ValidationFailedWrongPassword => "`validation_failed` (`wrong_password`)";
    NoSuchSubjectNotFound => "No such subject (`not_found`)";
    NoOpenReportsOwnReport => "`no_open_reports`, `own_report` (you reported it), `already_marked_spoilers`, `already_removed`, `suspend_admin`, `already_suspended` or `not_suspended`";
    ValidationFailedInvalidActionInvalid => "`validation_failed` (`invalid_action`, `invalid_subject_type`, `invalid_subject_id`, `invalid_reason`, `invalid_until`) or `action_not_applicable`";
    NoSuchSubjectYouCan => "No such subject you can see (`not_found`)";
    ValidationFailedInvalidSubjectType => "`validation_failed` (`invalid_subject_type`, `invalid_subject_id`, `invalid_reason`, `invalid_message`) or `report_own_content`";
    InvalidLastEventId => "`invalid_last_event_id`";
    TooManyStreams => "`too_many_streams`: you hold 5 streams already";
    ResyncRequired => "`resync_required`: the cursor is older than the tombstones kept";
    ExportInProgress => "`export_in_progress`";
    NotFoundNotOneYoursExpired => "`not_found`: not one of yours, or expired";
    InvalidQueryParameter => "`invalid_query_parameter`";
    InvalidLink => "`invalid_link`: the signature does not match";
    NotFoundNoSuchExport => "`not_found`: no such export, or not finished";
    LinkExpired => "`link_expired`: ask `GET /me/exports/{export_id}` for a new link";
    NotFoundNotOneYours => "`not_found`: not one of yours";
    MalformedMultipartMissingFileInvalid => "`malformed_multipart`, `missing_file`, `invalid_query_parameter`";
    UploadTimeout => "`request_timeout`: the upload did not arrive within the upload timeout";
    ImportInProgress => "`import_in_progress`: finish, confirm or cancel your open import first (checked before the upload is read)";
    ArchiveTooLarge => "`archive_too_large`: more than 50 MiB";
    NotMultipart => "`not_multipart`";
    ValidationFailedNotZip => "`validation_failed`: `not_a_zip`";
    NotAwaitingReview => "`not_awaiting_review`: only a dry run at `needs_review` can be confirmed";
    ImportFinished => "`import_finished`: it is done, failed or cancelled";
    UnableToRemoveWatch => "You have log entries for it (`unable_to_remove_watch`, see `RuleCode`)";
    ValidationFailedWithInvalidRating => "`validation_failed` with `invalid_rating`";
    LikeOwnReviewOrNotAReview => "`like_own_review`, or `not_a_review` (no review text)";
    BlockYourself => "`block_yourself`";
    MuteYourself => "`mute_yourself`";
    InvalidQueryParameterNoSlugs => "`invalid_query_parameter`: no slugs, or more than 100";
    InvalidQueryParameterNoUsernames => "`invalid_query_parameter`: no usernames, or more than 100";
    WebhookDisabled => "`webhook_disabled`: turn it back on first; `webhook_test_pending`: the last test has not been delivered yet";
    WebhookLimit => "`webhook_limit`: you have 10 endpoints";
    AppLimit => "`app_limit`: you have 25 apps";
    PublicApp => "`public_app`: a public app has no secret";
    ValidationFailedApp => "`validation_failed`: `invalid_name`, `too_long`, `invalid_url`, `invalid_redirect_uris`, `invalid_redirect_uri`";
    NotFoundNotAuthorized => "`not_found`: you authorised no such app";
    InsufficientScope => "`insufficient_scope`: a third-party app's token without the scope this operation needs (named in `WWW-Authenticate`), or an operation no app may call";
    ValidationFailedInvalidWebhookUrl => "`validation_failed`: `invalid_webhook_url`, `invalid_events`, `wrong_password`";
    ValidationFailedInvalidWebhookUrlInvalid => "`validation_failed`: `invalid_webhook_url`, `invalid_events`, `password_required`, `wrong_password`";
    NoLiveSessionYoursHasThatId => "No live session of yours has that id (`not_found`)";
}
