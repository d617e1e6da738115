//! Filmlog's domain: typed ids, validating value types and the business rules that need no I/O.
//!
//! Every value a client can send is parsed here into a type that can only hold a valid value
//! ("parse, don't validate"); each constructor returns a typed error that the API turns into a 422 with
//! a stable code.

#[macro_use]
pub mod names;
pub mod activity;
pub mod film;
pub mod ids;
pub mod list;
pub mod log;
pub mod member;
pub mod moderation;
pub mod notification;
pub mod oauth;
pub mod portability;
pub mod relationship;
pub mod rules;
pub mod search;
pub mod text;
pub mod username;
pub mod visibility;
pub mod webhook;

pub use activity::ActivityKind;
pub use film::*;
pub use ids::*;
pub use log::*;
pub use member::*;
pub use rules::{RuleError, RuleKind};
pub use text::TextError;
pub use visibility::{Audience, Blocks, Relation, Sight, Subject, Viewer};
