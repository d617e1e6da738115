//! Closed sets of values stored and sent by name: one macro gives each set declared with it its list,
//! its names and its parsers from one table. (`ActivityKind`, `Audience` and `Role` predate it and
//! keep their own tables and errors, which the API's messages use.)

/// A name that is none of a set's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
}

/// Gives an enum of unit variants `ALL`, `as_str`, `parse` (`None` for an unknown name), `FromStr`
/// (an [`UnknownName`]) and `Display`, from one `Variant => "name"` table.
macro_rules! named {
    ($what:literal, $ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The name it is stored and sent by.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::names::UnknownName {
                    what: $what,
                    name: s.to_owned(),
                })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named;

#[cfg(test)]
mod tests {
    use crate::moderation::{ModerationAction, ReportReason, ReportStatus, SubjectType};
    use crate::notification::NotificationKind;
    use crate::portability::{Action, ImportPhase, JobStatus, MatchedBy};
    use crate::webhook::DeliveryStatus;

    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
    {
        let mut names = std::collections::HashSet::new();
        for v in all {
            let name = v.to_string();
            assert!(names.insert(name.clone()), "{name} named twice");
            assert_eq!(name.parse::<T>().ok(), Some(*v));
            assert!(name.to_uppercase().parse::<T>().is_err() || name.is_empty());
        }
        assert!("".parse::<T>().is_err());
        assert!("nope".parse::<T>().is_err());
    }

    #[test]
    fn every_name_round_trips_and_nothing_else_parses() {
        round_trips(&SubjectType::ALL);
        round_trips(&ReportReason::ALL);
        round_trips(&ReportStatus::ALL);
        round_trips(&ModerationAction::ALL);
        round_trips(&NotificationKind::ALL);
        round_trips(&JobStatus::ALL);
        round_trips(&ImportPhase::ALL);
        round_trips(&MatchedBy::ALL);
        round_trips(&Action::ALL);
        round_trips(&DeliveryStatus::ALL);
        round_trips(&crate::CreditRole::ALL);
    }

    #[test]
    fn an_unknown_name_says_what_it_is_not() {
        let err = "weekly".parse::<JobStatus>().err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("unknown job status \"weekly\"")
        );
    }
}
