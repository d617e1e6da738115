//! Members: rows, forms and queries.

use chrono::{DateTime, Utc};
use diesel::{AsChangeset, OptionalExtension};
use diesel::{ExpressionMethods, QueryDsl, Queryable, Selectable, SelectableHelper};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use filmlog_domain::visibility::MemberState;
use filmlog_domain::{
    Audience, Bio, DisplayName, Email, Location, Member, MemberId, ProfileChange, Pronouns, Role,
    Website,
};

use crate::schema::members;
use crate::types::{DbName, DbRole};
use crate::viewer::{ViewerMemberRow, member_state, viewer_id};
use crate::{PersistenceError, Result, lower};

/// Name of the unique index on `lower(username)`.
pub const USERNAME_KEY: &str = "members_username_key";
/// Name of the unique index on `email_key` (see `Email::key`) of verified addresses (several members
/// may claim an address until one verifies it).
pub const EMAIL_KEY: &str = "members_email_key";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    #[diesel(deserialize_as = i64)]
    pub id: MemberId,
    pub username: String,
    pub email: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub pronouns: Option<String>,
    #[diesel(deserialize_as = DbRole)]
    pub role: Role,
    pub follower_count: i32,
    pub following_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub suspended_until: Option<DateTime<Utc>>,
    pub private_account: bool,
    pub private_watchlist: bool,
    #[diesel(deserialize_as = DbName<Audience>)]
    pub default_visibility: Audience,
    pub list_count: i32,
    pub notifications_off: Vec<Option<String>>,
}

/// What lists show of a member.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct MemberSummaryRow {
    #[diesel(deserialize_as = i64)]
    pub id: MemberId,
    pub username: String,
    pub display_name: Option<String>,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified_at: row.email_verified_at,
            display_name: row.display_name,
            bio: row.bio,
            location: row.location,
            website: row.website,
            pronouns: row.pronouns,
            role: row.role,
            follower_count: row.follower_count,
            following_count: row.following_count,
            created_at: row.created_at,
            updated_at: row.updated_at,
            suspended_until: row.suspended_until,
            private_account: row.private_account,
            private_watchlist: row.private_watchlist,
            default_visibility: row.default_visibility,
            list_count: row.list_count,
            notifications: filmlog_domain::notification::Preferences::from_off(
                &row.notifications_off
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

#[derive(Debug)]
pub struct NewMember<'a> {
    pub username: &'a str,
    /// Stored as given, unique by its key.
    pub email: &'a Email,
    pub password_hash: &'a str,
}

/// A profile update: `None` leaves a column, `Some(None)` sets it NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = members)]
pub struct MemberChanges {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub pronouns: Option<Option<String>>,
    pub private_account: Option<bool>,
    pub private_watchlist: Option<bool>,
    pub default_visibility: Option<&'static str>,
    pub notifications_off: Option<Vec<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<ProfileChange> for MemberChanges {
    fn from(c: ProfileChange) -> Self {
        MemberChanges {
            display_name: c.display_name.map(|v| v.map(DisplayName::into_inner)),
            bio: c.bio.map(|v| v.map(Bio::into_inner)),
            location: c.location.map(|v| v.map(Location::into_inner)),
            website: c.website.map(|v| v.map(Website::into_inner)),
            pronouns: c.pronouns.map(|v| v.map(Pronouns::into_inner)),
            private_account: c.private_account,
            private_watchlist: c.private_watchlist,
            default_visibility: c.default_visibility.map(Audience::as_str),
            notifications_off: None,
            updated_at: Some(Utc::now()),
        }
    }
}

/// Inserts a member, their address unverified. Fails with a unique violation of [`USERNAME_KEY`]
/// (several members may claim an address until one verifies it).
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewMember<'_>) -> Result<Member> {
    let row = diesel::insert_into(members::table)
        .values((
            members::username.eq(new.username),
            members::email.eq(new.email.as_str()),
            members::email_key.eq(new.email.key()),
            members::password_hash.eq(new.password_hash),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

pub async fn find(conn: &mut AsyncPgConnection, id: MemberId) -> Result<Option<Member>> {
    let row = members::table
        .find(id.get())
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into))
}

/// The member, locked until the transaction ends (for a conditional write).
pub async fn lock(conn: &mut AsyncPgConnection, id: MemberId) -> Result<Option<Member>> {
    let row = members::table
        .find(id.get())
        .select(MemberRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into))
}

/// Finds a member by username, whatever its case.
pub async fn find_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> Result<Option<Member>> {
    let row = members::table
        .filter(lower(members::username).eq(username.to_lowercase()))
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Into::into))
}

