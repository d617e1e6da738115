//! Response shapes shared by several endpoints.

use chrono::{DateTime, SecondsFormat, Utc};
use filmlog_domain::rules::EntryState;
use filmlog_domain::visibility::{FilmState, MemberState, Relation, Sight, Subject, Viewer, sight};
use filmlog_domain::{Audience, Member, Role};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;

use filmlog_app::credentials::TokenPair;

/// RFC 3339 in UTC with a `Z` and whole seconds: `2026-11-24T22:32:17Z`.
pub fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    Member,
    Admin,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Member => RoleDto::Member,
            Role::Admin => RoleDto::Admin,
        }
    }
}

/// The caller's own account, with the private fields only they may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    #[schema(example = "42")]
    pub id: String,
    #[schema(example = "ana_lima")]
    pub username: String,
    /// Absent for a third-party app's token: no scope reaches the address.
    #[schema(example = "ana@example.com")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether you opened a link mailed to `email` (`POST /me/email-verification` sends a new one).
    /// Webhooks wait for a verified address.
    pub email_verified: bool,
    #[schema(example = "Ana Lima")]
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub pronouns: Option<String>,
    pub role: RoleDto,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-24T22:32:17Z")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-24T22:32:17Z")]
    pub updated_at: DateTime<Utc>,
    /// New followers become requests (`GET /me/follow-requests`), and only followers see more than
    /// your profile header.
    pub private_account: bool,
    /// Only you see your watchlist.
    pub private_watchlist: bool,
    /// The visibility of a new log entry that does not say.
    pub default_visibility: Visibility,
    /// Which notifications you get (`PATCH /me` with `notifications: {"mention": false}`).
    pub notifications: NotificationSettings,
}

/// One switch per kind of notification; all on unless turned off.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// Someone follows you.
    pub follow: bool,
    /// Someone asks to follow your private account.
    pub follow_request: bool,
    /// Someone approved your request to follow them.
    pub follow_approved: bool,
    /// Someone liked your review.
    pub review_like: bool,
    /// Someone liked your list.
    pub list_like: bool,
    /// Someone commented on your review.
    pub review_comment: bool,
    /// Someone commented on your list.
    pub list_comment: bool,
    /// Someone replied in a thread you take part in or subscribed to.
    pub reply: bool,
    /// Someone mentioned you as `@username` in a comment or review.
    pub mention: bool,
}

impl From<&filmlog_domain::notification::Preferences> for NotificationSettings {
    fn from(p: &filmlog_domain::notification::Preferences) -> Self {
        use filmlog_domain::notification::NotificationKind as K;
        NotificationSettings {
            follow: p.wants(K::Follow),
            follow_request: p.wants(K::FollowRequest),
            follow_approved: p.wants(K::FollowApproved),
            review_like: p.wants(K::ReviewLike),
            list_like: p.wants(K::ListLike),
            review_comment: p.wants(K::ReviewComment),
            list_comment: p.wants(K::ListComment),
            reply: p.wants(K::Reply),
            mention: p.wants(K::Mention),
        }
    }
}

/// Who may read a log entry: anyone (`public`), your approved followers (`followers`), or you alone
/// (`private`). A private account's entries are seen by its followers at most.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Followers,
    Private,
}

impl From<Audience> for Visibility {
    fn from(a: Audience) -> Self {
        match a {
            Audience::Public => Visibility::Public,
            Audience::Followers => Visibility::Followers,
            Audience::Private => Visibility::Private,
        }
    }
}

impl From<Visibility> for Audience {
    fn from(v: Visibility) -> Self {
        match v {
            Visibility::Public => Audience::Public,
            Visibility::Followers => Audience::Followers,
            Visibility::Private => Audience::Private,
        }
    }
}

impl Me {
    /// The caller's account as `caller` may see it: an app's token never sees the address.
    pub fn for_caller(m: Member, app: bool) -> Self {
        let mut me = Me::from(m);
        if app {
            me.email = None;
        }
        me
    }
}

