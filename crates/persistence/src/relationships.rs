//! The member–film relationship: watched, liked, in the watchlist, current rating. Film statistics
//! follow every change through a trigger (see the migration).

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::sql_types::Timestamptz;
use diesel::upsert::excluded;
use diesel::{
    ExpressionMethods, NullableExpressionMethods, OptionalExtension, QueryDsl, Queryable,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::relationship::{ExplicitRating, Relationship};
use filmlog_domain::{FilmId, MemberId, Rating};

use crate::Result;
use crate::catalog::FilmSummaryRow;
use crate::schema::{films, member_films};
use crate::types::DbRating;
use crate::viewer::{ViewerFilmRow, viewer_id};

/// The stored relationship row, as the domain's [`Relationship`] reads it.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = member_films, check_for_backend(diesel::pg::Pg))]
struct RelationshipRow {
    watched: bool,
    liked: bool,
    in_watchlist: bool,
    #[diesel(deserialize_as = DbRating)]
    rating: Option<Rating>,
    #[diesel(deserialize_as = DbRating)]
    explicit_rating: Option<Rating>,
    explicit_rated_at: Option<DateTime<Utc>>,
}

impl From<RelationshipRow> for Relationship {
    fn from(r: RelationshipRow) -> Self {
        Relationship {
            watched: r.watched,
            liked: r.liked,
            in_watchlist: r.in_watchlist,
            rating: r.rating,
            explicit: r.explicit_rated_at.map(|at| ExplicitRating {
                rating: r.explicit_rating,
                at,
            }),
        }
    }
}

/// The relationship, locked until the transaction ends. A row is created first when there is none
/// (a `FOR UPDATE` of a missing row locks nothing, so a concurrent log entry could otherwise land
/// between this read and the caller's read of the entries); [`save`] deletes it again when the
/// relationship ends up empty. A row that another transaction deletes between the two statements is
/// created again, so the caller always holds a lock.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
) -> Result<Relationship> {
    loop {
        diesel::insert_into(member_films::table)
            .values((
                member_films::member_id.eq(member.get()),
                member_films::film_id.eq(film.get()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let locked = member_films::table
            .find((member.get(), film.get()))
            .select(RelationshipRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        if let Some(row) = locked {
            return Ok(Relationship::from(row));
        }
    }
}

pub async fn get(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
) -> Result<Relationship> {
    Ok(member_films::table
        .find((member.get(), film.get()))
        .select(RelationshipRow::as_select())
        .first(conn)
        .await
        .optional()?
        .map(Relationship::from)
        .unwrap_or_default())
}

/// Writes the whole relationship (insert or update). A relationship with nothing left in it is
/// deleted so the table holds only real state.
pub async fn save(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    film: FilmId,
    r: Relationship,
) -> Result<()> {
    let now = Utc::now();
    // Also clears an empty row that `lock` created.
    if r.is_empty() {
        diesel::delete(member_films::table.find((member.get(), film.get())))
            .execute(conn)
            .await?;
        return Ok(());
    }
    let halves = |r: Option<Rating>| r.map(Rating::halves);
    diesel::insert_into(member_films::table)
        .values((
            member_films::member_id.eq(member.get()),
            member_films::film_id.eq(film.get()),
            member_films::watched.eq(r.watched),
            member_films::liked.eq(r.liked),
            member_films::in_watchlist.eq(r.in_watchlist),
            member_films::rating.eq(halves(r.rating)),
            member_films::explicit_rating.eq(halves(r.explicit.and_then(|x| x.rating))),
            member_films::explicit_rated_at.eq(r.explicit.map(|x| x.at)),
            member_films::liked_at.eq(r.liked.then_some(now)),
            member_films::watchlisted_at.eq(r.in_watchlist.then_some(now)),
            member_films::updated_at.eq(now),
        ))
        .on_conflict((member_films::member_id, member_films::film_id))
        .do_update()
        .set((
            member_films::watched.eq(excluded(member_films::watched)),
            member_films::liked.eq(excluded(member_films::liked)),
            member_films::in_watchlist.eq(excluded(member_films::in_watchlist)),
            member_films::rating.eq(excluded(member_films::rating)),
            member_films::explicit_rating.eq(excluded(member_films::explicit_rating)),
            member_films::explicit_rated_at.eq(excluded(member_films::explicit_rated_at)),
            // Keep the time of the first like / watchlisting while it lasts.
            member_films::liked_at.eq(sql::<diesel::sql_types::Nullable<Timestamptz>>(
                "CASE WHEN excluded.liked THEN COALESCE(member_films.liked_at, excluded.liked_at) END",
            )),
            member_films::watchlisted_at.eq(sql::<diesel::sql_types::Nullable<Timestamptz>>(
                "CASE WHEN excluded.in_watchlist THEN COALESCE(member_films.watchlisted_at, excluded.watchlisted_at) END",
            )),
            member_films::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Films a member liked or watchlisted, newest first, after `(at, film id)`.
/// With the reader's own relationship with each film.
pub async fn list(
    conn: &mut AsyncPgConnection,
    member: MemberId,
    viewer: Option<MemberId>,
    watchlist: bool,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<Vec<(FilmSummaryRow, DateTime<Utc>, Option<i16>, ViewerFilmRow)>> {
    let base = member_films::table
        .inner_join(films::table)
        .left_join(crate::viewer_film_on(viewer_id(viewer), films::id))
        .filter(member_films::member_id.eq(member.get()))
        .limit(limit);
    // The same page over either flag and its timestamp (set whenever the flag is).
    let mut query = if watchlist {
        base.filter(member_films::in_watchlist)
            .select((
                FilmSummaryRow::as_select(),
                member_films::watchlisted_at.assume_not_null(),
                member_films::rating,
                crate::viewer_film_columns(),
            ))
            .order((
                member_films::watchlisted_at.desc(),
                member_films::film_id.desc(),
            ))
            .into_boxed()
    } else {
        base.filter(member_films::liked)
            .select((
                FilmSummaryRow::as_select(),
                member_films::liked_at.assume_not_null(),
                member_films::rating,
                crate::viewer_film_columns(),
            ))
            .order((member_films::liked_at.desc(), member_films::film_id.desc()))
            .into_boxed()
    };
    if let Some(key) = after {
        query = if watchlist {
            query.filter(crate::before(
                (member_films::watchlisted_at, member_films::film_id),
                key,
            ))
        } else {
            query.filter(crate::before(
                (member_films::liked_at, member_films::film_id),
                key,
            ))
        };
    }
    Ok(query.load(conn).await?)
}
