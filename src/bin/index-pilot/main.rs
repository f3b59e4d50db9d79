//! Bootstrap only: the command line, logging, configuration, then either the Lambda
//! runtime or one local invocation (`index-pilot invoke --event FILE|-`).

// The invocation future nests deeply (handler, engine, spans) for the layout query.
#![recursion_limit = "256"]

mod cli;
mod logging;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cli::{any_target_in_error, Cli, Command, Format, InvokeArgs, EXIT_TARGET_ERRORS};
use index_pilot::aws::{CloudWatch, LambdaReInvoker, Sdk, SdkSigner, SecretsManager};
use index_pilot::config::Config;
use index_pilot::invocation::continuation::InProcess;
use index_pilot::invocation::handler::{handle, run_in_process, App, HandlerError};
use lambda_runtime::{service_fn, Context, LambdaEvent};
use logging::LogSettings;
use serde_json::Value;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> ExitCode {
    // --help, --version and usage errors exit here, before anything is set up.
    let cli = Cli::parse();
    logging::init(&LogSettings::from_env());
    match cli.command {
        None | Some(Command::Serve) => serve_lambda().await,
        Some(Command::Invoke(args)) => invoke_locally(&args).await,
    }
}

async fn serve_lambda() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!("index-pilot: not running under AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set); to run one invocation here: index-pilot invoke --event FILE (see index-pilot --help)");
        return ExitCode::from(2);
    }
    let result = match Config::from_env() {
        Ok(config) => {
            let sdk = Sdk::from_environment();
            let app = App::new(
                config,
                SecretsManager::new(sdk.clone()),
                LambdaReInvoker::new(sdk.clone()),
            )
            .with_free_storage(CloudWatch::new(sdk.clone()))
            .with_signer(SdkSigner::new(sdk));
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

async fn invoke_locally(args: &InvokeArgs) -> ExitCode {
    let path = args.event.as_str();
    let format = Format::resolve(args.format, std::io::stdout().is_terminal());
    let outcome = async {
        let bytes = read_event(path).await?;
        let payload: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("invalid event: {path} is not valid JSON: {e}"))?;
        let config = Config::from_env().map_err(|e| format!("invalid configuration: {e}"))?;
        let sdk = Sdk::from_environment();
        let app = App::new(
            config,
            SecretsManager::new(sdk.clone()),
            InProcess::default(),
        )
        .with_free_storage(CloudWatch::new(sdk.clone()))
        .with_signer(SdkSigner::new(sdk));
        // No deadline: each hop gets INDEX_PILOT_BUDGET.
        let context = || {
            let mut context = Context::default();
            context.request_id = format!("local-{}", uuid::Uuid::new_v4());
            context
        };
        let reports = run_in_process(&app, payload, context)
            .await
            .map_err(|e| e.to_string())?;
        let printed = format
            .print(&reports)
            .map_err(|e| format!("cannot print the report: {e}"))?;
        Ok::<_, String>((printed, any_target_in_error(&reports)))
    }
    .await;
    // Every client is dropped by now; their connections close in the background.
    index_pilot::pg::all_closed(Duration::from_secs(1)).await;
    match outcome {
        Ok((printed, target_errors)) => {
            println!("{printed}");
            if target_errors {
                ExitCode::from(EXIT_TARGET_ERRORS)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("index-pilot: {message}");
            ExitCode::FAILURE
        }
    }
}
