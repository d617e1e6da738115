//! The catalog for admins: create and change films.

mod correct;
mod curation;
mod edit;

pub use correct::*;
pub use curation::*;
pub use edit::*;
