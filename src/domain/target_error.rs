//! Why a target ended in error, as a class an alarm, a dashboard and a DBA can act
//! on: decided from what the adapters' typed errors say (a SQLSTATE, no answer at
//! all, a refused version), never from a message.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetErrorClass {
    /// No connection: refused, timed out, unknown host, TLS, or the connection broke.
    Connect,
    /// The server refused the login (SQLSTATE class 28: a wrong or rotated password,
    /// an unknown role, no pg_hba.conf entry).
    Login,
    /// The credentials could not be had: the secret is missing, unreadable or
    /// malformed, or no IAM token could be made.
    Credentials,
    /// The database the entry names does not exist (3D000): dropped, renamed or
    /// misspelled.
    Database,
    /// The role may not do what index-pilot needs (SQLSTATE 42501).
    Permission,
    /// The server's version is refused (too old, or a release with a known bug).
    Version,
    /// The control database failed while this target was worked on.
    Control,
    /// The target's entry in `INDEX_PILOT_TARGETS` is not valid, or a value of
    /// `index_pilot.settings` is one its server refuses.
    Configuration,
    /// A `reindex` order names something the target has not got (the index).
    Order,
    /// Anything else the server answered with while the target was worked on.
    Server,
    /// A bug stopped the work on the target.
    Internal,
}

impl TargetErrorClass {
    pub(crate) const ALL: [TargetErrorClass; 11] = [
        TargetErrorClass::Connect,
        TargetErrorClass::Login,
        TargetErrorClass::Credentials,
        TargetErrorClass::Database,
        TargetErrorClass::Permission,
        TargetErrorClass::Version,
        TargetErrorClass::Control,
        TargetErrorClass::Configuration,
        TargetErrorClass::Order,
        TargetErrorClass::Server,
        TargetErrorClass::Internal,
    ];

    /// Its name in the report, the metrics and the control database.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetErrorClass::Connect => "connect",
            TargetErrorClass::Login => "login",
            TargetErrorClass::Credentials => "credentials",
            TargetErrorClass::Database => "database",
            TargetErrorClass::Permission => "permission",
            TargetErrorClass::Version => "version",
            TargetErrorClass::Control => "control",
            TargetErrorClass::Configuration => "configuration",
            TargetErrorClass::Order => "order",
            TargetErrorClass::Server => "server",
            TargetErrorClass::Internal => "internal",
        }
    }
}

/// Where a target's work stopped, as the adapters' error types say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped<'a> {
    /// Opening the connection: the server's SQLSTATE, or `None` when it never
    /// answered (refused, timed out, TLS, broken).
    Connecting(Option<&'a str>),
    /// A statement on the target: the server's SQLSTATE, or `None` when the
    /// connection broke or the answer was not what was expected.
    Working(Option<&'a str>, Unanswered),
    Credentials,
    Control,
}

/// Without a SQLSTATE: whether the connection is gone or the answer was odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unanswered {
    ConnectionLost,
    UnexpectedAnswer,
}

pub(crate) fn classify(stopped: Stopped<'_>) -> TargetErrorClass {
    match stopped {
        Stopped::Connecting(None) => TargetErrorClass::Connect,
        Stopped::Connecting(Some(code)) => match code {
            "3D000" => TargetErrorClass::Database,
            "42501" => TargetErrorClass::Permission,
            _ if code.starts_with("28") => TargetErrorClass::Login,
            // too many connections, starting up or shutting down, connection
            // exceptions: the server is there but takes no session now
            _ => TargetErrorClass::Connect,
        },
        Stopped::Working(Some(code), _) => match code {
            "42501" => TargetErrorClass::Permission,
            "3D000" => TargetErrorClass::Database,
            // admin_shutdown, crash_shutdown, cannot_connect_now; connection exceptions
            "57P01" | "57P02" | "57P03" => TargetErrorClass::Connect,
            _ if code.starts_with("08") => TargetErrorClass::Connect,
            _ => TargetErrorClass::Server,
        },
        Stopped::Working(None, Unanswered::ConnectionLost) => TargetErrorClass::Connect,
        Stopped::Working(None, Unanswered::UnexpectedAnswer) => TargetErrorClass::Server,
        Stopped::Credentials => TargetErrorClass::Credentials,
        Stopped::Control => TargetErrorClass::Control,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_are_classified_by_sqlstate() {
        for (code, class) in [
            (Some("28P01"), TargetErrorClass::Login),
            (Some("28000"), TargetErrorClass::Login),
            (Some("3D000"), TargetErrorClass::Database),
            (Some("42501"), TargetErrorClass::Permission),
            (Some("53300"), TargetErrorClass::Connect),
            (Some("57P03"), TargetErrorClass::Connect),
            (None, TargetErrorClass::Connect),
        ] {
            assert_eq!(classify(Stopped::Connecting(code)), class, "{code:?}");
        }
    }

    #[test]
    fn work_errors_are_classified_by_sqlstate() {
        let lost = Unanswered::ConnectionLost;
        for (stopped, class) in [
            (
                Stopped::Working(Some("42501"), lost),
                TargetErrorClass::Permission,
            ),
            (
                Stopped::Working(Some("57P01"), lost),
                TargetErrorClass::Connect,
            ),
            (
                Stopped::Working(Some("08006"), lost),
                TargetErrorClass::Connect,
            ),
            (
                Stopped::Working(Some("57014"), lost),
                TargetErrorClass::Server,
            ),
            (Stopped::Working(None, lost), TargetErrorClass::Connect),
            (
                Stopped::Working(None, Unanswered::UnexpectedAnswer),
                TargetErrorClass::Server,
            ),
            (Stopped::Credentials, TargetErrorClass::Credentials),
            (Stopped::Control, TargetErrorClass::Control),
        ] {
            assert_eq!(classify(stopped), class, "{stopped:?}");
        }
    }

    #[test]
    fn every_class_has_its_own_name() {
        let mut names: Vec<&str> = TargetErrorClass::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TargetErrorClass::ALL.len());
        assert_eq!(
            serde_json::to_value(TargetErrorClass::Login).unwrap(),
            serde_json::json!("login")
        );
    }
}