impl From<Member> for Me {
    fn from(m: Member) -> Self {
        Me {
            id: m.id.to_string(),
            username: m.username,
            email: Some(m.email),
            email_verified: m.email_verified_at.is_some(),
            display_name: m.display_name,
            bio: m.bio,
            location: m.location,
            website: m.website,
            pronouns: m.pronouns,
            role: m.role.into(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            private_account: m.private_account,
            private_watchlist: m.private_watchlist,
            default_visibility: m.default_visibility.into(),
            notifications: (&m.notifications).into(),
        }
    }
}

/// A member's public profile. Never carries an email address.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberProfile {
    #[schema(example = "ana_lima")]
    pub username: String,
    #[schema(example = "Ana Lima")]
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub pronouns: Option<String>,
    pub role: RoleDto,
    #[schema(example = 12)]
    pub follower_count: i32,
    #[schema(example = 40)]
    pub following_count: i32,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-24T22:32:17Z")]
    pub joined_at: DateTime<Utc>,
    /// Only in your own profile: an account's fields are seen by its owner alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "ana@example.com")]
    pub email: Option<String>,
    /// Lists they made (those you may read are at `/members/{username}/lists`).
    pub list_count: i32,
    /// Following them takes their approval; only their followers see more than this header.
    pub private_account: bool,
    /// Your relationship with them: present when the request carries a token (and is not theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerMember>,
}

impl MemberProfile {
    /// The profile as `viewer` sees it, with their relationship with the member when signed in
    /// (and not the member).
    pub fn seen_by(m: Member, viewer: Viewer, state: MemberState) -> Self {
        let email = match sight(viewer, Subject::Account(m.id), Relation::default()) {
            Sight::Visible => Some(m.email.clone()),
            Sight::Hidden => None,
        };
        let viewer = viewer
            .member()
            .filter(|me| *me != m.id)
            .map(|_| ViewerMember::from(state));
        MemberProfile {
            email,
            viewer,
            ..MemberProfile::from(m)
        }
    }
}

impl From<Member> for MemberProfile {
    /// The profile as anyone sees it.
    fn from(m: Member) -> Self {
        MemberProfile {
            email: None,
            username: m.username,
            display_name: m.display_name,
            bio: m.bio,
            location: m.location,
            website: m.website,
            pronouns: m.pronouns,
            role: m.role.into(),
            follower_count: m.follower_count,
            following_count: m.following_count,
            joined_at: m.created_at,
            list_count: m.list_count,
            private_account: m.private_account,
            viewer: None,
        }
    }
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tokens {
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// A JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque and single-use: send it to `POST /auth/refresh` for a new pair.
    pub refresh_token: String,
    #[schema(example = 2592000)]
    pub refresh_expires_in: u64,
}

impl From<TokenPair> for Tokens {
    fn from(p: TokenPair) -> Self {
        Tokens {
            token_type: "Bearer",
            access_token: p.access_token,
            expires_in: p.access_expires_in,
            refresh_token: p.refresh_token,
            refresh_expires_in: p.refresh_expires_in,
        }
    }
}

/// A new account and its first tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Registered {
    pub member: Me,
    pub tokens: Tokens,
}

/// A member as lists show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberSummary {
    #[schema(example = "shirin")]
    pub username: String,
    #[schema(example = "Shirin Ahmadi")]
    pub display_name: Option<String>,
}

impl From<filmlog_persistence::members::MemberSummaryRow> for MemberSummary {
    fn from(m: filmlog_persistence::members::MemberSummaryRow) -> Self {
        MemberSummary {
            username: m.username,
            display_name: m.display_name,
        }
    }
}

/// A film as lists show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FilmSummary {
    #[schema(example = "children-of-heaven-1997")]
    pub slug: String,
    #[schema(example = "Children of Heaven")]
    pub title: String,
    #[schema(example = 1997)]
    pub year: Option<i32>,
    pub poster_url: Option<String>,
    /// Your own state with the film: present when the request carries a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerFilm>,
}

impl From<filmlog_persistence::catalog::FilmSummaryRow> for FilmSummary {
    fn from(f: filmlog_persistence::catalog::FilmSummaryRow) -> Self {
        FilmSummary {
            slug: f.slug,
            title: f.title,
            year: f.year,
            poster_url: f.poster_url,
            viewer: None,
        }
    }
}

impl FilmSummary {
    /// With `viewer`'s state when a member is reading (read in the page's own statement).
    pub fn seen_by(
        mut self,
        viewer: Viewer,
        state: filmlog_persistence::viewer::ViewerFilmRow,
    ) -> Self {
        self.viewer = viewer.member().map(|_| FilmState::from(state).into());
        self
    }
}

