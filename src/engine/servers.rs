//! Rebuilds per server and per invocation. The control database counts every
//! rebuild running on a server (known by what it says it is), whoever started it, and refuses a
//! new one above `max_rebuilds_per_server`; this invocation also caps how many it
//! watches at once. A refusal because of this invocation's own rebuild on the same
//! server is worth waiting for (it ends under our eyes); anyone else's is not.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::control::{ControlError, ControlStore, ReindexStart, ServerRebuild};

/// The rebuilds this invocation is watching, by server, and its cap on them.
pub(crate) struct Rebuilds {
    watching: Mutex<HashMap<String, usize>>,
    ended: Notify,
    permits: std::sync::Arc<Semaphore>,
    pub(crate) max_at_once: usize,
}

/// One rebuild this invocation watches: counted until dropped.
pub(crate) struct Watching<'a> {
    rebuilds: &'a Rebuilds,
    server: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Watching<'_> {
    fn drop(&mut self) {
        if let Ok(mut watching) = self.rebuilds.watching.lock() {
            if let Some(count) = watching.get_mut(&self.server) {
                *count = count.saturating_sub(1);
            }
        }
        self.rebuilds.ended.notify_waiters();
    }
}

/// Why a rebuild could not start in time.
pub(crate) enum Refused {
    /// The invocation already watches `max_at_once` rebuilds.
    Invocation(usize),
    /// The server runs as many rebuilds as it may; these hold its slots.
    Server(Vec<ServerRebuild>),
}

impl Rebuilds {
    pub(crate) fn new(max_at_once: usize) -> Rebuilds {
        let max_at_once = max_at_once.max(1);
        Rebuilds {
            watching: Mutex::new(HashMap::new()),
            ended: Notify::new(),
            permits: std::sync::Arc::new(Semaphore::new(max_at_once)),
            max_at_once,
        }
    }

    fn ours_on(&self, server: &str) -> usize {
        self.watching
            .lock()
            .map_or(0, |w| w.get(server).copied().unwrap_or(0))
    }

    /// Records the rebuild as started once both limits allow it, waiting at most
    /// `patience` for this invocation's own rebuilds to make room. The history id and
    /// the token that counts it, or why not.
    pub(crate) async fn start(
        &self,
        control: &ControlStore,
        start: ReindexStart<'_>,
        patience: Duration,
    ) -> Result<Result<(i64, Watching<'_>), Refused>, ControlError> {
        let deadline = tokio::time::Instant::now() + patience;
        let permit =
            match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Ok(Err(Refused::Invocation(self.max_at_once))),
            };
        loop {
            let ended = self.ended.notified();
            if let Some(id) = control.start_reindex(start).await? {
                if let Ok(mut watching) = self.watching.lock() {
                    *watching.entry(start.server.to_owned()).or_default() += 1;
                }
                let watching = Watching {
                    rebuilds: self,
                    server: start.server.to_owned(),
                    _permit: permit,
                };
                return Ok(Ok((id, watching)));
            }
            // Woken when one of ours ends; polled besides, as a rebuild of another
            // invocation may end meanwhile.
            let poll = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
            let gave_up = self.ours_on(start.server) == 0
                || (tokio::time::timeout_at(poll, ended).await.is_err() && poll >= deadline);
            if gave_up {
                let holders = control.rebuilds_on_server(start.server).await?;
                return Ok(Err(Refused::Server(holders)));
            }
        }
    }
}
