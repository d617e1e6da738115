//! Notifications, thread subscriptions and delta sync: what happened to the caller's things, and
//! what changed of them.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

mod inbox;
mod live;
mod subscriptions;
mod sync;

pub use inbox::*;
pub use live::*;
pub use subscriptions::*;
pub use sync::*;

/// A time with all its precision (a client sends it back as `up_to`, so seconds would not do).
fn exact<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
}

fn exact_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => exact(t, s),
        None => s.serialize_none(),
    }
}
