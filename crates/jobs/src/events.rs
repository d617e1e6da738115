//! The hub behind live events (the HTTP layer serves them as Server-Sent Events): a member's new
//! notifications and unread count as they happen, on whichever API instance the client is
//! connected to.
//!
//! Every instance keeps one connection that `LISTEN`s on `filmlog_events`. A request that writes a
//! notification or a read mark (`filmlog_persistence::notifications`) names the member, and once
//! the request is done [`EventHub::wake_everywhere`] wakes that member's streams on this instance
//! and sends the member's id there on the listening connection, for the other instances (outside
//! the writing transaction: a `NOTIFY` in it would hold the cluster's notification-queue lock
//! through its commit). Outside a request (a job) the id is sent at commit. Each stream reads what
//! is new itself, after the last id it sent: a notification is never lost between wake-ups, and a
//! client resuming with `Last-Event-ID` gets what it missed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, mpsc, watch};

/// How many live streams one member may hold on one instance.
pub const STREAMS_PER_MEMBER: usize = 5;
/// A comment line this often keeps proxies from closing an idle stream (and finds a stream whose
/// client went away).
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Each member's open streams: (place id, the stream's wake-up).
type Streams = HashMap<i64, Vec<(u64, Arc<Notify>)>>;

/// The streams of this instance, by member.
pub struct EventHub {
    streams: Mutex<Streams>,
    /// Members whose streams (on every instance) requests made news for, waiting for [`listen`] to
    /// send their wakes.
    pending: Mutex<Pending>,
    pending_added: Notify,
    next: AtomicU64,
    closing: watch::Sender<bool>,
    pub heartbeat: Duration,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::with_heartbeat(HEARTBEAT)
    }
}

/// A stream's place in the hub; leaving it (dropping) frees the place.
pub struct Registration {
    hub: Arc<EventHub>,
    member: i64,
    id: u64,
    pub wake: Arc<Notify>,
    pub closing: watch::Receiver<bool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut streams = self.hub.lock();
        if let Some(list) = streams.get_mut(&self.member) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                streams.remove(&self.member);
            }
        }
    }
}

impl EventHub {
    pub fn with_heartbeat(heartbeat: Duration) -> Self {
        Self {
            streams: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending::default()),
            pending_added: Notify::new(),
            next: AtomicU64::new(0),
            closing: watch::channel(false).0,
            heartbeat,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Streams> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more stream of `member`; `None` when they hold [`STREAMS_PER_MEMBER`]
    /// already or the server is closing.
    pub fn register(self: &Arc<Self>, member: i64) -> Option<Registration> {
        if *self.closing.borrow() {
            return None;
        }
        let mut streams = self.lock();
        let list = streams.entry(member).or_default();
        if list.len() >= STREAMS_PER_MEMBER {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        list.push((id, wake.clone()));
        Some(Registration {
            hub: self.clone(),
            member,
            id,
            wake,
            closing: self.closing.subscribe(),
        })
    }

    /// Wakes `member`'s streams on this instance.
    pub fn wake(&self, member: i64) {
        if let Some(list) = self.lock().get(&member) {
            for (_, wake) in list {
                wake.notify_one();
            }
        }
    }

    /// Wakes `members`' streams on every instance, soon: this instance's at once, the others' by a
    /// `NOTIFY` that [`listen`] sends on its connection (batched, outside the requests' transactions).
    pub fn wake_everywhere(&self, members: &[i64]) {
        if members.is_empty() {
            return;
        }
        for m in members {
            self.wake(*m);
        }
        {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for m in members {
                if pending.members.len() >= MAX_PENDING {
                    pending.everyone = true;
                    break;
                }
                pending.members.insert(*m);
            }
        }
        self.pending_added.notify_one();
    }

    /// Every stream on every instance is to be woken (wakes that could not be sent).
    fn pending_everyone(&self) {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .everyone = true;
        self.pending_added.notify_one();
    }

    fn take_pending(&self) -> Pending {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Wakes every stream (after the listening connection was lost: something may have been
    /// missed).
    pub fn wake_all(&self) {
        for list in self.lock().values() {
            for (_, wake) in list {
                wake.notify_one();
            }
        }
    }

    /// How many streams are open on this instance.
    pub fn open(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Ends every stream and refuses new ones (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// Wakes waiting to be sent; past [`MAX_PENDING`] members, everyone's streams are woken.
#[derive(Default)]
struct Pending {
    members: std::collections::HashSet<i64>,
    everyone: bool,
}

/// How many members' wakes may wait at once before one wake of everyone replaces them.
const MAX_PENDING: usize = 10_000;

/// The payload of a wake of every stream.
const EVERYONE: &str = "*";

/// Sends the wakes requests left ([`EventHub::wake_everywhere`]) as `NOTIFY`s on `filmlog_events`,
/// all that are waiting in one transaction on the listening connection (so they never wait for, or
/// hold, a connection of the pool), committed without waiting for the WAL flush: a lost wake only
/// delays a live event until the next one.
async fn send_wakes(client: &tokio_postgres::Client, pending: Pending) -> Result<(), String> {
    let members: Vec<i64> = pending.members.into_iter().collect();
    let sql_members = "SELECT set_config('synchronous_commit', 'off', true), \
                       count(pg_notify('filmlog_events', m::text)) FROM unnest($1::bigint[]) m";
    let sql_everyone =
        "SELECT set_config('synchronous_commit', 'off', true), pg_notify('filmlog_events', $1)";
    let sent = if pending.everyone {
        client.execute(sql_everyone, &[&EVERYONE]).await
    } else if members.is_empty() {
        return Ok(());
    } else {
        client.execute(sql_members, &[&members]).await
    };
    sent.map(|_| ()).map_err(|e| e.to_string())
}

/// Listens on `filmlog_events` for as long as the process runs, reconnecting after a lost
/// connection (and then waking every stream, which reads what it may have missed); sends this
/// instance's requests' wakes on the same connection.
pub async fn listen(url: String, hub: Arc<EventHub>) {
    let mut delay = Duration::from_millis(200);
    loop {
        match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let pump = tokio::spawn(async move {
                    let mut messages = std::pin::pin!(messages);
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                if tx.send((n.process_id(), n.payload().to_owned())).is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                });
                // This connection's own wakes come back to it: the streams they name are woken
                // already (EventHub::wake_everywhere).
                let own = client.query_one("SELECT pg_backend_pid()", &[]).await;
                let own: Option<i32> = own.ok().map(|row| row.get(0));
                if own.is_some() && client.batch_execute("LISTEN filmlog_events").await.is_ok() {
                    delay = Duration::from_millis(200);
                    hub.wake_all();
                    loop {
                        tokio::select! {
                            payload = rx.recv() => match payload {
                                Some((from, _)) if Some(from) == own => {}
                                Some((_, p)) if p == EVERYONE => hub.wake_all(),
                                Some((_, p)) => {
                                    if let Ok(member) = p.parse::<i64>() {
                                        hub.wake(member);
                                    }
                                }
                                None => break,
                            },
                            () = hub.pending_added.notified() => {
                                if let Err(error) = send_wakes(&client, hub.take_pending()).await {
                                    // Sent again, to everyone, once the connection is back.
                                    hub.pending_everyone();
                                    tracing::warn!(%error, "live events: wakes not sent");
                                    break;
                                }
                            }
                        }
                    }
                }
                pump.abort();
                tracing::warn!("live events: the listening connection was lost; reconnecting");
            }
            Err(error) => {
                tracing::warn!(%error, "live events: cannot connect to listen; retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