/// The id, password hash and suspension of a member, for login.
pub async fn find_credentials(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> Result<Option<(MemberId, String, Option<DateTime<Utc>>)>> {
    let found: Option<(i64, String, Option<DateTime<Utc>>)> = members::table
        .filter(lower(members::username).eq(username.to_lowercase()))
        .select((
            members::id,
            members::password_hash,
            members::suspended_until,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(id, hash, until)| (MemberId::new(id), hash, until)))
}

/// What a read of one member's things needs to decide its viewer's sight, and the viewer's
/// relationship with the member, in one statement: whether the member is suspended now, their
/// privacy settings, whether they block the viewer, and the viewer's follow, request, block and mute.
#[derive(Debug, Clone, Copy)]
pub struct Standing {
    pub id: MemberId,
    pub suspended: bool,
    /// The member blocked the viewer.
    pub blocks_viewer: bool,
    pub private_account: bool,
    pub private_watchlist: bool,
    /// The viewer's relationship with the member (`blocking`: the viewer blocked them).
    pub viewer: MemberState,
}

impl Standing {
    /// The blocks between the member and the viewer, as the visibility rule takes them.
    pub fn blocks(&self) -> filmlog_domain::Blocks {
        filmlog_domain::Blocks {
            by_viewer: self.viewer.blocking,
            of_viewer: self.blocks_viewer,
        }
    }

    /// What the visibility rule takes of the member and the viewer.
    pub fn relation(&self) -> filmlog_domain::Relation {
        filmlog_domain::Relation {
            blocks: self.blocks(),
            owner_suspended: self.suspended,
            owner_private: self.private_account,
            watchlist_private: self.private_watchlist,
            follows_owner: self.viewer.following,
        }
    }
}

/// Which members a [`Standing`] is of.
enum Whom<'a> {
    Id(MemberId),
    Username(&'a str),
    /// Lower-cased usernames.
    Usernames(&'a [String]),
    /// The owner of a list.
    ListOwner(filmlog_domain::ListId),
    /// The author of a log entry.
    EntryAuthor(filmlog_domain::LogEntryId),
}

/// In the DSL so that diesel keeps it prepared: every read of one member's things sends it.
async fn standing_of(
    mut conn: &AsyncPgConnection,
    viewer: Option<MemberId>,
    whom: Whom<'_>,
) -> Result<Vec<(Standing, String)>> {
    let blocks_viewer = crate::filters::blocks_viewer(viewer_id(viewer), members::id);
    let mut query = members::table
        .select((
            members::id,
            members::suspended_until,
            blocks_viewer,
            members::private_account,
            members::private_watchlist,
            crate::viewer_member_columns(viewer_id(viewer)),
            members::username,
        ))
        .into_boxed();
    query = match whom {
        Whom::Id(id) => query.filter(members::id.eq(id.get())).limit(1),
        Whom::Username(name) => query
            .filter(lower(members::username).eq(name.to_lowercase()))
            .limit(1),
        Whom::Usernames(names) => query.filter(lower(members::username).eq_any(names)),
        Whom::ListOwner(list) => query
            .filter(
                members::id.eq_any(
                    crate::schema::lists::table
                        .filter(crate::schema::lists::id.eq(list.get()))
                        .select(crate::schema::lists::owner_id),
                ),
            )
            .limit(1),
        Whom::EntryAuthor(entry) => query
            .filter(
                members::id.eq_any(
                    crate::schema::log_entries::table
                        .filter(crate::schema::log_entries::id.eq(entry.get()))
                        .select(crate::schema::log_entries::member_id),
                ),
            )
            .limit(1),
    };
    type Row = (
        i64,
        Option<DateTime<Utc>>,
        bool,
        bool,
        bool,
        ViewerMemberRow,
        String,
    );
    let rows: Vec<Row> = query.load(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, until, blocks_viewer, private_account, private_watchlist, state, username)| {
                let standing = Standing {
                    id: MemberId::new(id),
                    suspended: until.is_some_and(|u| u > Utc::now()),
                    blocks_viewer,
                    private_account,
                    private_watchlist,
                    viewer: member_state(state),
                };
                (standing, username)
            },
        )
        .collect())
}

/// [`Standing`] of the member `id` for `viewer`.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    id: MemberId,
) -> Result<Option<Standing>> {
    Ok(standing_of(conn, viewer, Whom::Id(id))
        .await?
        .pop()
        .map(|(s, _)| s))
}

/// [`Standing`] of the owner of the list `list` for `viewer` (none when there is no such list): a
/// statement that needs no earlier answer, so it can travel with the list's own reads.
pub async fn standing_of_list_owner(
    conn: &AsyncPgConnection,
    viewer: Option<MemberId>,
    list: filmlog_domain::ListId,
) -> Result<Option<Standing>> {
    Ok(standing_of(conn, viewer, Whom::ListOwner(list))
        .await?
        .pop()
        .map(|(s, _)| s))
}

/// [`Standing`] of the author of the log entry `entry` for `viewer` (none when there is no such
/// entry): like [`standing_of_list_owner`], it can travel with the entry's own read.
pub async fn standing_of_entry_author(
    conn: &AsyncPgConnection,
    viewer: Option<MemberId>,
    entry: filmlog_domain::LogEntryId,
) -> Result<Option<Standing>> {
    Ok(standing_of(conn, viewer, Whom::EntryAuthor(entry))
        .await?
        .pop()
        .map(|(s, _)| s))
}

