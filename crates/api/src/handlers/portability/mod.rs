//! Imports of a Letterboxd (or Filmlog) export and exports of everything a member owns: jobs the
//! member starts, watches and (for an import) reviews, confirms or cancels.

mod exports;
mod imports;
mod upload;

pub use exports::*;
pub use imports::*;
pub use upload::*;

/// Rows shown in a job's `unmatched` and `problems` (all of them: `GET …/rows`).
const SHOWN: i64 = 100;
