//! The working state of one database: its connections, what this invocation learned
//! about it, and whether anything more may start on it.

use std::time::{Duration, Instant};

use tokio_postgres::Config as PgConfig;

use super::{DatabaseError, RunContext};
use crate::config::Endpoint;
use crate::control::{DatabaseKey, ReadTimeouts};
use crate::domain::blocker::Blocker;
use crate::domain::deferral::DeferralKind;
use crate::domain::eligibility::IndexInfo;
use crate::domain::hazard::{Hazard, InstanceStorage};
use crate::domain::ident::QualifiedName;
use crate::domain::leftovers::RebuildTrace;
use crate::domain::pgvector::PgvectorGates;
use crate::domain::plan::Candidate;
use crate::domain::rebuild_memory::SessionUsed;
use crate::domain::server::ServerIdentity;
use crate::domain::settings::{IndexSettings, IndexSubject};
use crate::domain::throughput::{Prediction, Throughput};
use crate::domain::window::WindowState;
use crate::login::connect::another_connection;
use crate::pg::ServerMessage;
use crate::report::{Deferred, PlannedIndex};
use crate::target_db::{Pgstattuple, Rebuilder, TargetDb};
use jiff::Timestamp;

/// Why nothing more starts on this target in this invocation.
#[derive(Debug, Clone)]
pub(super) enum Stop {
    /// A rebuild had to wait for others and failed (or was cancelled): the next run
    /// tries again.
    Blocked(String),
    /// The server cannot take rebuilds now (disk full, read-only, …).
    Target(String),
    /// The target's setup keeps every rebuild from running (a right the role lacks,
    /// a setting the server refuses): said once, in the target's error.
    Setup,
    /// No room: the server runs as many rebuilds as it may, or this invocation
    /// watches as many as it may.
    NoRoom(String),
    /// A session every rebuild in the database would wait for.
    Blocker(Blocker),
    /// Something in the cluster that holds back every rebuild (a standby that lags,
    /// a database near wraparound).
    Hazard(Hazard),
}

impl Stop {
    fn reason(&self) -> String {
        match self {
            Stop::Blocked(why) => format!(
                "not started: an earlier rebuild on this target in this run was blocked ({why}); a later run tries again"
            ),
            Stop::Target(why) => format!(
                "not started: the server refused rebuilds for now ({why}); a later run tries again"
            ),
            Stop::NoRoom(why) => format!("not started: {why}"),
            Stop::Setup => "not started: this target's setup keeps every rebuild from running; the target's error says what to change".to_owned(),
            Stop::Blocker(blocker) => format!(
                "not started: {}; every REINDEX CONCURRENTLY in this database would wait for it",
                blocker.describe()
            ),
            Stop::Hazard(hazard) => format!("not started: {}", hazard.describe()),
        }
    }

    fn kind(&self) -> DeferralKind {
        match self {
            Stop::Blocked(_) => DeferralKind::Blocked,
            Stop::Target(_) | Stop::Setup => DeferralKind::ServerRefused,
            Stop::NoRoom(_) => DeferralKind::ServerBusy,
            Stop::Blocker(_) => DeferralKind::Blocker,
            Stop::Hazard(hazard) => hazard.kind(),
        }
    }

    /// What the rest of the candidates are deferred with.
    pub(super) fn deferral(&self, index: &QualifiedName) -> Deferred {
        Deferred {
            index: index.to_string(),
            kind: self.kind(),
            reason: self.reason(),
            blocker: match self {
                Stop::Blocker(blocker) => Some(blocker.clone()),
                _ => None,
            },
            hazard: match self {
                Stop::Hazard(hazard) => Some(hazard.clone()),
                _ => None,
            },
        }
    }
}

/// One rebuild of ours: what was recorded when it started.
#[derive(Debug, Clone)]
pub(super) struct Started {
    pub(crate) history_id: i64,
    /// Its name when it started: after a swap the new index carries it.
    pub(crate) index: QualifiedName,
    pub(crate) table: String,
    pub(crate) toast_owner: Option<QualifiedName>,
    pub(crate) access_method: String,
    pub(crate) size_before: u64,
    pub(crate) estimated_bloat: Option<f64>,
    pub(crate) trace: RebuildTrace,
    pub(crate) settings: IndexSettings,
    /// Started by an earlier invocation: its true duration is unknown.
    pub(crate) adopted: bool,
    /// What its session ran with (`None`: started by an earlier invocation).
    pub(crate) session: Option<SessionUsed>,
    /// What the server said on its connection while it ran (NOTICE, WARNING).
    pub(crate) server_messages: Vec<ServerMessage>,
}

