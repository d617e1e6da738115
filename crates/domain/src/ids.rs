//! Typed ids: a `FilmId` can never be passed where a `MemberId` is expected.

use std::fmt;
use std::str::FromStr;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            /// From a stored id (the database hands out only valid ones).
            fn from(raw: i64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            /// Ids are opaque strings on the wire; only positive integers without sign or leading zeros
            /// name anything.
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                let ok = !s.is_empty()
                    && s.len() <= 19
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && !s.starts_with('0');
                if !ok {
                    return Err(InvalidId);
                }
                s.parse::<i64>().map(Self).map_err(|_| InvalidId)
            }
        }
    };
}

/// A string that cannot be any id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

typed_id!(
    /// A member (an account).
    MemberId
);
typed_id!(
    /// A login session: the family of refresh tokens issued since one login.
    SessionId
);

typed_id!(
    /// A third-party app a member registered (OAuth client).
    AppId
);

typed_id!(
    /// A film of the catalog.
    FilmId
);
typed_id!(
    /// A person credited on films.
    PersonId
);
typed_id!(
    /// One viewing and/or review of a film by a member.
    LogEntryId
);
typed_id!(
    /// A comment on a log entry.
    CommentId
);
typed_id!(
    /// One row of the activity stream.
    ActivityId
);
typed_id!(
    /// A member's list of films.
    ListId
);
typed_id!(
    /// A comment on a list.
    ListCommentId
);
typed_id!(
    /// One notification row (a group is named by its newest).
    NotificationId
);
typed_id!(
    /// A member's webhook endpoint.
    WebhookId
);
typed_id!(
    /// One event queued for a webhook endpoint.
    DeliveryId
);
typed_id!(
    /// An import of a Letterboxd archive.
    ImportJobId
);
typed_id!(
    /// An export of a member's data.
    ExportJobId
);
typed_id!(
    /// One line of the moderation log.
    ModerationEventId
);
typed_id!(
    /// One refresh token of a session's family.
    RefreshTokenId
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn positive_ids_round_trip(n in 1i64..=i64::MAX) {
            let id: MemberId = n.to_string().parse().map_err(|e: InvalidId| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id.get(), n);
            prop_assert_eq!(id.to_string(), n.to_string());
        }

        #[test]
        fn anything_else_is_rejected(s in "[^0-9]{1,5}|0[0-9]{0,4}|-[0-9]{1,5}|[0-9]{20,25}") {
            prop_assert!(s.parse::<MemberId>().is_err());
        }
    }

    #[test]
    fn edge_cases() {
        assert!("".parse::<SessionId>().is_err());
        assert!("0".parse::<SessionId>().is_err());
        assert!("+1".parse::<SessionId>().is_err());
        assert!("9223372036854775808".parse::<SessionId>().is_err());
        assert_eq!(
            "9223372036854775807".parse::<SessionId>(),
            Ok(SessionId::new(i64::MAX))
        );
    }
}
