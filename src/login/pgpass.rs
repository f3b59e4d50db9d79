//! Passwords from a password file (`PGPASSFILE`, else `~/.pgpass`), as libpq reads
//! them: `hostname:port:database:username:password`, `*` matches anything, `\` escapes
//! `:` and `\`. A file that group or others can read is ignored, as libpq does.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tokio_postgres::config::Host;
use tokio_postgres::Config;

/// The fields of one line, unescaped.
fn fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            // The password, last, may hold unescaped colons.
            ':' if fields.len() < 4 => fields.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    fields.push(current);
    fields
}

/// The password for (host, port, database, user) in the file's text, if a line matches.
pub(crate) fn lookup(
    text: &str,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(fields)
        .filter(|f| f.len() == 5)
        .find(|f| {
            let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
            matches(&f[0], host)
                && matches(&f[1], &port)
                && matches(&f[2], database)
                && matches(&f[3], user)
        })
        .map(|mut f| f.swap_remove(4))
}

fn password_file() -> Option<PathBuf> {
    std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))
}

/// Fills in the password from the password file when the configuration has none.
pub(crate) fn apply(config: &mut Config) {
    if config.get_password().is_some() {
        return;
    }
    let Some(path) = password_file() else { return };
    let Ok(metadata) = std::fs::metadata(&path) else {
        return;
    };
    if !metadata.is_file() {
        return;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(file = %path.display(), "password file ignored: group or others can read it (chmod 0600)");
        return;
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a Unix-domain socket as "localhost".
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or_default().to_owned();
    let database = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_owned);
    if let Some(password) = lookup(&text, &host, port, &database, &user) {
        config.password(password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n\
        db.example.com:5432:orders:app:s3cret\n\
        *:*:*:pilot:p\\:with\\\\escapes\n\
        localhost:5433:*:app:local\n";

    #[test]
    fn finds_the_first_matching_line() {
        assert_eq!(
            lookup(FILE, "db.example.com", 5432, "orders", "app").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            lookup(FILE, "anywhere", 1, "x", "pilot").as_deref(),
            Some("p:with\\escapes")
        );
        assert_eq!(
            lookup(FILE, "localhost", 5433, "x", "app").as_deref(),
            Some("local")
        );
        assert_eq!(lookup(FILE, "db.example.com", 5433, "orders", "app"), None);
        assert_eq!(lookup("short:line", "h", 1, "d", "u"), None);
    }
}