pub(super) struct Work<'a> {
    pub(crate) ctx: &'a RunContext<'a>,
    pub(crate) db: &'a TargetDb,
    pub(crate) key: &'a DatabaseKey,
    /// Where the database is, and the settings it was opened with: the model of
    /// its rebuild connections.
    endpoint: &'a Endpoint,
    connection: &'a PgConfig,
    /// Bytes per second of this target's recent rebuilds, per access method.
    pub(crate) throughput: Throughput,
    /// The rebuild connection, opened when first needed (and again if it breaks).
    pub(crate) rebuilder: Option<Rebuilder>,
    pub(crate) stop: Option<Stop>,
    /// The server, for the limit of rebuilds per server.
    pub(crate) server: ServerIdentity,
    /// When the work on this target began (its lease, its earlier databases): what
    /// it takes before the first rebuild can start, any invocation pays too.
    pub(crate) began: Instant,
    /// Whether this invocation started a rebuild here.
    pub(crate) started_any: bool,
    /// The database's maintenance windows now (`run` and `dry_run`).
    pub(crate) window: WindowState,
    /// The pgstattuple extension, once looked up (`Some(None)`: not installed).
    pub(crate) extension: Option<Option<Pgstattuple>>,
    /// Our reads that timed out on this database's indexes, once loaded.
    pub(crate) timeouts: Option<ReadTimeouts>,
    /// Where the target's free storage is read; `None`: disk is not checked.
    pub(crate) free_storage: Option<&'a InstanceStorage>,
    /// What the installed pgvector means for the rebuilds of its indexes.
    pub(crate) pgvector: PgvectorGates,
}

/// What a rebuild took as this invocation saw it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Took {
    pub(crate) duration_ms: u64,
    /// Of that, the time it was seen waiting for other sessions.
    pub(crate) blocked_ms: u64,
}

pub(super) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(super) fn elapsed_ms(since: Instant) -> u64 {
    duration_ms(since.elapsed())
}

pub(super) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl<'a> Work<'a> {
    pub(crate) fn new(
        ctx: &'a RunContext<'a>,
        db: &'a TargetDb,
        key: &'a DatabaseKey,
        endpoint: &'a Endpoint,
        connection: &'a PgConfig,
        throughput: Throughput,
    ) -> Self {
        Work {
            ctx,
            db,
            key,
            endpoint,
            connection,
            throughput,
            rebuilder: None,
            stop: None,
            server: db.identity.clone(),
            began: Instant::now(),
            started_any: false,
            window: WindowState::Always,
            extension: None,
            timeouts: None,
            free_storage: None,
            pgvector: PgvectorGates::of(db.pgvector.as_deref()),
        }
    }

    /// The rebuild connection, taken out to run a rebuild (the caller puts it back
    /// unless it leaves the rebuild to the server); opened if it is not open.
    pub(crate) async fn take_rebuilder(&mut self) -> Result<Rebuilder, DatabaseError> {
        if let Some(rebuilder) = self.rebuilder.take().filter(|r| !r.is_closed()) {
            return Ok(rebuilder);
        }
        let config = another_connection(self.endpoint, self.connection, self.ctx.signer).await?;
        Ok(Rebuilder::open(&config, &self.endpoint.tls).await?)
    }

    /// The role this target is worked on as, as SQL writes it.
    pub(crate) fn role(&self) -> String {
        crate::domain::ident::quote_ident(self.connection.get_user().unwrap_or_default())
    }

    /// The rebuild connection, open.
    pub(crate) async fn rebuilder(&mut self) -> Result<&Rebuilder, DatabaseError> {
        let rebuilder = self.take_rebuilder().await?;
        Ok(self.rebuilder.insert(rebuilder))
    }

    /// How many rebuilds this target's server may run at once.
    pub(crate) fn server_limit(&self) -> u32 {
        self.ctx.settings.max_rebuilds_per_server(&self.key.target)
    }

    /// Our own server processes in this database: never counted as blockers.
    pub(crate) fn our_pids(&self) -> Vec<i32> {
        self.rebuilder.iter().map(|r| r.backend_pid).collect()
    }

    /// How long the rebuild of `index` should take, at its access method's rate.
    pub(crate) fn predict(&self, index: &IndexInfo) -> Prediction {
        self.throughput
            .predict(&index.access_method, index.size_bytes)
    }

    /// The candidates as the plan shows them, each with its prediction.
    pub(crate) fn plan(&self, candidates: &[Candidate<'_>]) -> Vec<PlannedIndex> {
        candidates
            .iter()
            .map(|c| PlannedIndex::new(c, &self.predict(&c.assessment.index)))
            .collect()
    }

    /// Why a rebuild of `index` may not start now because of the maintenance
    /// windows: outside them, or it would end after the window closes.
    pub(crate) fn outside_window(&self, index: &IndexInfo) -> Option<String> {
        let predicted = self.predict(index);
        if self.window.allows(Timestamp::now(), predicted.duration) {
            return None;
        }
        Some(match &self.window {
            WindowState::Open { .. } => format!(
                "needs about {}s ({}), would end after the maintenance window closes ({}); a later window takes it",
                predicted.secs(),
                predicted.rate(&index.access_method),
                self.window.describe()
            ),
            closed => format!("not started: {}", closed.describe()),
        })
    }

    /// The settings of an index known by name; `owner`: a TOAST index's table.
    pub(crate) fn settings_of(
        &self,
        index: &QualifiedName,
        table: &str,
        owner: Option<&QualifiedName>,
    ) -> IndexSettings {
        let (schema, table) = match owner {
            Some(owner) => (owner.schema.as_str(), owner.name.as_str()),
            None => (index.schema.as_str(), table),
        };
        self.ctx.settings.for_index(&IndexSubject::named(
            self.key.location(),
            schema,
            table,
            &index.name,
        ))
    }
}
