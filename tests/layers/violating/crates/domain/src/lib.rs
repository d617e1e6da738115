//! Violation: two import circles, a -> b -> a, and c -> d::e -> c through grouped paths.
pub mod a;
pub mod b;
pub mod c;
pub mod d;
