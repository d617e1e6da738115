//! The catalog as admins change it: adding films, correcting them, merging duplicates.

use diesel_async::AsyncConnection;
use filmlog_domain::{FilmId, MemberId, rules};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::catalog::{self, FilmChanges, FilmRow, Merged, NewCredit, NewFilm};

use super::idempotency::{Idempotency, Outcome};
use super::{OpResult, step};

/// Adds a film with its credits once per idempotency key; `render` reads the new film (on the
/// unit's connection) into the response stored under the key.
pub async fn add_once(
    conn: &mut AsyncPgConnection,
    idempotency: &Idempotency,
    admin: MemberId,
    film: &NewFilm,
    credits: &[NewCredit],
    render: impl for<'c> FnOnce(&'c mut AsyncPgConnection, FilmRow) -> super::Step<'c, Outcome>
    + Send
    + 'static,
) -> OpResult<Outcome> {
    let (film, credits) = (film.clone(), credits.to_vec());
    let create = step(move |conn| {
        Box::pin(async move {
            let row = catalog::insert_film(conn, &film, &credits).await?;
            render(conn, row).await
        })
    });
    idempotency.once(conn, admin, create, Ok).await
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

/// Pins a closure to the signature [`add_once`] takes for its `render` (closures do not infer it
/// alone).
pub fn render<F>(render: F) -> F
where
    F: for<'c> FnOnce(&'c mut AsyncPgConnection, FilmRow) -> super::Step<'c, Outcome>,
{
    render
}
