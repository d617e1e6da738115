//! The HTTP server: actix-web's application on actix-http's HTTP/1.1 service, assembled here (rather
//! than by `actix_web::HttpServer`) so that every connection passes through [`ProblemIo`]: the
//! answers actix-http writes by itself, before any application code runs (400 for a request it
//! cannot parse, 408 for a head that does not arrive in time, 431 for a head too large), leave as
//! problem+json like every other error.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::HttpService;
use actix_server::{Server, ServerBuilder};
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::AppConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use filmlog_app::ErrorCode;

use crate::app::build_app;
use crate::error::PROBLEM_JSON;
use crate::state::AppState;

/// How the server runs.
#[derive(Debug)]
pub struct ServerOptions {
    pub workers: usize,
    /// How long a stopping server waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Stop on SIGINT/SIGTERM (off for servers inside test processes).
    pub handle_signals: bool,
    /// Where to serve `/metrics`, apart from the API (see [`crate::metrics`]).
    pub metrics: Option<TcpListener>,
}

/// The API server on `listener`, ready to `.await`.
pub fn http_server(
    state: AppState,
    listener: TcpListener,
    options: ServerOptions,
) -> io::Result<Server> {
    let mut builder = ServerBuilder::default()
        .workers(options.workers)
        .shutdown_timeout(options.shutdown_timeout.as_secs());
    if !options.handle_signals {
        builder = builder.disable_signals();
    }
    let shutdown = builder.graceful_shutdown_signal();
    let head_timeout = state.limits.head_timeout;
    let stall = state.limits.write_stall_timeout;
    if let Some(listener) = options.metrics {
        let state = state.clone();
        builder = builder.listen("filmlog-metrics", listener, move || {
            let app = actix_web::App::new()
                .configure(crate::handlers::metrics::configure(state.clone()))
                .into_factory()
                .map_err(|err| err.error_response());
            HttpService::build()
                .client_request_timeout(head_timeout)
                .h1(map_config(app, |_| AppConfig::default()))
                .tcp()
        })?;
    }
    let builder = builder.listen("filmlog-api", listener, move || {
        let app = build_app(state.clone())
            .into_factory()
            .map_err(|err| err.error_response());
        let shutdown = shutdown.clone();
        let http = HttpService::build()
            .graceful_shutdown_signal(move || {
                let signal = shutdown.clone();
                async move { signal.notified().await }
            })
            .client_request_timeout(head_timeout)
            .h1(map_config(app, |_| AppConfig::default()));
        fn_service(move |io: actix_web::rt::net::TcpStream| {
            let peer = io.peer_addr().ok();
            std::future::ready(Ok((ProblemIo::new(io, stall), peer)))
        })
        .and_then(http)
    })?;
    Ok(builder.run())
}

/// A connection whose bare error answers from actix-http are rewritten as problem+json, and whose
/// writes fail once the client has read nothing for the stall timeout (actix-http has no write
/// timeout: a client that stops reading would otherwise keep its response, and whatever the
/// response holds, for ever). Everything else passes through untouched.
pub struct ProblemIo<T> {
    inner: T,
    /// A rewritten answer still to be written, and how much of it is.
    pending: Vec<u8>,
    written: usize,
    stall: Duration,
    /// Armed while a write waits for the client; cleared by any progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> ProblemIo<T> {
    pub fn new(inner: T, stall: Duration) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            written: 0,
            stall,
            stalled: None,
        }
    }

    /// `Pending` from a write: fails the write once the client has taken nothing for `stall`.
    fn waiting<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let stall = self.stall;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for the stall timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The outcome of a write, with the stall timer kept or cleared.
    fn timed<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match polled {
            Poll::Pending => self.waiting(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> ProblemIo<T> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let polled = Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]);
            let n = ready!(self.timed(cx, polled))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(rewritten) = problem_for_bare_error(buf) {
            self.pending = rewritten;
            // Accepted whole; what is not written now goes out on the next flush or shutdown.
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.timed(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.timed(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// When `buf` is exactly one of actix-http's own bodiless error answers (a status line of 400, 408
/// or 431 and `content-length: 0`; the application's errors always have a body), the same answer
/// with a problem+json body.
pub fn problem_for_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    let head_len = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if head_len + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..head_len]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?
        .parse()
        .ok()?;
    let (code, title, detail) = match status {
        400 => (
            ErrorCode::MalformedRequest,
            "Bad request",
            "the request is not valid HTTP/1.1",
        ),
        408 => (
            ErrorCode::RequestTimeout,
            "Request timeout",
            "the request head did not arrive in time",
        ),
        431 => (
            ErrorCode::HeadersTooLarge,
            "Request header fields too large",
            "the request line and headers are too large (a URI this long included)",
        ),
        _ => return None,
    };
    let headers: Vec<&str> = lines.collect();
    let bare = headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("content-length: 0"));
    if !bare {
        return None;
    }
    let body = serde_json::json!({
        "type": format!("/problems/{}", code.as_str().replace('_', "-")),
        "title": title,
        "status": status,
        "code": code.as_str(),
        "detail": detail,
    })
    .to_string();
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        let name = h.split(':').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("content-length")
            && !name.eq_ignore_ascii_case("content-type")
        {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    Some(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_protocol_errors_are_rewritten() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Mon, 30 Nov 2026 10:00:00 GMT\r\n\r\n";
        let rewritten = problem_for_bare_error(bare).map(String::from_utf8);
        let text = match rewritten {
            Some(Ok(t)) => t,
            other => panic!("{other:?}"),
        };
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(text.contains("connection: close\r\n"));
        assert!(text.contains("content-type: application/problem+json\r\n"));
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert!(text.contains(&format!("content-length: {}\r\n", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["code"], "headers_too_large");
        assert_eq!(json["status"], 431);
        // An application answer (it has a body), another status, or a head with more after it
        // pass untouched.
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(problem_for_bare_error(with_body), None);
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(problem_for_bare_error(ok), None);
        let two = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n";
        assert_eq!(problem_for_bare_error(two), None);
    }
}
