//! What the server said on a rebuild's connection while the rebuild ran (pgvector's
//! "hnsw graph no longer fits into maintenance_work_mem", say): into the rebuild's
//! report entry, and a log line that names the run, the target and the index.

use super::work::Work;
use crate::domain::ident::QualifiedName;
use crate::pg::ServerMessage;
use crate::target_db::Rebuilder;

impl Work<'_> {
    /// What the server said on the rebuild's connection while it ran, each in a log
    /// line that names the run, the target and the index.
    pub(super) fn server_messages(
        &self,
        index: &QualifiedName,
        rebuilder: &Rebuilder,
    ) -> Vec<ServerMessage> {
        let (messages, left_out) = rebuilder.take_notices();
        for message in &messages {
            tracing::warn!(run_id = %self.ctx.run_id, target = %self.key.target,
                database = %self.key.database_name, index = %index,
                severity = %message.severity, code = %message.code, message = %message.message,
                detail = message.detail.as_deref(), "the server said this during the rebuild");
        }
        if left_out > 0 {
            tracing::warn!(run_id = %self.ctx.run_id, target = %self.key.target,
                database = %self.key.database_name, index = %index, left_out,
                "the server said more during the rebuild; those messages were counted only");
        }
        messages
    }
}
