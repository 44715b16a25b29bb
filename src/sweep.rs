//! Reconcile every InService endpoint in the account and region: backfill for endpoints
//! created before scaletag was deployed, and drift repair (a policy edited by hand comes
//! back to its template). The same `prepare`/`execute` as one event, for each endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use serde::Serialize;

use crate::outcome::Kind;
use crate::reconcile::{self, App, Failure, Intent, Prepared};
use crate::retry::{AwsError, Deadline};

#[derive(Debug, Clone)]
pub struct Options {
    /// Endpoints reconciled at once. AAS's request rates are per account; a handful in
    /// flight keeps a sweep fast without crowding out the event-driven invocations.
    pub concurrency: usize,
    /// Plan only: every read, no write.
    pub dry_run: bool,
    /// The most one endpoint may take, retries included.
    pub per_endpoint: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: 4,
            dry_run: false,
            per_endpoint: Duration::from_secs(30),
        }
    }
}

/// How one endpoint ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Applied,
    WouldApply,
    Unchanged,
    Skipped,
    Detached,
    WouldDetach,
    Rejected,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applied => "applied",
            Verdict::WouldApply => "would-apply",
            Verdict::Unchanged => "unchanged",
            Verdict::Skipped => "skipped",
            Verdict::Detached => "detached",
            Verdict::WouldDetach => "would-detach",
            Verdict::Rejected => "rejected",
            Verdict::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub endpoint: String,
    pub result: Verdict,
    /// Writes made (or, in a dry run, that would be).
    pub writes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub endpoints: usize,
    pub counts: BTreeMap<&'static str, usize>,
    pub results: Vec<Entry>,
    /// Endpoints not started because the deadline was near; the next sweep covers them
    /// (the order is shuffled each time, so none is starved).
    pub not_reached: Vec<String>,
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
                let dl = Deadline::after(deadline.remaining().min(options.per_endpoint));
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
    let entry = |result, writes, reason: Option<String>, warnings| Entry {
        endpoint: name.to_string(),
        result,
        writes,
        reason,
        warnings,
    };
    let prepared = reconcile::prepare(app, name, Some(arn), Intent::FromTags, dl).await;
    let outcome = match prepared {
        Ok(Prepared::Skipped(o)) => return entry(Verdict::Skipped, 0, o.reason, Vec::new()),
        Ok(Prepared::Ready(plan)) if dry_run => {
            let o = plan.outcome();
            let result = match o.outcome {
                Kind::Applied => Verdict::WouldApply,
                Kind::Detached => Verdict::WouldDetach,
                _ => Verdict::Unchanged,
            };
            return entry(result, o.write_count(), None, o.warnings);
        }
        Ok(Prepared::Ready(plan)) => reconcile::execute(app, &plan, dl).await,
        Err(e) => Err(e),
    };
    let result = match &outcome {
        Ok(o) => entry(
            match o.outcome {
                Kind::Applied => Verdict::Applied,
                Kind::Unchanged => Verdict::Unchanged,
                Kind::Skipped => Verdict::Skipped,
                Kind::Detached => Verdict::Detached,
            },
            o.write_count(),
            o.reason.clone(),
            o.warnings.clone(),
        ),
        Err(Failure::Rejected(r)) => {
            let problems: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
            entry(Verdict::Rejected, 0, Some(problems.join("; ")), Vec::new())
        }
        Err(e) => entry(Verdict::Failed, 0, Some(e.to_string()), Vec::new()),
    };
    tracing::info!(
        endpoint = name,
        result = result.result.as_str(),
        writes = result.writes,
        reason = result.reason.as_deref().unwrap_or(""),
        "sweep"
    );
    result
}
