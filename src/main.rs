//! Bootstrap only: logging, configuration, then either the Lambda runtime or one local
//! invocation (`index-pilot invoke --event FILE|-`).

use std::process::ExitCode;
use std::time::Duration;

use index_pilot::aws::{LambdaReInvoker, Sdk, SecretsManager};
use index_pilot::config::Config;
use index_pilot::continuation::InProcess;
use index_pilot::handler::{handle, run_in_process, App, HandlerError};
use lambda_runtime::{service_fn, Context, LambdaEvent};
use serde_json::Value;
use tokio::io::AsyncReadExt;

const USAGE: &str = "usage:
  index-pilot                          serve invocations from the Lambda runtime API
  index-pilot invoke --event FILE      run one invocation locally (and the hops that
                                       continue it) and print each report
                                       (FILE may be - for standard input)";

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => serve_lambda().await,
        ["invoke", "--event", path] => invoke_locally(path).await,
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve_lambda() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!("not running under AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set)\n{USAGE}");
        return ExitCode::from(2);
    }
    let result = match Config::from_env() {
        Ok(config) => {
            let sdk = Sdk::from_environment();
            let app = App::new(
                config,
                SecretsManager::new(sdk.clone()),
                LambdaReInvoker::new(sdk),
            );
            let app = &app;
            lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
                handle(app, event)
            }))
            .await
        }
        // Every invocation then says what is wrong, instead of a crash loop at init.
        Err(error) => {
            tracing::error!(error = %error, "invalid configuration");
            lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
                let error = HandlerError::Config(error.clone());
                async move { Err::<Value, _>(error) }
            }))
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}

async fn read_event(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut bytes = Vec::new();
        tokio::io::stdin()
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| format!("cannot read the event from standard input: {e}"))?;
        Ok(bytes)
    } else {
        tokio::fs::read(path)
            .await
            .map_err(|e| format!("cannot read the event file {path}: {e}"))
    }
}

async fn invoke_locally(path: &str) -> ExitCode {
    let outcome = async {
        let bytes = read_event(path).await?;
        let payload: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("invalid event: {path} is not valid JSON: {e}"))?;
        let config = Config::from_env().map_err(|e| format!("invalid configuration: {e}"))?;
        let app = App::new(
            config,
            SecretsManager::new(Sdk::from_environment()),
            InProcess::default(),
        );
        // No deadline: each hop gets INDEX_PILOT_BUDGET.
        let context = || {
            let mut context = Context::default();
            context.request_id = format!("local-{}", uuid::Uuid::new_v4());
            context
        };
        let reports = run_in_process(&app, payload, context)
            .await
            .map_err(|e| e.to_string())?;
        let printed: Result<Vec<String>, _> =
            reports.iter().map(serde_json::to_string_pretty).collect();
        printed
            .map(|reports| reports.join("\n"))
            .map_err(|e| format!("cannot print the report: {e}"))
    }
    .await;
    // Every client is dropped by now; their connections close in the background.
    index_pilot::pg::all_closed(Duration::from_secs(1)).await;
    match outcome {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("index-pilot: {message}");
            ExitCode::FAILURE
        }
    }
}
