//! Violation: an import circle, a -> b -> a.
pub mod a;
pub mod b;
