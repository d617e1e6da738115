//! One read connection per request: the session check of a GET runs on the connection the handler
//! then reads with, so a read costs one pool checkout and one database session, not two (measured
//! on the feed: half as many busy PostgreSQL backends for the same load).
//!
//! The connection is held in a task-local slot for the request's duration and goes back to the
//! pool when the request ends, whether or not the handler took it.

use std::cell::RefCell;

use filmlog_persistence::DbConn;

tokio::task_local! {
    static HELD: RefCell<Option<DbConn>>;
}

/// Runs a request with an empty slot.
pub async fn scope<F: Future>(fut: F) -> F::Output {
    HELD.scope(RefCell::new(None), fut).await
}

/// Keeps `conn` for the request's next read; outside a request it goes straight back to the pool.
pub fn keep(conn: DbConn) {
    let _ = HELD.try_with(|slot| *slot.borrow_mut() = Some(conn));
}

/// The connection kept for this request, if any.
pub fn take() -> Option<DbConn> {
    HELD.try_with(|slot| slot.borrow_mut().take())
        .ok()
        .flatten()
}
