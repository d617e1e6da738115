//! The catalog's people as admins correct them: merging two people who are one, splitting one
//! name that is two people. Each is one transaction with its line in the catalog log.

use diesel_async::AsyncConnection;
use filmlog_domain::{FilmId, MemberId, rules};
use filmlog_persistence::AsyncPgConnection;
use filmlog_persistence::people::{self, LogAction, Merged, PersonRow};
use serde_json::json;

use super::{FieldIssue, OpError, OpResult};

/// The most films one split may move.
pub const MAX_SPLIT_FILMS: usize = 500;

/// Merges `from` into `into`: `from`'s credits move (a credit `into` has already is dropped) and
/// `from` is deleted.
pub async fn merge(
    conn: &mut AsyncPgConnection,
    admin: MemberId,
    from: &PersonRow,
    into: &PersonRow,
) -> OpResult<Merged> {
    rules::check_person_merge(from.id, into.id)?;
    conn.transaction(async |conn| {
        let merged = people::merge(conn, from.id, into.id)
            .await?
            .ok_or(OpError::NotFound("that person"))?;
        let detail = json!({
            "from": {"slug": from.slug, "name": from.name},
            "into": {"slug": into.slug, "name": into.name},
            "credits_moved": merged.credits_moved,
            "credits_dropped": merged.credits_dropped,
        });
        people::log(conn, admin, LogAction::MergePeople, detail).await?;
        tracing::info!(admin = admin.get(), from = %from.slug, into = %into.slug,
            moved = merged.credits_moved, "people merged");
        Ok(merged)
    })
    .await
}

/// Splits `person`: a new person of the same name takes their credits on `films`, each of which
/// must credit them.
pub async fn split(
    conn: &mut AsyncPgConnection,
    admin: MemberId,
    person: &PersonRow,
    films: &[(FilmId, String)],
) -> OpResult<(PersonRow, usize)> {
    if films.is_empty() || films.len() > MAX_SPLIT_FILMS {
        return Err(OpError::Invalid(vec![FieldIssue::new(
            "/films",
            "invalid_films",
            format!("name 1 to {MAX_SPLIT_FILMS} films"),
        )]));
    }
    let ids: Vec<FilmId> = films.iter().map(|(id, _)| *id).collect();
    conn.transaction(async |conn| {
        // The person's row first: what credits them cannot change under the check.
        if people::lock(conn, &[person.id]).await? == 0 {
            return Err(OpError::NotFound("that person"));
        }
        let credited = people::credited_films(conn, person.id, &ids).await?;
        let issues: Vec<FieldIssue> = films
            .iter()
            .enumerate()
            .filter(|(_, (id, _))| !credited.contains(id))
            .map(|(i, (_, slug))| {
                FieldIssue::new(
                    format!("/films/{i}"),
                    "not_credited",
                    format!("{slug} does not credit {}", person.name),
                )
            })
            .collect();
        if !issues.is_empty() {
            return Err(OpError::Invalid(issues));
        }
        let (made, moved) = people::split(conn, person.id, &ids)
            .await?
            .ok_or(OpError::NotFound("that person"))?;
        let slugs: Vec<&str> = films.iter().map(|(_, s)| s.as_str()).collect();
        let detail = json!({
            "person": {"slug": person.slug, "name": person.name},
            "new_person": {"slug": made.slug},
            "films": slugs,
            "credits_moved": moved,
        });
        people::log(conn, admin, LogAction::SplitPerson, detail).await?;
        tracing::info!(admin = admin.get(), person = %person.slug, new_person = %made.slug,
            moved, "person split");
        Ok((made, moved))
    })
    .await
}