/// [`Standing`] of the member a username names (whatever its case) for `viewer`.
pub async fn standing_by_username(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    username: &str,
) -> Result<Option<Standing>> {
    Ok(standing_of(conn, viewer, Whom::Username(username))
        .await?
        .pop()
        .map(|(s, _)| s))
}

/// [`Standing`] of each member `usernames` names (any case), with their usernames as stored.
pub async fn standings_by_username(
    conn: &mut AsyncPgConnection,
    viewer: Option<MemberId>,
    usernames: &[String],
) -> Result<Vec<(Standing, String)>> {
    let lowered: Vec<String> = usernames.iter().map(|u| u.to_lowercase()).collect();
    standing_of(conn, viewer, Whom::Usernames(&lowered)).await
}

/// Suspends a member until `until` (`None`: for good).
pub async fn suspend(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    until: Option<DateTime<Utc>>,
) -> Result<()> {
    diesel::update(members::table.find(id.get()))
        .set(members::suspended_until.eq(until.unwrap_or_else(filmlog_domain::moderation::forever)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends a member's suspension.
pub async fn lift_suspension(conn: &mut AsyncPgConnection, id: MemberId) -> Result<()> {
    diesel::update(members::table.find(id.get()))
        .set(members::suspended_until.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn id_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> Result<Option<MemberId>> {
    let id: Option<i64> = members::table
        .filter(lower(members::username).eq(username.to_lowercase()))
        .select(members::id)
        .first(conn)
        .await
        .optional()?;
    Ok(id.map(MemberId::new))
}

pub async fn password_hash(conn: &mut AsyncPgConnection, id: MemberId) -> Result<String> {
    Ok(members::table
        .find(id.get())
        .select(members::password_hash)
        .first(conn)
        .await?)
}

pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    changes: &MemberChanges,
) -> Result<Member> {
    let row = diesel::update(members::table.find(id.get()))
        .set(changes)
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

pub async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    hash: &str,
) -> Result<()> {
    let n = diesel::update(members::table.find(id.get()))
        .set((
            members::password_hash.eq(hash),
            members::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    if n == 0 {
        Err(PersistenceError::NotFound)
    } else {
        Ok(())
    }
}

/// A member who has (or claims) an address, as a mail to it names them.
#[derive(Debug, Clone, Queryable)]
pub struct Claimant {
    #[diesel(deserialize_as = i64)]
    pub id: MemberId,
    pub username: String,
    pub email: String,
    pub verified: bool,
}

/// The members who have the address with this key: the one who verified it, if one did, else (at
/// most `limit` of) those who claim it unverified, oldest first.
pub async fn holders_of_address(
    conn: &mut AsyncPgConnection,
    email_key: &str,
    limit: i64,
) -> Result<Vec<Claimant>> {
    let rows: Vec<Claimant> = members::table
        .filter(members::email_key.eq(email_key))
        .select((
            members::id,
            members::username,
            members::email,
            members::email_verified_at.is_not_null(),
        ))
        .order((members::email_verified_at.is_null(), members::id))
        .limit(limit)
        .load(conn)
        .await?;
    let verified = <[Claimant]>::first(&rows).is_some_and(|first| first.verified);
    Ok(if verified {
        rows.into_iter().take(1).collect()
    } else {
        rows
    })
}

/// Marks `id`'s address verified, when its key is still `email_key` and it is not verified yet;
/// `false` when it was not (the address changed since the link was sent, or it was verified
/// already). Fails with a unique violation of [`EMAIL_KEY`] when another member verified the address
/// first.
pub async fn verify_email(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    email_key: &str,
) -> Result<bool> {
    let n = diesel::update(
        members::table
            .find(id.get())
            .filter(members::email_key.eq(email_key))
            .filter(members::email_verified_at.is_null()),
    )
    .set(members::email_verified_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Gives `id` the address `email` (its key `email_key`), verified now: the member opened a link sent
/// to it. Fails with a unique violation of [`EMAIL_KEY`] when another member verified it first.
pub async fn set_verified_email(
    conn: &mut AsyncPgConnection,
    id: MemberId,
    email: &str,
    email_key: &str,
) -> Result<()> {
    diesel::update(members::table.find(id.get()))
        .set((
            members::email.eq(email),
            members::email_key.eq(email_key),
            members::email_verified_at.eq(Some(Utc::now())),
            members::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_role(conn: &mut AsyncPgConnection, username: &str, role: Role) -> Result<Member> {
    let row =
        diesel::update(members::table.filter(lower(members::username).eq(username.to_lowercase())))
            .set((
                members::role.eq(role.as_str()),
                members::updated_at.eq(Utc::now()),
            ))
            .returning(MemberRow::as_returning())
            .get_result(conn)
            .await?;
    Ok(row.into())
}

/// Deletes a member; their sessions and refresh tokens go with them (ON DELETE CASCADE).
pub async fn delete(conn: &mut AsyncPgConnection, id: MemberId) -> Result<()> {
    let n = diesel::delete(members::table.find(id.get()))
        .execute(conn)
        .await?;
    if n == 0 {
        Err(PersistenceError::NotFound)
    } else {
        Ok(())
    }
}
