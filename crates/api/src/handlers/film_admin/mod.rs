//! The catalog for admins: create and change films.

mod curation;
mod edit;

pub use curation::*;
pub use edit::*;
