//! A `tracing` span around every statement a pooled connection runs, child of whatever span is
//! current when it starts (the request's), named and attributed after OpenTelemetry's database
//! conventions. The statement's text is recorded without its bind values (they hold password
//! hashes and tokens), and only when the span is enabled, so a server logging at `warn` pays for a
//! disabled callsite check and nothing else.

use std::collections::VecDeque;
use std::fmt::Write as _;

use diesel::connection::{DebugQuery, Instrumentation, InstrumentationEvent};
use tracing::Span;
use tracing::field::Empty;

/// The longest statement text a span records.
const MAX_STATEMENT: usize = 1024;

/// Opens a span when a statement starts and closes it when it finishes. Statements pipelined on
/// one connection finish in the order they were sent, so the open spans form a queue. Passes every
/// event on to `inner` (the tests' query counter) when there is one.
pub struct DbSpans {
    open: VecDeque<Span>,
    inner: Option<Box<dyn Instrumentation>>,
}

impl DbSpans {
    pub fn new(inner: Option<Box<dyn Instrumentation>>) -> Self {
        Self {
            open: VecDeque::new(),
            inner,
        }
    }
}

/// The statement's SQL without diesel's `-- binds: […]` suffix, cut to [`MAX_STATEMENT`] bytes.
pub fn statement_text(query: &dyn DebugQuery) -> String {
    let mut text = String::new();
    let _ = write!(text, "{query}");
    if let Some(at) = text.find(" -- binds: ") {
        text.truncate(at);
    }
    if text.len() > MAX_STATEMENT {
        let mut end = MAX_STATEMENT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The first word of a statement (`SELECT`, `INSERT`, …), OpenTelemetry's `db.operation.name`.
fn operation(statement: &str) -> &str {
    statement
        .split_whitespace()
        .next()
        .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
        .unwrap_or("statement")
}

impl Instrumentation for DbSpans {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match &event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let span = tracing::info_span!(
                    "db.query",
                    otel.name = Empty,
                    otel.kind = "client",
                    otel.status_code = Empty,
                    db.system.name = "postgresql",
                    db.operation.name = Empty,
                    db.query.text = Empty,
                    error = Empty,
                );
                if !span.is_disabled() {
                    let text = statement_text(*query);
                    let op = operation(&text);
                    span.record("otel.name", op);
                    span.record("db.operation.name", op);
                    span.record("db.query.text", text.as_str());
                }
                self.open.push_back(span);
            }
            InstrumentationEvent::FinishQuery { error, .. } => {
                if let Some(span) = self.open.pop_front()
                    && let Some(error) = error
                {
                    span.record("otel.status_code", "ERROR");
                    span.record("error", tracing::field::display(error));
                }
            }
            _ => {}
        }
        if let Some(inner) = &mut self.inner {
            inner.on_connection_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Sql(&'static str);
    impl std::fmt::Display for Sql {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl DebugQuery for Sql {}

    #[test]
    fn statements_are_recorded_without_their_binds() {
        let q = Sql("SELECT * FROM sessions WHERE token_hash = $1 -- binds: [\"secret\"]");
        let text = statement_text(&q);
        assert_eq!(text, "SELECT * FROM sessions WHERE token_hash = $1");
        assert_eq!(operation(&text), "SELECT");
        assert_eq!(operation("  \n"), "statement");
        assert_eq!(operation("/* plan */ SELECT 1"), "statement");
    }

    #[test]
    fn long_statements_are_cut_on_a_character_boundary() {
        let long: &'static str =
            Box::leak(format!("SELECT '{}'", "é".repeat(1000)).into_boxed_str());
        let text = statement_text(&Sql(long));
        assert!(text.len() <= MAX_STATEMENT && text.len() > MAX_STATEMENT - 2);
        assert!(text.starts_with("SELECT 'é"));
    }
}
