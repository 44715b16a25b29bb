//! Reconcile every InService endpoint in the account and region: backfill for endpoints
//! created before scaletag was deployed, and drift repair (a policy edited by hand comes
//! back to its template). The same `reconcile` as one event, for each endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;

use crate::decision::{Decision, Intent};
use crate::outcome::{Entry, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::retry::{AwsError, Deadline};

pub use crate::retry::ENDPOINT_BUDGET;

#[derive(Debug, Clone)]
pub struct Options {
    /// Endpoints reconciled at once. AAS's request rates are per account; a handful in
    /// flight keeps a sweep fast without crowding out the event-driven invocations.
    pub concurrency: usize,
    /// Plan only: every read, no write.
    pub dry_run: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 4,
            dry_run: false,
        }
    }
}

/// Below this much time left, no new endpoint is started.
const MIN_TO_START: Duration = Duration::from_secs(5);

/// Sweeps every InService endpoint. Only listing the endpoints can fail the sweep; each
/// endpoint's own failure is an entry in the report.
pub async fn sweep(
    app: &App,
    options: &Options,
    deadline: &Deadline,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, AwsError> {
    let mut endpoints = app.aws.list_in_service_endpoints(deadline).await?;
    fastrand::shuffle(&mut endpoints);
    let total = endpoints.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    progress(0, total);
    let outcomes: Vec<(String, Option<Entry>)> = stream::iter(endpoints)
        .map(|(name, arn)| {
            let done = &done;
            async move {
                if deadline.remaining() < MIN_TO_START {
                    return (name, None);
                }
                let dl = deadline.within(ENDPOINT_BUDGET);
                let entry = one(app, &name, &arn, options.dry_run, &dl).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                (name, Some(entry))
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut results = Vec::new();
    let mut not_reached = Vec::new();
    for (name, entry) in outcomes {
        match entry {
            Some(e) => results.push(e),
            None => not_reached.push(name),
        }
    }
    results.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    not_reached.sort();
    let mut counts = BTreeMap::new();
    for e in &results {
        *counts.entry(e.result.as_str()).or_insert(0) += 1;
    }
    Ok(Report {
        dry_run: options.dry_run,
        endpoints: total,
        counts,
        results,
        not_reached,
    })
}

async fn one(app: &App, name: &str, arn: &str, dry_run: bool, dl: &Deadline) -> Entry {
    let target = Target {
        name,
        arn_hint: Some(arn),
    };
    let done = reconcile::reconcile(app, target, Intent::FromTags, dry_run, dl).await;
    let (result, writes, reason, warnings) = match done {
        Ok(r) => {
            let o = r.outcome;
            let writes = o.write_count();
            // A skipped endpoint's reason is its line; a dry run has nothing to report but
            // what it would write.
            let reason = match (&r.decision, dry_run) {
                (Decision::Ready(_), true) => None,
                _ => o.reason,
            };
            (Verdict::of(o.kind, dry_run), writes, reason, o.warnings)
        }
        Err(Failure::Rejected(r)) => {
            let problems: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
            (Verdict::Rejected, 0, Some(problems.join("; ")), Vec::new())
        }
        Err(e) => (Verdict::Failed, 0, Some(e.to_string()), Vec::new()),
    };
    let entry = Entry {
        endpoint: name.to_string(),
        result,
        writes,
        reason,
        warnings,
    };
    tracing::info!(
        endpoint = name,
        result = entry.result.as_str(),
        writes = entry.writes,
        reason = entry.reason.as_deref().unwrap_or(""),
        "sweep"
    );
    entry
}
