//! The viewer's own state on the rows of a page, read in the page's own statement: a left join of
//! the viewer's relationship with each film (`member_films`, by primary key) and of the viewer's
//! like of each review (`review_likes`, by primary key). For nobody signed in the viewer id is 0,
//! which matches no row.

use diesel::sql_types::{Bool, Nullable, SmallInt};
use diesel::{Queryable, QueryableByName};
use filmlog_domain::visibility::{FilmState, MemberState};
use filmlog_domain::{MemberId, Rating};

use crate::types::DbRating;

diesel::alias!(
    crate::schema::member_films as viewer_films: ViewerFilms,
    crate::schema::review_likes as viewer_likes: ViewerLikes,
    crate::schema::follows as viewer_follows: ViewerFollows
);

/// The id a query binds for `viewer` (0: nobody).
pub fn viewer_id(viewer: Option<MemberId>) -> i64 {
    viewer.map_or(0, MemberId::get)
}

/// The viewer's relationship with a member: following, followed by, follow requested, blocking,
/// muting.
pub type ViewerMemberRow = (bool, bool, bool, bool, bool);

/// [`ViewerMemberRow`] as the domain names it.
pub fn member_state(
    (following, followed_by, follow_requested, blocking, muting): ViewerMemberRow,
) -> MemberState {
    MemberState {
        following,
        followed_by,
        follow_requested,
        blocking,
        muting,
    }
}

/// The viewer's relationship with a film as a left join returns it (all NULL: none).
#[derive(Debug, Clone, Copy, Default, Queryable, QueryableByName)]
pub struct ViewerFilmRow {
    #[diesel(sql_type = Nullable<Bool>, column_name = viewer_watched)]
    pub watched: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>, column_name = viewer_liked)]
    pub liked: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>, column_name = viewer_in_watchlist)]
    pub in_watchlist: Option<bool>,
    #[diesel(sql_type = Nullable<SmallInt>, column_name = viewer_rating, deserialize_as = DbRating)]
    pub rating: Option<Rating>,
}

impl From<ViewerFilmRow> for FilmState {
    fn from(r: ViewerFilmRow) -> Self {
        FilmState {
            watched: r.watched.unwrap_or(false),
            liked: r.liked.unwrap_or(false),
            in_watchlist: r.in_watchlist.unwrap_or(false),
            rating: r.rating,
        }
    }
}
