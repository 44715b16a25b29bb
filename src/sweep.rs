//! Reconcile every InService endpoint and every inference component (IC) in the account and
//! region: backfill for what was created before scaletag was deployed (or while no event
//! reached it), and drift repair (a policy edited by hand comes back to its template). The
//! same reconcile as one event, for each. Then the clean-up: what scaletag made for an IC that
//! is gone (its wake alarm; its target, when scaletag registered it) is removed, so nothing
//! scaletag creates outlives what it was for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::try_join4;
use futures_util::stream;

use crate::decision::{Decision, Intent};
use crate::outcome::{Entry, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::reconcile_component::{clean_up, reconcile_component_reporting};
use crate::retry::{AwsError, Deadline};
use crate::wake;

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

/// What the sweep works through: an endpoint, an IC, or the leftovers of an IC that is gone.
enum Work {
    Endpoint { name: String, arn: String },
    Component { name: String, arn: String },
    Gone { name: String },
}

impl Work {
    fn name(&self) -> &str {
        match self {
            Work::Endpoint { name, .. } | Work::Component { name, .. } | Work::Gone { name } => {
                name
            }
        }
    }
}

/// Sweeps every InService endpoint and every IC, then cleans up after ICs that are gone.
/// Only the listings can fail the sweep; each endpoint's or IC's own failure is an entry in
/// the report.
pub async fn sweep(
    app: &App,
    options: &Options,
    deadline: &Deadline,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, AwsError> {
    let aws = &app.aws;
    let (endpoints, components, targets, alarms) = try_join4(
        aws.list_in_service_endpoints(deadline),
        aws.list_components(None, deadline),
        aws.component_targets(deadline),
        aws.describe_alarms(None, deadline),
    )
    .await?;
    let endpoint_count = endpoints.len();
    let live: BTreeSet<&str> = components.iter().map(|c| c.name.as_str()).collect();
    let gone: BTreeSet<String> = targets
        .iter()
        .filter_map(|id| id.strip_prefix("inference-component/"))
        .chain(
            alarms
                .iter()
                .filter_map(|a| wake::component_of_alarm(&a.alarm_name)),
        )
        .filter(|name| !live.contains(name))
        .map(str::to_string)
        .collect();
    let component_count = components.len() + gone.len();
    let mut work: Vec<Work> = endpoints
        .into_iter()
        .map(|(name, arn)| Work::Endpoint { name, arn })
        .chain(components.into_iter().map(|c| Work::Component {
            name: c.name,
            arn: c.arn,
        }))
        .chain(gone.into_iter().map(|name| Work::Gone { name }))
        .collect();
    fastrand::shuffle(&mut work);
    let total = work.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    progress(0, total);
    let outcomes: Vec<(String, Option<Entry>)> = stream::iter(work)
        .map(|w| {
            let done = &done;
            async move {
                let name = w.name().to_string();
                if deadline.remaining() < MIN_TO_START {
                    return (name, None);
                }
                let dl = deadline.within(ENDPOINT_BUDGET);
                let entry = one(app, &w, options.dry_run, &dl).await;
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
    results.sort_by(|a, b| {
        (&a.endpoint, &a.inference_component).cmp(&(&b.endpoint, &b.inference_component))
    });
    not_reached.sort();
    let mut counts = BTreeMap::new();
    for e in &results {
        *counts.entry(e.result.as_str()).or_insert(0) += 1;
    }
    Ok(Report {
        dry_run: options.dry_run,
        endpoints: endpoint_count,
        inference_components: component_count,
        counts,
        results,
        not_reached,
    })
}

async fn one(app: &App, work: &Work, dry_run: bool, dl: &Deadline) -> Entry {
    let attempt = match work {
        Work::Endpoint { name, arn } => {
            let target = Target {
                name,
                arn_hint: Some(arn),
            };
            reconcile::reconcile_reporting(app, target, Intent::FromTags, dry_run, dl).await
        }
        Work::Component { name, arn } => {
            let target = Target {
                name,
                arn_hint: Some(arn),
            };
            reconcile_component_reporting(app, target, Intent::FromTags, dry_run, dl).await
        }
        Work::Gone { name } => reconcile::Attempt {
            result: clean_up(app, name, dry_run, dl).await,
            last_status: None,
        },
    };
    entry(
        work.name(),
        matches!(work, Work::Endpoint { .. }),
        attempt,
        dry_run,
    )
}

/// One line of the report from what a reconcile did (or, in a dry run, would do).
pub fn entry(name: &str, is_endpoint: bool, attempt: reconcile::Attempt, dry_run: bool) -> Entry {
    let done = attempt.result;
    let (endpoint, component) = match (is_endpoint, &done) {
        (true, _) => (name.to_string(), None),
        (false, Ok(r)) => (r.outcome.endpoint.clone(), Some(name.to_string())),
        (false, Err(Failure::Rejected(r))) => (r.endpoint.clone(), Some(name.to_string())),
        (false, Err(_)) => (String::new(), Some(name.to_string())),
    };
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
        endpoint,
        inference_component: component,
        result,
        status: attempt.last_status,
        writes,
        reason,
        warnings,
    };
    tracing::info!(
        endpoint = entry.endpoint.as_str(),
        inference_component = entry.inference_component.as_deref().unwrap_or(""),
        result = entry.result.as_str(),
        writes = entry.writes,
        reason = entry.reason.as_deref().unwrap_or(""),
        "sweep"
    );
    entry
}
