//! A server known by what it says about itself, not by the host string that reached
//! it: a cluster endpoint and an instance endpoint, a CNAME, an IP address or the
//! same name in other letters all reach one primary, and the limit of rebuilds per
//! server must count them as one.

use std::fmt;

/// Which server a database lives on, for the limit of rebuilds per server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerIdentity {
    /// What the limit is counted by: `system <identifier>` (`pg_control_system()`),
    /// else `address <ip>:<port>` as the server saw the connection arrive, else the
    /// host and port that reached it (a Unix socket).
    pub(crate) key: String,
    /// The host and port the configuration names, for people.
    pub(crate) reached_at: String,
}

impl ServerIdentity {
    pub(crate) fn new(
        system_identifier: Option<&str>,
        address: Option<(&str, i32)>,
        reached_at: String,
    ) -> ServerIdentity {
        let key = match (system_identifier.filter(|id| !id.is_empty()), address) {
            (Some(id), _) => format!("system {id}"),
            (None, Some((ip, port))) => format!("address {ip}:{port}"),
            (None, None) => format!("host {reached_at}"),
        };
        ServerIdentity { key, reached_at }
    }
}

impl fmt::Display for ServerIdentity {
    /// `db.example.com:5432 (system 7715977772449392815)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reached_at, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::ServerIdentity;

    #[test]
    fn a_server_is_known_by_its_system_identifier_first() {
        let by_cluster_endpoint = ServerIdentity::new(
            Some("7715977772449392815"),
            Some(("10.0.0.5", 5432)),
            "orders.cluster-abc.eu-west-1.rds.amazonaws.com:5432".into(),
        );
        let by_address = ServerIdentity::new(
            Some("7715977772449392815"),
            Some(("10.0.0.5", 5432)),
            "10.0.0.5:5432".into(),
        );
        assert_eq!(by_cluster_endpoint.key, by_address.key);
        assert_eq!(by_address.key, "system 7715977772449392815");
        assert_eq!(
            by_address.to_string(),
            "10.0.0.5:5432 (system 7715977772449392815)"
        );
    }

    #[test]
    fn without_it_by_the_address_the_server_saw_then_by_the_host() {
        let a = ServerIdentity::new(None, Some(("10.0.0.5", 5432)), "DB.example.com:5432".into());
        let b = ServerIdentity::new(
            Some(""),
            Some(("10.0.0.5", 5432)),
            "db.example.com:5432".into(),
        );
        assert_eq!(a.key, "address 10.0.0.5:5432");
        assert_eq!(a.key, b.key);
        let socket = ServerIdentity::new(None, None, "/var/run/postgresql:5432".into());
        assert_eq!(socket.key, "host /var/run/postgresql:5432");
    }
}