/// The reader's own state with a film.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ViewerFilm {
    pub watched: bool,
    pub liked: bool,
    pub in_watchlist: bool,
    /// Your current rating, in stars.
    #[schema(example = 4.5)]
    pub rating: Option<f64>,
}

impl From<FilmState> for ViewerFilm {
    fn from(s: FilmState) -> Self {
        ViewerFilm {
            watched: s.watched,
            liked: s.liked,
            in_watchlist: s.in_watchlist,
            rating: s.rating.map(filmlog_domain::Rating::stars),
        }
    }
}

/// The reader's own state with a log entry.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ViewerEntry {
    /// You like its review.
    pub liked: bool,
    /// You may like it: it has a review (not removed) and is not yours.
    pub can_like: bool,
    /// You may comment on it: it has a review (not removed).
    pub can_comment: bool,
}

impl From<EntryState> for ViewerEntry {
    fn from(s: EntryState) -> Self {
        ViewerEntry {
            liked: s.liked,
            can_like: s.can_like,
            can_comment: s.can_comment,
        }
    }
}

/// The reader's relationship with a member.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ViewerMember {
    pub following: bool,
    pub followed_by: bool,
    /// You asked to follow their private account and they have not answered.
    pub follow_requested: bool,
    pub blocking: bool,
    pub muting: bool,
}

impl From<MemberState> for ViewerMember {
    fn from(s: MemberState) -> Self {
        ViewerMember {
            following: s.following,
            followed_by: s.followed_by,
            follow_requested: s.follow_requested,
            blocking: s.blocking,
            muting: s.muting,
        }
    }
}

/// Stars from stored half stars.
pub fn stars(halves: Option<i16>) -> Option<f64> {
    halves.map(|h| f64::from(h) / 2.0)
}

/// Array elements are never NULL (the API writes none); drops any that are.
pub fn flatten_tags(tags: Vec<Option<String>>) -> Vec<String> {
    tags.into_iter().flatten().collect()
}

/// A member and when they did something.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberAt {
    pub member: MemberSummary,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    /// Your relationship with them, in lists of members others follow or like (followers,
    /// following, likers) when the request carries a token and they are not you.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer: Option<ViewerMember>,
}

impl MemberAt {
    /// A page of members with when (followers, likers, blocks, …), keyed on `(at, member id)`, from
    /// `limit + 1` rows.
    pub fn page(
        rows: Vec<(
            filmlog_persistence::members::MemberSummaryRow,
            DateTime<Utc>,
        )>,
        limit: i64,
    ) -> crate::pagination::Page<MemberAt> {
        crate::pagination::page(
            rows,
            limit,
            |(m, at)| (*at, m.id),
            |(m, at)| MemberAt {
                member: m.into(),
                at,
                viewer: None,
            },
        )
    }

    /// [`MemberAt::page`] with the viewer's relationship with each member.
    pub fn page_seen_by(
        rows: Vec<(
            filmlog_persistence::members::MemberSummaryRow,
            DateTime<Utc>,
            filmlog_persistence::viewer::ViewerMemberRow,
        )>,
        limit: i64,
        viewer: Viewer,
    ) -> crate::pagination::Page<MemberAt> {
        crate::pagination::page(
            rows,
            limit,
            |(m, at, _)| (*at, m.id),
            |(m, at, state)| MemberAt {
                viewer: viewer
                    .member()
                    .filter(|me| *me != m.id)
                    .map(|_| filmlog_persistence::viewer::member_state(state).into()),
                member: m.into(),
                at,
            },
        )
    }
}

/// What a login whose password was right answers when the account signs in with a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct TwoFactorChallenge {
    /// Always `true`.
    pub two_factor_required: bool,
    /// Send it with a code to `POST /auth/login/two-factor`.
    pub challenge: String,
    /// Seconds the challenge waits (five wrong codes end it sooner).
    #[schema(example = 300)]
    pub expires_in: u64,
}

impl TwoFactorChallenge {
    pub fn new(challenge: String) -> Self {
        TwoFactorChallenge {
            two_factor_required: true,
            challenge,
            expires_in: filmlog_app::ops::two_factor::CHALLENGE_FOR.as_secs(),
        }
    }
}
