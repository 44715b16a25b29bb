//! What one Lambda invocation does with its payload: an endpoint's state change, or the
//! scheduled sweep. The function's entry point (`src/bin/scaletag-lambda.rs`) wires the runtime
//! around [`handle`].

use serde::Serialize;
use serde_json::Value;

use crate::decision::Intent;
use crate::event::{self, EndpointChange, Trigger};
use crate::metrics::{self, Calls, Namespace};
use crate::outcome::{Outcome, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::retry::Deadline;
use crate::sweep;

/// What an invocation returns: one endpoint's outcome, or a sweep's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    Endpoint(Outcome),
    Sweep(Report),
}

/// Handles one invocation payload.
pub async fn handle(app: &App, payload: &Value, dl: &Deadline) -> Result<Response, Failure> {
    match event::decode(payload)? {
        Trigger::Sweep => {
            let report = sweep::sweep(app, &sweep::Options::default(), dl, &|_, _| ()).await?;
            // Every endpoint was tried; if AWS failed on some, the invocation fails, so that
            // Lambda's Errors metric shows it, Lambda retries the sweep (a second chance for a
            // transient failure, for a few reads per endpoint), and the OnFailure queue gets
            // the list. A rejected tag set does not fail the sweep: no retry can mend it, and
            // the Rejected metric and the report show it.
            if report.results.iter().any(|e| e.result == Verdict::Failed) {
                return Err(Failure::SweepIncomplete(Box::new(report)));
            }
            Ok(Response::Sweep(report))
        }
        Trigger::EndpointStateChange(change) => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            endpoint_change(app, &change, &dl)
                .await
                .map(Response::Endpoint)
        }
    }
}

async fn endpoint_change(
    app: &App,
    change: &EndpointChange,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    if change.status != event::IN_SERVICE {
        return Ok(Outcome::skipped(
            &change.endpoint_name,
            format!(
                "event status is {}; scaletag acts on {}",
                change.status,
                event::IN_SERVICE
            ),
        ));
    }
    let target = Target {
        name: &change.endpoint_name,
        arn_hint: change.endpoint_arn.as_deref(),
    };
    let done = reconcile::reconcile(app, target, Intent::FromTags, false, dl).await?;
    Ok(done.outcome)
}

/// The metrics record (EMF) of one invocation that ended with `result`.
pub fn metrics_record(
    namespace: &Namespace,
    timestamp_ms: u64,
    result: &Result<Response, Failure>,
    (retries, throttles): (u64, u64),
    duration_ms: f64,
) -> Value {
    let calls = |writes: usize| Calls {
        writes: writes as u64,
        retries,
        throttles,
    };
    let (endpoint, verdict, writes) = match result {
        Ok(Response::Sweep(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        Err(Failure::SweepIncomplete(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        Ok(Response::Endpoint(o)) => (
            Some(o.endpoint.as_str()),
            Verdict::of(o.kind, false),
            o.write_count(),
        ),
        Err(Failure::Rejected(r)) => (Some(r.endpoint.as_str()), Verdict::Rejected, 0),
        Err(Failure::Event(_)) => (None, Verdict::Rejected, 0),
        Err(Failure::Partial { endpoint, done, .. }) => {
            (Some(endpoint.as_str()), Verdict::Failed, *done)
        }
        Err(Failure::NoEndpoint(e)) => (Some(e.as_str()), Verdict::Failed, 0),
        Err(Failure::Aws(_)) => (None, Verdict::Failed, 0),
    };
    metrics::endpoint_record(
        namespace,
        timestamp_ms,
        endpoint,
        verdict,
        calls(writes),
        duration_ms,
    )
}

fn sweep_metrics(
    namespace: &Namespace,
    timestamp_ms: u64,
    report: &Report,
    calls: impl Fn(usize) -> Calls,
    duration_ms: f64,
) -> Value {
    let writes = report.results.iter().map(|e| e.writes).sum();
    metrics::sweep_record(namespace, timestamp_ms, report, calls(writes), duration_ms)
}
