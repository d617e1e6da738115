//! A real SMTP server for the tests: `tests/smtp/sink.py` (Python's aiosmtpd, from Debian's
//! `python3-aiosmtpd`, which `make test` installs), one process per test, on a free port of
//! 127.0.0.1. It writes each message it accepts to a directory, decoded as a mail client shows it;
//! [`SmtpSink::wait_for`] reads them back.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A message the server received.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// As received, headers and encoded bodies.
    pub raw: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The first header of this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn subject(&self) -> &str {
        self.header("subject").unwrap_or_default()
    }

    /// The `token` of the first link in the plain body whose path ends with `path`.
    pub fn link_token(&self, path: &str) -> Option<String> {
        let at = self.text.find(&format!("{path}?token="))?;
        let rest = &self.text[at + path.len() + "?token=".len()..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then_some(token)
    }
}

/// The running server; stopped when dropped (its stdin closes and it exits).
pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl SmtpSink {
    /// Starts a server that accepts every message.
    pub fn start() -> Self {
        Self::spawn("0")
    }

    /// Starts a server that refuses every message for good (550).
    pub fn refusing() -> Self {
        Self::spawn("refuse")
    }

    /// Starts a server that answers the first `n` messages with a temporary failure (451).
    pub fn failing_first(n: u32) -> Self {
        Self::spawn(&n.to_string())
    }

    fn spawn(mode: &str) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("mail directory: {e}"));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/sink.py");
        // Debian's interpreter, which has the package (a `python3` first on PATH may not).
        let python = ["/usr/bin/python3", "python3"]
            .into_iter()
            .find(|p| !p.starts_with('/') || std::path::Path::new(p).exists())
            .unwrap_or("python3");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(dir.path())
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} {}: {e}", script.display()));
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (make test installs python3-aiosmtpd): {line:?}")
        });
        SmtpSink { child, dir, port }
    }

    /// The URL the mail worker sends to.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|s| serde_json::from_str::<Value>(&s).ok())
            .map(|v| ReceivedMail {
                mail_from: v["mail_from"].as_str().unwrap_or_default().to_owned(),
                rcpt_tos: v["rcpt_tos"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                raw: v["data"].as_str().unwrap_or_default().to_owned(),
                headers: v["headers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap_or_default().to_owned(),
                                    h[1].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                text: v["text"].as_str().unwrap_or_default().to_owned(),
                html: v["html"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The messages to `to` whose subject holds `subject`, once at least `n` have arrived (panics
    /// after 10 s).
    pub async fn wait_for_subject(&self, to: &str, subject: &str, n: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mine: Vec<ReceivedMail> = self
                .received()
                .into_iter()
                .filter(|m| m.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to)))
                .filter(|m| m.subject().contains(subject))
                .collect();
            if mine.len() >= n {
                return mine;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} mails to {to} about {subject:?} arrived",
                mine.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `to`, once at least `n` have arrived (panics after 10 s).
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mine: Vec<ReceivedMail> = self
                .received()
                .into_iter()
                .filter(|m| m.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to)))
                .collect();
            if mine.len() >= n {
                return mine;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} mails to {to} arrived; all: {:?}",
                mine.len(),
                self.received()
                    .iter()
                    .map(|m| (m.rcpt_tos.clone(), m.subject().to_owned()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
