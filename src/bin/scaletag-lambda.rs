//! The Lambda function (SAM builds it as `bootstrap`): wires configuration, clients and the
//! runtime. Nothing else.

// The handler's future nests every stage of a reconcile (and the sweep's); computing its
// layout goes deeper than rustc's default query depth on a fresh build.
#![recursion_limit = "256"]

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;

use scaletag::aws::Aws;
use scaletag::lambda::{self, Response};
use scaletag::metrics::Namespace;
use scaletag::reconcile::App;
use scaletag::retry::{self, Deadline};

/// Time kept back from Lambda's deadline to report the result.
const REPORT_MARGIN: Duration = Duration::from_millis(800);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    // The version first: every log group says which build made its lines.
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "scaletag starting");
    let config = match scaletag::config::from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            // Exiting before the first /next is a Lambda init error; the message is in the log.
            tracing::error!(error = %e, "invalid configuration");
            eprintln!("scaletag: {e}");
            std::process::exit(1);
        }
    };
    let namespace = config.metrics_namespace.clone();
    // Lambda gives the execution role's credentials in the environment: no other provider
    // of the default chain (web identity, SSO, the container and instance metadata) is built.
    let sdk = aws_config::from_env()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .http_client(scaletag::aws::http_client())
        .load()
        .await;
    let app = App::new(Aws::new(&sdk), config);
    let (app, namespace) = (&app, &namespace);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler(app, namespace, event).await
    }))
    .await
}

async fn handler(
    app: &App,
    namespace: &Namespace,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let deadline = deadline(event.context.deadline());
    let (started, before) = (Instant::now(), retry::counters());
    let result = lambda::handle(app, &event.payload, &deadline).await;
    let after = retry::counters();
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    // One EMF line on stdout, as it is: CloudWatch Logs makes metrics of it.
    let record = lambda::metrics_record(
        namespace,
        now_ms,
        &result,
        (after.0 - before.0, after.1 - before.1),
        started.elapsed().as_secs_f64() * 1e3,
    );
    println!("{record}");
    match result {
        Ok(response) => {
            let outcomes: Vec<&scaletag::outcome::Outcome> = match &response {
                Response::Endpoint(r) => std::iter::once(&r.outcome)
                    .chain(&r.inference_components)
                    .collect(),
                Response::Component(o) => vec![o],
                Response::Recheck(r) => r.outcomes.iter().collect(),
                Response::Several(r) => r.outcomes.iter().collect(),
                Response::Sweep(_) | Response::Ignored { .. } => Vec::new(),
            };
            for outcome in outcomes {
                tracing::info!(
                    endpoint = outcome.subject.endpoint_name().unwrap_or_default(),
                    inference_component = outcome.subject.component_name().unwrap_or_default(),
                    outcome = ?outcome.kind,
                    writes = outcome.write_count(),
                    "done"
                );
            }
            serde_json::to_value(&response).map_err(|e| Diagnostic {
                error_type: "scaletag.Internal".into(),
                error_message: e.to_string(),
            })
        }
        Err(e) => {
            tracing::error!(error = %e, error_type = e.error_type(), "failed");
            Err(Diagnostic {
                error_type: e.error_type().into(),
                error_message: e.to_string(),
            })
        }
    }
}

/// Lambda's deadline as an Instant, less the margin needed to report.
fn deadline(at: SystemTime) -> Deadline {
    let left = at
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(REPORT_MARGIN);
    Deadline::at(Instant::now() + left)
}

/// One JSON object per line, as Lambda's JSON log format expects. `LOG_LEVEL` (or Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`) sets the level; info by default.
fn init_logging() {
    let level = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .json()
        .with_max_level(level)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}
