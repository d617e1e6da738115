//! How domain value types cross the persistence boundary: rows name the domain type and read it
//! through these (`#[diesel(deserialize_as = …)]`); the conversions' rules live in the domain.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, SmallInt, Text};
use std::str::FromStr;

use filmlog_domain::{Rating, Role};

/// A nullable half-star count read as an optional [`Rating`]; a stored value outside 1–10 (which the
/// CHECK constraints forbid) is a deserialization error, never a silent `None`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbRating(pub Option<Rating>);

impl FromSql<Nullable<SmallInt>, Pg> for DbRating {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let halves = <i16 as FromSql<SmallInt, Pg>>::from_sql(value)?;
        Ok(Self(Some(Rating::from_halves(halves)?)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => Self::from_sql(v),
            None => Ok(Self(None)),
        }
    }
}

impl From<DbRating> for Option<Rating> {
    fn from(r: DbRating) -> Self {
        r.0
    }
}

/// A member's role as the `members.role` column stores it. The CHECK constraint admits only the
/// known roles; anything else is read as the least privileged one.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbRole(pub Role);

impl FromSql<Text, Pg> for DbRole {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        Ok(Self(Role::parse(&name).unwrap_or(Role::Member)))
    }
}

impl From<DbRole> for Role {
    fn from(r: DbRole) -> Self {
        r.0
    }
}

/// A nullable flag read as `false` when it is `NULL` (no row to take it from).
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct NullAsFalse(pub bool);

impl FromSql<Nullable<Bool>, Pg> for NullAsFalse {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <bool as FromSql<Bool, Pg>>::from_sql(value).map(Self)
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(Self(false)), Self::from_sql)
    }
}

impl From<NullAsFalse> for bool {
    fn from(f: NullAsFalse) -> Self {
        f.0
    }
}

/// A nullable id column read as an optional typed id (`MemberId`, `LogEntryId`, …): rows carry the
/// id's type, never a bare `i64` (a non-null id column reads through `deserialize_as = i64`).
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct NullableId<T>(pub Option<T>);

impl<T: From<i64>> FromSql<Nullable<BigInt>, Pg> for NullableId<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let raw = <i64 as FromSql<BigInt, Pg>>::from_sql(value)?;
        Ok(Self(Some(T::from(raw))))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => Self::from_sql(v),
            None => Ok(Self(None)),
        }
    }
}

impl<T> From<NullableId<T>> for Option<T> {
    fn from(id: NullableId<T>) -> Self {
        id.0
    }
}

/// A value of a closed set (an activity kind, an audience, a credit role, a job status, …) read by
/// its stored name through the domain's `FromStr`; an unknown name (the columns' CHECK constraints
/// list the known ones) is a deserialization error, never a default.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbName<T>(pub T);

impl<T> FromSql<Text, Pg> for DbName<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        Ok(Self(name.parse()?))
    }
}

/// [`DbName`] of a nullable column.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct NullableName<T>(pub Option<T>);

impl<T> FromSql<Nullable<Text>, Pg> for NullableName<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(Self(Some(DbName::<T>::from_sql(value)?.0)))
    }

    fn from_nullable_sql(value: Option<PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(Ok(Self(None)), Self::from_sql)
    }
}

impl<T> From<NullableName<T>> for Option<T> {
    fn from(n: NullableName<T>) -> Self {
        n.0
    }
}

/// A text array of names read as the values they name (each as [`DbName`] reads one).
#[derive(Debug, Clone, FromSqlRow)]
pub struct DbNames<T>(pub Vec<T>);

impl<T> FromSql<Array<Text>, Pg> for DbNames<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let names = <Vec<String> as FromSql<Array<Text>, Pg>>::from_sql(value)?;
        let values: Result<Vec<T>, T::Err> = names.iter().map(|n| n.parse()).collect();
        Ok(Self(values?))
    }
}

impl<T> From<DbNames<T>> for Vec<T> {
    fn from(n: DbNames<T>) -> Self {
        n.0
    }
}

/// Lets `deserialize_as = DbName<T>` end as `T` for each named type (coherence forbids one blanket
/// `From<DbName<T>> for T`).
macro_rules! from_name {
    ($($ty:ty),+) => {
        $(impl From<DbName<$ty>> for $ty {
            fn from(n: DbName<$ty>) -> Self {
                n.0
            }
        })+
    };
}

from_name!(
    filmlog_domain::ActivityKind,
    filmlog_domain::Audience,
    filmlog_domain::CreditRole,
    filmlog_domain::notification::NotificationKind,
    filmlog_domain::moderation::SubjectType,
    filmlog_domain::moderation::ModerationAction,
    filmlog_domain::moderation::ReportReason,
    filmlog_domain::portability::JobStatus,
    filmlog_domain::portability::ImportPhase,
    filmlog_domain::portability::MatchedBy,
    filmlog_domain::portability::Action,
    filmlog_domain::webhook::DeliveryStatus
);

/// A `text[]` read as strings (diesel types every array's elements as nullable): the app never
/// writes a NULL element, and one written by hand is dropped rather than failing the row.
#[derive(Debug, Clone, FromSqlRow)]
pub struct Texts(pub Vec<String>);

impl FromSql<Array<Nullable<Text>>, Pg> for Texts {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let items = <Vec<Option<String>> as FromSql<Array<Nullable<Text>>, Pg>>::from_sql(value)?;
        Ok(Texts(items.into_iter().flatten().collect()))
    }
}

impl From<Texts> for Vec<String> {
    fn from(t: Texts) -> Self {
        t.0
    }
}
