//! The command line: `index-pilot` (what Lambda runs), `index-pilot invoke`, their
//! `--help`, `--version`, and how a local invocation prints its reports.

use clap::{Args, Parser, Subcommand, ValueEnum};

use index_pilot::report::{text, Report, Status};

/// `invoke`'s exit status when every invocation ran but a target ended in error
/// (1: an invocation failed as a whole; 2: a usage error).
pub const EXIT_TARGET_ERRORS: u8 = 3;

/// Whether a target of any of the reports ended in error.
pub fn any_target_in_error(reports: &[Report]) -> bool {
    reports
        .iter()
        .flat_map(|r| r.targets.iter())
        .any(|t| t.status == Status::Error)
}

/// The environment the function reads, with an example; shown by every `--help`.
const ENVIRONMENT: &str = "\
Environment:
  INDEX_PILOT_CONTROL_URL      the control database, a URL without a password (trust,
                               peer or PGPASSFILE), for local use; or
  INDEX_PILOT_CONTROL_SECRET   a Secrets Manager secret id (RDS format) for it; or
  INDEX_PILOT_CONTROL_IAM      {\"auth\": \"iam\", \"host\", \"port\", \"user\", \"database\"}: an
                               IAM token per connection (RDS, Aurora)
  INDEX_PILOT_TARGETS          JSON list of targets: {\"name\", \"url\"}, {\"name\", \"secret\"} or
                               {\"name\", \"auth\": \"iam\", \"host\", \"user\", \"database\"},
                               optionally \"databases\": [...]
  INDEX_PILOT_BUDGET           time one invocation may take without a Lambda deadline
                               (default 10m)
  INDEX_PILOT_SAFETY_MARGIN    kept back from the deadline (default 60s)
  INDEX_PILOT_PROGRESS_INTERVAL  how often a running rebuild's progress is logged
                               (default 30s)
  INDEX_PILOT_SSLMODE, INDEX_PILOT_SSL_ROOT_CERT, INDEX_PILOT_SHARD_SIZE,
  INDEX_PILOT_MAX_HOPS, INDEX_PILOT_MAX_CONCURRENT_REBUILDS, INDEX_PILOT_PARALLEL_TARGETS,
  INDEX_PILOT_SECRET_TTL       see README.md
  INDEX_PILOT_METRICS          emf: print the metrics (Embedded Metric Format) outside
                               Lambda too; INDEX_PILOT_METRICS_NAMESPACE: their namespace
                               (default IndexPilot)
  AWS_LAMBDA_LOG_FORMAT        JSON or Text (the default) for the logs on standard error;
  AWS_LAMBDA_LOG_LEVEL         or RUST_LOG: their level (default INFO)

Exit status of invoke: 0 when every target is ok or skipped; 3 when a target ended
in error (the report says which and why); 1 when the invocation failed as a whole;
2 for a usage error.

Example (a dry run against a local database, nothing is changed):
  INDEX_PILOT_CONTROL_URL=postgresql://postgres@127.0.0.1:5432/index_pilot_control \\
  INDEX_PILOT_TARGETS='[{\"name\": \"dev\", \"url\": \"postgresql://postgres@127.0.0.1:5432/dev\"}]' \\
  index-pilot invoke --event events/dry-run.json";

/// Keeps PostgreSQL index bloat under control: estimates each index's bloat and
/// rebuilds the bloated ones with REINDEX INDEX CONCURRENTLY, as an AWS Lambda job.
#[derive(Debug, Parser)]
#[command(name = "index-pilot", version, after_help = ENVIRONMENT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve invocations from the Lambda runtime API (what Lambda runs; the default).
    #[command(after_help = ENVIRONMENT)]
    Serve,
    /// Run one invocation here, and the hops that continue it, and print the reports.
    #[command(after_help = ENVIRONMENT)]
    Invoke(InvokeArgs),
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The event: a JSON file (the samples are in events/), or - for standard input.
    #[arg(long, value_name = "FILE")]
    pub event: String,
    /// How the reports are printed [default: text on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary for people: tables of what was rebuilt, planned, deferred, and totals.
    Text,
    /// The reports as the function returns them, one JSON document each.
    Json,
}

impl Format {
    /// The one asked for, else text for a person at a terminal and JSON for a program.
    pub fn resolve(asked: Option<Format>, stdout_is_terminal: bool) -> Format {
        asked.unwrap_or(if stdout_is_terminal {
            Format::Text
        } else {
            Format::Json
        })
    }

    pub fn print(self, reports: &[Report]) -> Result<String, serde_json::Error> {
        match self {
            Format::Text => Ok(text::render(reports)),
            Format::Json => {
                let printed: Result<Vec<String>, _> =
                    reports.iter().map(serde_json::to_string_pretty).collect();
                Ok(printed?.join("\n"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn text_at_a_terminal_json_in_a_pipe_unless_asked() {
        assert_eq!(Format::resolve(None, true), Format::Text);
        assert_eq!(Format::resolve(None, false), Format::Json);
        assert_eq!(Format::resolve(Some(Format::Json), true), Format::Json);
        assert_eq!(Format::resolve(Some(Format::Text), false), Format::Text);
    }

    #[test]
    fn invoke_takes_an_event_and_a_format() {
        let cli =
            Cli::try_parse_from(["index-pilot", "invoke", "--event", "-", "--format", "text"])
                .unwrap();
        match cli.command {
            Some(Command::Invoke(args)) => {
                assert_eq!(args.event, "-");
                assert_eq!(args.format, Some(Format::Text));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["index-pilot", "invoke"]).is_err());
        assert!(
            Cli::try_parse_from(["index-pilot", "invoke", "--event", "x", "--format", "yaml"])
                .is_err()
        );
    }

    #[test]
    fn every_help_names_the_environment() {
        let mut command = Cli::command();
        let top = command.render_long_help().to_string();
        assert!(
            top.contains("INDEX_PILOT_TARGETS") && top.contains("Example"),
            "{top}"
        );
        let invoke = command
            .find_subcommand_mut("invoke")
            .map(|c| c.render_long_help().to_string())
            .unwrap();
        assert!(invoke.contains("--format") && invoke.contains("INDEX_PILOT_CONTROL_URL"));
    }
}
