//! Logs the Lambda way: Lambda's advanced logging controls decide the format
//! (`AWS_LAMBDA_LOG_FORMAT`: `JSON` or `Text`) and the level (`AWS_LAMBDA_LOG_LEVEL`,
//! else `RUST_LOG`, else `INFO`), as the Lambda runtime's own subscriber reads them.
//!
//! The runtime's subscriber is not used as is because it writes ANSI colour codes
//! into CloudWatch and into log files, and leaves a JSON line's fields nested under
//! `fields`. Here a JSON line is flat (`level`, `message`, the event's fields) and
//! carries the spans it was logged in (`spans`: the invocation's `run_id`, `shard`,
//! `hop`, `mode`, then the `target`); a text line names them before the message.
//! Lines go to standard error: a local `invoke` keeps standard output for the report.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// The two formats Lambda's logging controls offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// What the environment asks for: format and filter directives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `EnvFilter` directives (`info`, `debug`, `index_pilot=debug,info`, ...).
    pub directives: String,
}

impl LogSettings {
    /// From the values of `AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG`.
    /// Lambda spells its levels in capitals (`TRACE` … `FATAL`); `FATAL` has no
    /// `tracing` level and means errors only.
    pub fn from_values(
        format: Option<&str>,
        lambda_level: Option<&str>,
        rust_log: Option<&str>,
    ) -> LogSettings {
        let format = match format {
            Some(f) if f.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        };
        let directives = match lambda_level.map(str::trim).filter(|l| !l.is_empty()) {
            Some(level) => match level.to_ascii_lowercase().as_str() {
                "fatal" => "error".to_owned(),
                known @ ("trace" | "debug" | "info" | "warn" | "error") => known.to_owned(),
                _ => "info".to_owned(),
            },
            None => rust_log
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .unwrap_or("info")
                .to_owned(),
        };
        LogSettings { format, directives }
    }

    pub fn from_env() -> LogSettings {
        let var = |name| std::env::var(name).ok();
        LogSettings::from_values(
            var("AWS_LAMBDA_LOG_FORMAT").as_deref(),
            var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
            var("RUST_LOG").as_deref(),
        )
    }

    /// Directives that do not parse are left out, rather than no logs at all.
    fn filter(&self) -> EnvFilter {
        EnvFilter::builder()
            .with_default_directive(LevelFilter::INFO.into())
            .parse_lossy(&self.directives)
    }
}

/// Installs the subscriber for the process.
pub fn init(settings: &LogSettings) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(settings.filter())
        .with_writer(std::io::stderr)
        .with_target(false);
    match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_settings_win_over_rust_log() {
        let s = LogSettings::from_values(Some("JSON"), Some("DEBUG"), Some("warn"));
        assert_eq!(s.format, LogFormat::Json);
        assert_eq!(s.directives, "debug");
    }

    #[test]
    fn without_lambda_settings_rust_log_then_info() {
        let s = LogSettings::from_values(None, None, Some("index_pilot=debug"));
        assert_eq!(s.format, LogFormat::Text);
        assert_eq!(s.directives, "index_pilot=debug");
        assert_eq!(
            LogSettings::from_values(Some("Text"), None, None).directives,
            "info"
        );
        assert_eq!(
            LogSettings::from_values(None, Some(" "), Some("")).directives,
            "info"
        );
    }

    #[test]
    fn fatal_means_errors_only() {
        assert_eq!(
            LogSettings::from_values(None, Some("FATAL"), None).directives,
            "error"
        );
    }

    #[test]
    fn an_unknown_lambda_level_means_info() {
        let s = LogSettings::from_values(None, Some("loud"), None);
        assert_eq!(s.directives, "info");
        assert_eq!(s.filter().max_level_hint(), Some(LevelFilter::INFO));
    }
}
