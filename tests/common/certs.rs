//! Certificates for TLS tests: a CA, a server certificate for 127.0.0.1 signed by
//! it, an unrelated CA; and a cluster that then accepts only TLS connections over TCP.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::Cluster;

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A self-signed CA certificate `<name>.crt` with its key `<name>.key`.
fn make_ca(dir: &Path, name: &str, common_name: &str) {
    let (key, crt, subject) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={common_name}"),
    );
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &crt,
            "-days", "2", "-subj", &subject,
        ],
    );
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
pub fn make_certificates(dir: &Path) {
    make_ca(dir, "ca", "index-pilot test CA");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
        ],
    );
    make_ca(dir, "other", "some other CA");
}

/// Makes the certificates in `certs` (`ca.crt` is the CA to trust, `other.crt` one
/// not to), turns TLS on and refuses TCP connections without it.
pub async fn require_tls(cluster: &Cluster, certs: &Path) {
    make_certificates(certs);
    // The server's key and certificate, owned by the server's user, key private.
    let owner = std::fs::metadata(&cluster.dir).unwrap();
    for file in ["server.crt", "server.key"] {
        let path = cluster.file(file);
        std::fs::copy(certs.join(file), &path).unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let admin = cluster.connect("postgres").await;
    for setting in [
        "ALTER SYSTEM SET ssl = on".to_owned(),
        format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            cluster.file("server.crt").display()
        ),
        format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            cluster.file("server.key").display()
        ),
    ] {
        admin.batch_execute(&setting).await.unwrap();
    }
    // Connections without TLS are refused from now on.
    let hba = cluster.file("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        format!("hostnossl all all 127.0.0.1/32 reject\n{rules}"),
    )
    .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
}
