//! What the server says on the side of a statement (NOTICE, WARNING): kept for the
//! report of what ran, instead of tokio-postgres' own log line, which names no run,
//! target or index.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::error::DbError;
use tokio_postgres::{AsyncMessage, Connection};

use super::error::{named_object, withheld};

/// How many messages one connection keeps until they are taken; the rest are
/// counted. A statement could raise one per row.
const KEPT: usize = 20;

/// One message of the server, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ServerMessage {
    /// `NOTICE`, `WARNING`, …
    pub(crate) severity: String,
    /// The SQLSTATE.
    pub(crate) code: String,
    /// For classes 22, 23 and P0 only their kind and the object they name: their
    /// text may quote row values (see `ServerError`).
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

impl From<&DbError> for ServerMessage {
    fn from(db: &DbError) -> Self {
        // A function's own RAISE NOTICE (an expression index's function, say) has
        // the plain codes 00000 and 01000, and its text is whatever the function
        // put in it: row values too. Only its kind is kept.
        let code = if raised_by_function(db.file()) {
            RAISED_BY_FUNCTION
        } else {
            db.code().code()
        };
        let mut message =
            ServerMessage::scrubbed(db.severity(), code, db.message(), db.detail(), || {
                named_object(db)
            });
        message.code = db.code().code().to_owned();
        message
    }
}

/// Stands for the SQLSTATE of a message a function raised, to withhold its text.
const RAISED_BY_FUNCTION: &str = "P0000";

/// Whether the server's source file that sent a message is a procedural language's
/// (PL/pgSQL's RAISE, PL/Perl, PL/Python, PL/Tcl, PLV8): user code, not the server's.
fn raised_by_function(file: Option<&str>) -> bool {
    file.is_some_and(|file| {
        ["pl_exec.c", "plperl.c", "pltcl.c"].contains(&file)
            || file.starts_with("plpy_")
            || file.starts_with("plv8")
    })
}

impl ServerMessage {
    /// The message, or only its kind and object where its text may quote row values.
    fn scrubbed(
        severity: &str,
        code: &str,
        message: &str,
        detail: Option<&str>,
        object: impl FnOnce() -> String,
    ) -> ServerMessage {
        let (message, detail) = match withheld(code) {
            Some(kind) => {
                let object = object();
                let on = if object.is_empty() {
                    String::new()
                } else {
                    format!(" on {object}")
                };
                (
                    format!(
                        "{kind}{on} (the server's message is left out: it may quote row values)"
                    ),
                    None,
                )
            }
            None => (message.to_owned(), detail.map(str::to_owned)),
        };
        ServerMessage {
            severity: severity.to_owned(),
            code: code.to_owned(),
            message,
            detail,
        }
    }
}

#[derive(Debug, Default)]
struct Kept {
    messages: Vec<ServerMessage>,
    /// Messages beyond [`KEPT`] since the last take.
    left_out: usize,
}

/// The messages a connection received since they were last taken.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notices(Arc<Mutex<Kept>>);

impl Notices {
    fn push(&self, message: ServerMessage) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.messages.len() < KEPT {
            kept.messages.push(message);
        } else {
            kept.left_out += 1;
        }
    }

    /// The messages so far, and how many more were only counted; empties the list.
    pub(crate) fn take(&self) -> (Vec<ServerMessage>, usize) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = std::mem::take(&mut *kept);
        (taken.messages, taken.left_out)
    }
}

/// Drives `connection` as tokio-postgres' own future does, keeping its notices. A
/// notice is kept before the connection reads on: by the time the statement it came
/// with has its answer, it is in `notices`.
pub(super) async fn keeping<S, T>(
    mut connection: Connection<S, T>,
    notices: Notices,
) -> Result<(), tokio_postgres::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
        if let AsyncMessage::Notice(notice) = message? {
            notices.push(ServerMessage::from(&notice));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize) -> ServerMessage {
        ServerMessage {
            severity: "NOTICE".into(),
            code: "00000".into(),
            message: format!("message {n}"),
            detail: None,
        }
    }

    #[test]
    fn row_values_stay_out() {
        let raised = ServerMessage::scrubbed(
            "WARNING",
            "P0001",
            "card 4111 1111 1111 1111",
            Some("more of it"),
            || "table public.cards".to_owned(),
        );
        assert_eq!(raised.code, "P0001");
        assert!(!raised.message.contains("4111"), "{raised:?}");
        assert!(raised.message.contains("table public.cards"), "{raised:?}");
        assert_eq!(raised.detail, None);
        for code in ["22P02", "23505"] {
            let scrubbed = ServerMessage::scrubbed("NOTICE", code, "4111", None, String::new);
            assert!(!scrubbed.message.contains("4111"), "{scrubbed:?}");
        }
        let notice = ServerMessage::scrubbed(
            "NOTICE",
            "00000",
            "hnsw graph no longer fits into maintenance_work_mem after 1000 tuples",
            Some("Building will take significantly more time."),
            String::new,
        );
        assert!(notice.message.contains("no longer fits"));
        assert!(notice.detail.is_some());
    }

    #[test]
    fn what_a_function_raises_is_user_code() {
        assert!(raised_by_function(Some("pl_exec.c")));
        assert!(raised_by_function(Some("plpy_elog.c")));
        assert!(!raised_by_function(Some("hnswbuild.c")));
        assert!(!raised_by_function(Some("planner.c")));
        assert!(!raised_by_function(None));
        let raised =
            ServerMessage::scrubbed("NOTICE", RAISED_BY_FUNCTION, "card 4111", None, String::new);
        assert!(!raised.message.contains("4111"), "{raised:?}");
    }

    #[test]
    fn a_flood_is_counted_not_kept() {
        let notices = Notices::default();
        for n in 0..KEPT + 3 {
            notices.push(message(n));
        }
        let (kept, left_out) = notices.take();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0], message(0));
        assert_eq!(left_out, 3);
        assert_eq!(notices.take(), (Vec::new(), 0));
    }
}
