//! `filmlog.json`, the document an export holds: everything the member owns, in a versioned
//! schema (published in the OpenAPI document as `ExportDocument`). A Filmlog import reads it back.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `format` of every export.
pub const FORMAT: &str = "filmlog-export";
/// The schema's version: raised when a field changes meaning or goes; new optional fields do not
/// raise it. Importers refuse versions they do not know.
pub const VERSION: u32 = 1;

/// The export document, written as one JSON object with the arrays in this order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportDocument {
    /// Always `filmlog-export`.
    #[schema(example = "filmlog-export")]
    pub format: String,
    #[schema(example = 1)]
    pub version: u32,
    pub exported_at: DateTime<Utc>,
    pub member: ExportedMember,
    pub log_entries: Vec<ExportedEntry>,
    /// The member's state with each film they watched, liked, rated or put on their watchlist.
    pub films: Vec<ExportedFilmState>,
    pub lists: Vec<ExportedList>,
    /// Usernames the member follows.
    pub following: Vec<String>,
    /// The member's comments on reviews and lists.
    pub comments: Vec<ExportedComment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ExportedMember {
    pub username: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub pronouns: Option<String>,
    #[serde(default)]
    pub private_account: bool,
    #[serde(default)]
    pub private_watchlist: bool,
    /// `public`, `followers` or `private`.
    pub default_visibility: Option<String>,
    pub joined_at: Option<DateTime<Utc>>,
}

/// A film as exports name it: the slug and every external id the catalog has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportedFilm {
    pub slug: String,
    pub title: String,
    pub year: Option<i32>,
    pub tmdb_id: Option<i32>,
    pub imdb_id: Option<String>,
    pub letterboxd_uri: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportedEntry {
    pub id: i64,
    pub film: ExportedFilm,
    pub watched_on: Option<NaiveDate>,
    #[serde(default)]
    pub rewatch: bool,
    /// Stars, 0.5–5.0.
    pub rating: Option<f64>,
    pub review: Option<String>,
    #[serde(default)]
    pub contains_spoilers: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    /// `public`, `followers` or `private`.
    pub visibility: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportedFilmState {
    pub film: ExportedFilm,
    #[serde(default)]
    pub watched: bool,
    #[serde(default)]
    pub liked: bool,
    #[serde(default)]
    pub in_watchlist: bool,
    /// The rating the member gave the film itself (not one derived from an entry), in stars.
    pub rating: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportedList {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub ranked: bool,
    pub visibility: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub entries: Vec<ExportedListEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportedListEntry {
    /// 1-based.
    pub position: usize,
    pub film: ExportedFilm,
    pub notes: Option<String>,
    #[serde(default)]
    pub contains_spoilers: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportedComment {
    pub id: i64,
    /// `log_entry` or `list`.
    pub on: String,
    pub target_id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
}
