//! The request id: taken from `X-Request-Id` when the client sent a sane one, otherwise generated; put
//! on every response and in every problem body, and on every log line of the request.

use rand::RngCore;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// The id of the request being handled on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// A client's id is echoed when it is 1–128 visible ASCII characters; otherwise a new one is made.
pub fn accept_or_generate(client: Option<&str>) -> String {
    match client {
        Some(id)
            if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id.to_owned()
        }
        _ => {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        }
    }
}
