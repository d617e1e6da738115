//! How domain value types cross the persistence boundary: rows name the domain type and read it
//! through these (`#[diesel(deserialize_as = …)]`); the conversions' rules live in the domain.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{BigInt, Bool, Nullable, SmallInt, Text};
use filmlog_domain::{ActivityKind, Audience, CreditRole, Rating, Role};

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

/// An activity kind read by its stored name; an unknown name is a deserialization error.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbActivityKind(pub ActivityKind);

impl FromSql<Text, Pg> for DbActivityKind {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        Ok(Self(name.parse()?))
    }
}

impl From<DbActivityKind> for ActivityKind {
    fn from(k: DbActivityKind) -> Self {
        k.0
    }
}

/// A log entry's audience read by its stored name; an unknown name is a deserialization error.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbAudience(pub Audience);

impl FromSql<Text, Pg> for DbAudience {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        Ok(Self(name.parse()?))
    }
}

impl From<DbAudience> for Audience {
    fn from(a: DbAudience) -> Self {
        a.0
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

/// A credit's role as `film_credits.role` stores it; an unknown name (its CHECK constraint lists the
/// known ones) is a deserialization error.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct DbCreditRole(pub CreditRole);

impl FromSql<Text, Pg> for DbCreditRole {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        let name = <String as FromSql<Text, Pg>>::from_sql(value)?;
        CreditRole::parse(&name)
            .map(Self)
            .ok_or_else(|| format!("unknown credit role {name:?}").into())
    }
}

impl From<DbCreditRole> for CreditRole {
    fn from(r: DbCreditRole) -> Self {
        r.0
    }
}
