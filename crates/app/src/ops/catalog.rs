//! The catalog as admins change it: adding films, correcting them, merging duplicates.

use diesel_async::AsyncConnection;
use filmlog_domain::{FilmId, MemberId, rules};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::catalog::{
    self, FilmChanges, FilmPage, FilmRow, Merged, NewCredit, NewFilm,
};

use super::idempotency::{Idempotency, Outcome};
use super::{OpError, OpResult, step};

/// Adds a film with its credits once per idempotency key; `render` turns the new film's page (read
/// in the same unit, as `admin` sees it) into the response stored under the key.
pub async fn add_once(
    conn: &mut AsyncPgConnection,
    idempotency: &Idempotency,
    admin: MemberId,
    film: &NewFilm,
    credits: &[NewCredit],
    render: impl FnOnce(FilmPage) -> OpResult<Outcome> + Send,
) -> OpResult<Outcome> {
    let (film, credits) = (film.clone(), credits.to_vec());
    let create = step(move |conn| {
        Box::pin(async move {
            let row = catalog::insert_film(conn, &film, &credits).await?;
            catalog::film_page(conn, &row.slug, Some(admin), false)
                .await?
                .ok_or(OpError::NotFound("that film"))
        })
    });
    idempotency.once(conn, admin, create, render).await
}

/// Corrects a film (the slug never changes).
pub async fn correct(
    conn: &mut AsyncPgConnection,
    id: FilmId,
    changes: &FilmChanges,
) -> OpResult<FilmRow> {
    conn.transaction(async |conn| Ok(catalog::update_film(conn, id, changes).await?))
        .await
}

/// Merges a duplicate into the film that stays: every member's state, entry and list entry moves.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    source: FilmId,
    target: FilmId,
) -> OpResult<Merged> {
    rules::check_merge(source, target)?;
    conn.transaction(async |conn| Ok(catalog::merge(conn, source, target).await?))
        .await
}
