//! Reconcile every InService endpoint and every inference component (IC) in the account and
//! region: backfill for what was created before scaletag was deployed (or while no event
//! reached it), and drift repair (a policy edited by hand comes back to its template). The
//! same reconcile as one event, for each. Then the clean-up: what scaletag made for an IC that
//! is gone (its wake alarm; its target, when scaletag registered it) is removed, so nothing
//! scaletag creates outlives what it was for.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{try_join, try_join4};
use futures_util::stream;

use crate::cloudwatch::AlarmQuery;
use crate::decision::Decision;
use crate::diff::Current;
use crate::outcome::{Entry, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::resource::{Scalable, Subject};
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

/// What the sweep works through: a resource, or the leftovers of a unit whose resource is
/// gone.
enum Work {
    Endpoint { name: String, arn: String },
    Component { name: String, arn: String },
    Gone(Scalable),
}

impl Work {
    /// Who it is about, as far as the listings say.
    fn subject(&self) -> Subject {
        match self {
            Work::Endpoint { name, .. } => Subject::endpoint(name),
            Work::Component { name, .. } => Subject::component(name, None),
            Work::Gone(Scalable::Component { name }) => Subject::component(name, None),
            Work::Gone(Scalable::Variant { endpoint, .. })
            | Work::Gone(Scalable::AsyncVariant { endpoint, .. }) => Subject::endpoint(endpoint),
        }
    }
}

/// The units scaletag may have left something for whose resource is gone: ICs with a
/// scalable target (AAS deregisters a deleted endpoint's targets itself, not an IC's), and the
/// owner of every wake alarm, whatever its kind (nobody but scaletag deletes those).
fn leftovers(
    units: &[Scalable],
    alarms: &[wake::Alarm],
    live_endpoints: &BTreeSet<&str>,
    live_components: &BTreeSet<&str>,
) -> BTreeSet<Scalable> {
    let targets = units
        .iter()
        .filter(|u| matches!(u, Scalable::Component { .. }))
        .cloned();
    targets
        .chain(alarms.iter().filter_map(wake::owner))
        .filter(|u| match u {
            Scalable::Component { name } => !live_components.contains(name.as_str()),
            Scalable::Variant { endpoint, .. } | Scalable::AsyncVariant { endpoint, .. } => {
                !live_endpoints.contains(endpoint.as_str())
            }
        })
        .collect()
}

/// Sweeps every InService endpoint and every IC, then cleans up after units whose resource
/// is gone. Only the listings can fail the sweep; each resource's own failure is an entry in
/// the report.
pub async fn sweep(
    app: &App,
    options: &Options,
    deadline: &Deadline,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, AwsError> {
    let (work, bulk) = listings(app, deadline).await?;
    let bulk = &bulk;
    let (endpoint_count, component_count) = work.iter().fold((0, 0), |(e, c), w| match w {
        Work::Endpoint { .. } => (e + 1, c),
        Work::Component { .. } | Work::Gone(_) => (e, c + 1),
    });
    let total = work.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    progress(0, total);
    let outcomes: Vec<(Subject, Option<Entry>)> = stream::iter(work)
        .map(|w| {
            let done = &done;
            async move {
                let subject = w.subject();
                if deadline.remaining() < MIN_TO_START {
                    return (subject, None);
                }
                let dl = deadline.within(ENDPOINT_BUDGET);
                let entry = one(app, &w, bulk, options.dry_run, &dl).await;
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                (subject, Some(entry))
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut results = Vec::new();
    let mut not_reached = Vec::new();
    for (subject, entry) in outcomes {
        match entry {
            Some(e) => results.push(e),
            None => not_reached.push(subject.name().to_string()),
        }
    }
    results.sort_by(|a, b| {
        let key = |e: &Entry| {
            (
                e.subject.endpoint_name().map(str::to_string),
                e.subject.component_name().map(str::to_string),
            )
        };
        key(a).cmp(&key(b))
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

/// The listings, in parallel: the resources, and what AAS and CloudWatch hold for all of
/// them, read in bulk (a page at a time, by namespace or name prefix) instead of per resource.
/// The work they make is shuffled, so that a sweep cut short by its deadline starves no
/// resource.
async fn listings(app: &App, deadline: &Deadline) -> Result<(Vec<Work>, Current), AwsError> {
    let aws = &app.aws;
    let ((endpoints, components), (targets, policies, scheduled, alarms)) = try_join(
        try_join(
            aws.list_in_service_endpoints(deadline),
            aws.list_components(None, deadline),
        ),
        try_join4(
            aws.all_targets(deadline),
            aws.describe_policies(None, deadline),
            aws.describe_scheduled_actions(None, deadline),
            aws.describe_alarms(AlarmQuery::All, deadline),
        ),
    )
    .await?;
    let bulk = Current {
        targets,
        policies,
        scheduled_actions: scheduled,
        alarms,
    };
    let units: Vec<Scalable> = bulk
        .targets
        .iter()
        .filter_map(|t| Scalable::of_target(&t.key.resource_id, t.key.dimension))
        .collect();
    let live_endpoints: BTreeSet<&str> = endpoints.iter().map(|(n, _)| n.as_str()).collect();
    let live_components: BTreeSet<&str> = components.iter().map(|c| c.name.as_str()).collect();
    let gone = leftovers(&units, &bulk.alarms, &live_endpoints, &live_components);
    let mut work: Vec<Work> = endpoints
        .iter()
        .map(|(name, arn)| Work::Endpoint {
            name: name.clone(),
            arn: arn.clone(),
        })
        .chain(components.iter().map(|c| Work::Component {
            name: c.name.clone(),
            arn: c.arn.clone(),
        }))
        .chain(gone.into_iter().map(Work::Gone))
        .collect();
    fastrand::shuffle(&mut work);
    Ok((work, bulk))
}

async fn one(app: &App, work: &Work, bulk: &Current, dry_run: bool, dl: &Deadline) -> Entry {
    let attempt = match work {
        Work::Endpoint { name, arn } => {
            let target = Target::endpoint(name, Some(arn));
            reconcile::reconcile_swept(app, target, bulk, dry_run, dl).await
        }
        Work::Component { name, arn } => {
            let target = Target::component(name, Some(arn));
            reconcile::reconcile_swept(app, target, bulk, dry_run, dl).await
        }
        Work::Gone(unit) => reconcile::Attempt {
            result: reconcile::clean_up(app, unit, dry_run, dl).await,
            last_status: None,
        },
    };
    entry(work.subject(), attempt, dry_run)
}

/// One line of the report from what a reconcile did (or, in a dry run, would do); `subject`
/// is who it was about as far as the caller knew.
pub fn entry(subject: Subject, attempt: reconcile::Attempt, dry_run: bool) -> Entry {
    let done = attempt.result;
    let subject = match &done {
        Ok(r) => r.outcome.subject.clone(),
        Err(Failure::Rejected(r)) => r.subject.clone(),
        Err(_) => subject,
    };
    let (result, writes, reason, warnings) = match done {
        Ok(r) => {
            let o = r.outcome;
            let verdict = o.verdict(dry_run);
            let writes = o.write_count();
            // A skipped endpoint's reason is its line; a dry run has nothing to report but
            // what it would write.
            let reason = match (&r.decision, dry_run) {
                (Decision::Ready(_), true) => None,
                _ => o.reason,
            };
            (verdict, writes, reason, o.warnings)
        }
        Err(Failure::Rejected(r)) => {
            let problems: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
            (Verdict::Rejected, 0, Some(problems.join("; ")), Vec::new())
        }
        Err(e) => (Verdict::Failed, 0, Some(e.to_string()), Vec::new()),
    };
    let entry = Entry {
        subject,
        result,
        status: attempt.last_status,
        writes,
        reason,
        warnings,
    };
    tracing::info!(
        endpoint = entry.subject.endpoint_name().unwrap_or_default(),
        inference_component = entry.subject.component_name().unwrap_or_default(),
        result = entry.result.as_str(),
        writes = entry.writes,
        reason = entry.reason.as_deref().unwrap_or(""),
        "sweep"
    );
    entry
}
