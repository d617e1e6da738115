//! Filmlog's application layer: the use cases (each loads what the domain's rules need, asks them and
//! applies their effects through persistence inside its own transaction), the credential services,
//! the visibility decision every read passes through, and the codes of every error the API sends.
//! No HTTP here: the HTTP layer parses requests, calls these and renders what they answer.

pub mod codes;
pub mod credentials;
pub mod mail;
pub mod ops;
pub mod totp;
pub mod visibility;

pub use codes::ErrorCode;
pub use ops::{OpError, OpResult};
