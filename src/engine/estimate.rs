//! The baselines a database's first scan leaves to an estimate (`initial_baseline =
//! estimate`): btree, hash and GIN over arrays from the catalog (one statement per
//! few hundred indexes), GiST from pgstattuple index by index, other methods their
//! current size. An estimate that cannot be made now (the catalog read failed, an
//! index build runs beside a pgstattuple read, half the invocation's time is spent,
//! the maintenance windows allow no rebuild now) leaves the index waiting for the
//! next scan, deferred. A GiST larger than max_inspect_size, or on which pgstattuple
//! timed out (now or lately), takes its current size.

use std::collections::BTreeMap;

use super::work::Work;
use crate::domain::baseline::BaselineSource;
use crate::domain::estimate::{IndexDescription, Needs, Unestimable};
use crate::domain::inspect::ReadKind;
use crate::domain::plan::{Assessment, Verdict};
use crate::domain::sift::{Settled, Sifted};
use crate::report::UnknownBloat;
use crate::target_db::ReadError;

/// Indexes whose statistics are read in one statement.
const DESCRIBED_AT_ONCE: usize = 500;

/// What became of one waiting index.
enum Outcome {
    Settled(Result<(f64, BaselineSource), String>),
    /// Still waiting, and why.
    Waits(String),
}

impl Outcome {
    /// A fresh build's size, as bytes per tuple of the index now.
    fn estimated(
        description: &IndexDescription,
        fresh_bytes: u64,
        source: BaselineSource,
    ) -> Outcome {
        let per_tuple = fresh_bytes as f64 / description.index_tuples.max(1.0);
        Outcome::Settled(Ok((per_tuple, source)))
    }

    /// No estimate will come: the index takes its current size, and says why.
    fn current_size(why: impl std::fmt::Display) -> Outcome {
        Outcome::Settled(Err(format!("current size taken: {why}")))
    }
}

impl Work<'_> {
    /// Estimates the baselines the scan left waiting and judges those indexes.
    /// `builds_running`: an index build runs in the database (ours or anyone's), so
    /// nothing reads whole indexes now.
    pub(super) async fn estimate_baselines(&mut self, sifted: &mut Sifted, builds_running: bool) {
        let waiting: Vec<usize> = sifted
            .kept
            .iter()
            .enumerate()
            .filter(|(_, a)| a.verdict == Verdict::AwaitingEstimate)
            .map(|(position, _)| position)
            .collect();
        if waiting.is_empty() {
            return;
        }
        let mut settled: Vec<Settled> = Vec::with_capacity(waiting.len());
        // The statistics of a few hundred indexes at a time: a first scan may estimate
        // tens of thousands, and their histograms would all be in memory at once.
        for chunk in waiting.chunks(DESCRIBED_AT_ONCE) {
            let oids: Vec<u32> = chunk.iter().map(|&p| sifted.kept[p].index.oid).collect();
            let described = match self.db.describe_indexes(&oids).await {
                Ok(described) => described,
                Err(error) => {
                    tracing::warn!(target = %self.key.target, database = %self.key.database_name,
                        error = %error, "no estimates this time");
                    for &position in chunk {
                        sifted.kept[position].seed_note = Some(error.to_string());
                    }
                    continue;
                }
            };
            for &position in chunk {
                let assessment = &sifted.kept[position];
                let outcome = match described.get(&assessment.index.oid) {
                    None => Outcome::Waits("the index is gone from the catalog".into()),
                    Some(description) => {
                        self.estimate(description, assessment, builds_running).await
                    }
                };
                match outcome {
                    Outcome::Settled(estimate) => settled.push((position, estimate)),
                    Outcome::Waits(why) => sifted.kept[position].seed_note = Some(why),
                }
            }
        }
        let record = self.ctx.request.mode.writes_control();
        sifted.settle_estimates(&self.key.database_name, settled, record);
    }

    async fn estimate(
        &mut self,
        description: &IndexDescription,
        assessment: &Assessment,
        builds_running: bool,
    ) -> Outcome {
        let method = description.access_method.as_str();
        match description.needs() {
            Needs::Nothing => Outcome::current_size(Unestimable::NoModel.explain(method)),
            Needs::Catalog => match description.fresh_size(self.db.server) {
                Ok(bytes) => Outcome::estimated(description, bytes, BaselineSource::Estimate),
                Err(why) => Outcome::current_size(why.explain(method)),
            },
            Needs::TupleCount => {
                self.estimate_by_pgstattuple(description, assessment, builds_running)
                    .await
            }
        }
    }

    /// A GiST's baseline from its tuple count, read with pgstattuple when the read is
    /// allowed now; its current size when it never will be; waiting otherwise.
    async fn estimate_by_pgstattuple(
        &mut self,
        description: &IndexDescription,
        assessment: &Assessment,
        builds_running: bool,
    ) -> Outcome {
        if builds_running {
            return Outcome::Waits(
                "an index build runs in this database: pgstattuple would hold a snapshot it waits for".into(),
            );
        }
        if !self.ctx.budget.may_read_whole_indexes() {
            return Outcome::Waits(
                "half of this invocation's time is spent: the next scan reads it with pgstattuple"
                    .into(),
            );
        }
        let found = match self.pgstattuple_extension().await {
            Ok(Some(found)) if found.pgstattuple => found.clone(),
            Err(error) => return Outcome::Waits(error),
            Ok(_) => {
                let method = description.access_method.as_str();
                return Outcome::current_size(Unestimable::NoPgstattuple.explain(method));
            }
        };
        let kind = ReadKind::Pgstattuple;
        let permit = match self.ask_to_read(kind, assessment).await {
            Err(error) => return Outcome::Waits(error.to_string()),
            Ok(Err(refusal)) if refusal.passes() => return Outcome::Waits(refusal.explain(kind)),
            Ok(Err(refusal)) => return Outcome::current_size(refusal.explain(kind)),
            Ok(Ok(permit)) => permit,
        };
        match self
            .db
            .gist_tuples(&found, description.oid, permit.timeout)
            .await
        {
            Ok((count, bytes)) => {
                let fresh = description.fresh_gist_size(self.db.server, count, bytes);
                Outcome::estimated(description, fresh, BaselineSource::Pgstattuple)
            }
            // Not read again soon: it goes without.
            Err(ReadError::TimedOut { .. }) if permit.records_timeout() => {
                match self.read_timed_out(kind, assessment, permit).await {
                    Ok(why) => Outcome::current_size(why),
                    Err(error) => Outcome::Waits(error.to_string()),
                }
            }
            Err(ReadError::TimedOut { .. }) => Outcome::Waits(permit.explain_timeout(kind, false)),
            Err(ReadError::Failed(error)) => Outcome::Waits(error.to_string()),
        }
    }
}

/// The indexes whose bloat is unknown, largest first, for the report.
pub(super) fn unknown(sifted: &Sifted) -> Vec<UnknownBloat> {
    let mut unknown: Vec<&Assessment> = sifted.kept.iter().filter(|a| a.is_unknown()).collect();
    unknown.sort_by(|a, b| {
        b.index
            .size_bytes
            .cmp(&a.index.size_bytes)
            .then_with(|| a.index.name.cmp(&b.index.name))
    });
    unknown.into_iter().map(UnknownBloat::from).collect()
}

/// How many baselines were set, by how, for the report.
pub(super) fn sources(sifted: &Sifted) -> BTreeMap<&'static str, usize> {
    sifted
        .seeded
        .iter()
        .map(|(source, count)| (source.as_str(), *count))
        .collect()
}
