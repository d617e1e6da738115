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

#[cfg(test)]
mod tests {
    use filmlog_domain::RuleError;

    use super::*;
    use crate::ops::fixture::Fixture;

    #[tokio::test]
    async fn a_film_merges_into_another_with_its_entries_and_never_into_itself() {
        let mut f = Fixture::new().await;
        let ana = f.member("ana").await;
        let duplicate = f.film("children-of-heaven").await;
        let kept = f.film("children-of-heaven-1997").await;
        f.review(ana, "children-of-heaven").await;

        let into_itself = merge(&mut f.conn, kept, kept).await;
        assert!(
            matches!(into_itself, Err(OpError::Rule(RuleError::SameFilm))),
            "{into_itself:?}"
        );
        assert_eq!(f.count("films").await, 2);

        let merged = merge(&mut f.conn, duplicate, kept)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((merged.members, merged.log_entries), (1, 1));
        assert_eq!(f.count("films").await, 1);
        assert_eq!(
            f.count(&format!("log_entries WHERE film_id = {kept}"))
                .await,
            1,
            "the entry moved to the film that stays"
        );
    }
}
