//! People: their pages (a filmography as the viewer may see it) and the admins' merges and splits,
//! each written to the catalog log in the same transaction.

use diesel::prelude::PgSortExpressionMethods;
use diesel::sql_types::{BigInt, Text};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::{CreditRole, FilmId, MemberId, PersonId};

use crate::Result;
use crate::catalog::FilmSummaryRow;
use crate::schema::{catalog_log, film_credits, films, people};
use crate::types::DbName;
use crate::viewer::{ViewerFilmRow, viewer_id};

/// The most credits a person page lists (the catalog's busiest person has under 200).
pub const MAX_FILMOGRAPHY: i64 = 2000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = people, check_for_backend(diesel::pg::Pg))]
pub struct PersonRow {
    #[diesel(deserialize_as = i64)]
    pub id: PersonId,
    pub slug: String,
    pub name: String,
}

/// One credit of a person, with its film as the viewer sees it.
#[derive(Debug, Clone, Queryable)]
pub struct CreditedFilm {
    #[diesel(deserialize_as = DbName<CreditRole>)]
    pub role: CreditRole,
    pub character: Option<String>,
    pub billing_order: i32,
    pub film: FilmSummaryRow,
    pub viewer: ViewerFilmRow,
}

pub async fn by_slug(conn: &mut AsyncPgConnection, slug: &str) -> Result<Option<PersonRow>> {
    Ok(people::table
        .filter(people::slug.eq(slug))
        .select(PersonRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// A person's credits on the films `viewer` may see, by role (directors first, cast third), each
/// role's newest film first; at most [`MAX_FILMOGRAPHY`].
pub async fn filmography(
    conn: &mut AsyncPgConnection,
    person: PersonId,
    viewer: Option<MemberId>,
) -> Result<Vec<CreditedFilm>> {
    let rows: Vec<CreditedFilm> = film_credits::table
        .inner_join(films::table)
        .left_join(crate::viewer_film_on(viewer_id(viewer), films::id))
        .filter(film_credits::person_id.eq(person.get()))
        .filter(crate::film_in_scope(viewer_id(viewer), false))
        .order((
            films::year.desc().nulls_last(),
            films::title.asc(),
            films::id.asc(),
        ))
        .select((
            film_credits::role,
            film_credits::character,
            film_credits::billing_order,
            FilmSummaryRow::as_select(),
            crate::viewer_film_columns(),
        ))
        .limit(MAX_FILMOGRAPHY)
        .load(conn)
        .await?;
    let mut rows = rows;
    rows.sort_by_key(|r| r.role);
    Ok(rows)
}

/// Locks people's rows, in id order (merges and splits never wait on each other in a cycle);
/// returns how many were there.
pub async fn lock(conn: &mut AsyncPgConnection, ids: &[PersonId]) -> Result<usize> {
    let ids: Vec<i64> = ids.iter().map(|p| p.get()).collect();
    let locked: Vec<i64> = people::table
        .filter(people::id.eq_any(&ids))
        .order(people::id)
        .select(people::id)
        .for_update()
        .load(conn)
        .await?;
    Ok(locked.len())
}

/// What a merge moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Credits that moved to the person who stays.
    pub credits_moved: usize,
    /// Credits the person who stays already had (same film and role), dropped with the other.
    pub credits_dropped: usize,
}

/// Merges `from` into `into` (both locked first): `from`'s credits move, except those `into` has
/// on the same film in the same role, and `from` is deleted. `None` when either is gone.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    from: PersonId,
    into: PersonId,
) -> Result<Option<Merged>> {
    if lock(conn, &[from, into]).await? != 2 {
        return Ok(None);
    }
    let moved = diesel::sql_query(
        "UPDATE film_credits c SET person_id = $2 WHERE c.person_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM film_credits d WHERE d.film_id = c.film_id AND d.role = c.role AND d.person_id = $2)",
    )
    .bind::<BigInt, _>(from.get())
    .bind::<BigInt, _>(into.get())
    .execute(conn)
    .await?;
    let dropped =
        diesel::delete(film_credits::table.filter(film_credits::person_id.eq(from.get())))
            .execute(conn)
            .await?;
    diesel::delete(people::table.find(from.get()))
        .execute(conn)
        .await?;
    Ok(Some(Merged {
        credits_moved: moved,
        credits_dropped: dropped,
    }))
}

/// The films among `films` that `person` is credited on.
pub async fn credited_films(
    conn: &mut AsyncPgConnection,
    person: PersonId,
    films: &[FilmId],
) -> Result<Vec<FilmId>> {
    let ids: Vec<i64> = films.iter().map(|f| f.get()).collect();
    let found: Vec<i64> = film_credits::table
        .filter(film_credits::person_id.eq(person.get()))
        .filter(film_credits::film_id.eq_any(&ids))
        .select(film_credits::film_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(found.into_iter().map(FilmId::new).collect())
}

/// Splits `person`: a new person of the same name (with a slug of their own) takes their credits
/// on `films`. `None` when the person is gone.
pub async fn split(
    conn: &mut AsyncPgConnection,
    person: PersonId,
    films: &[FilmId],
) -> Result<Option<(PersonRow, usize)>> {
    if lock(conn, &[person]).await? != 1 {
        return Ok(None);
    }
    let made: PersonRow = diesel::sql_query(
        "INSERT INTO people (name, slug) SELECT name, free_person_slug(name) FROM people WHERE id = $1 \
         RETURNING id, slug, name",
    )
    .bind::<BigInt, _>(person.get())
    .get_result::<NewPerson>(conn)
    .await
    .map(|p| PersonRow {
        id: PersonId::new(p.id),
        slug: p.slug,
        name: p.name,
    })?;
    let ids: Vec<i64> = films.iter().map(|f| f.get()).collect();
    let moved = diesel::update(
        film_credits::table
            .filter(film_credits::person_id.eq(person.get()))
            .filter(film_credits::film_id.eq_any(&ids)),
    )
    .set(film_credits::person_id.eq(made.id.get()))
    .execute(conn)
    .await?;
    Ok(Some((made, moved)))
}

#[derive(QueryableByName)]
struct NewPerson {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    name: String,
}

/// What an admin did to the catalog's people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogAction {
    MergePeople,
    SplitPerson,
}

/// Appends a line to the catalog log.
pub async fn log(
    conn: &mut AsyncPgConnection,
    admin: MemberId,
    action: LogAction,
    detail: serde_json::Value,
) -> Result<i64> {
    let username = crate::schema::members::table
        .find(admin.get())
        .select(crate::schema::members::username)
        .first::<String>(conn)
        .await?;
    let action = match action {
        LogAction::MergePeople => "merge_people",
        LogAction::SplitPerson => "split_person",
    };
    Ok(diesel::insert_into(catalog_log::table)
        .values((
            catalog_log::admin_id.eq(admin.get()),
            catalog_log::admin_username.eq(username),
            catalog_log::action.eq(action),
            catalog_log::detail.eq(detail),
        ))
        .returning(catalog_log::id)
        .get_result(conn)
        .await?)
}

/// The newest lines of the catalog log, as (action, admin username, detail).
pub async fn recent_log(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<(String, String, serde_json::Value)>> {
    Ok(catalog_log::table
        .order(catalog_log::id.desc())
        .select((
            catalog_log::action,
            catalog_log::admin_username,
            catalog_log::detail,
        ))
        .limit(limit)
        .load(conn)
        .await?)
}
