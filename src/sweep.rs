//! Reconcile every InService endpoint and every inference component (IC) in the account and
//! region: backfill for what was created before scaletag was deployed (or while no event
//! reached it), and drift repair (a policy edited by hand comes back to its template). Then
//! the clean-up: what scaletag made for a unit whose resource is gone (its wake alarm; an
//! IC's target, when scaletag registered it) is removed, so nothing scaletag creates outlives
//! what it was for.
//!
//! The sweep reads in bulk (`fleet`): the listings, every resource's tags, and what AAS and
//! CloudWatch hold, a page at a time. Each resource is decided on those, with the same
//! decision as one event's; an endpoint whose tags may opt it in is described first (once,
//! shared with the ICs it hosts). A resource already in shape costs nothing more; one with
//! anything to write is read afresh (its own tags ∥ what AAS holds for it) and decided again
//! before any write (`reconcile::reconcile_found`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;

use crate::decision::{self, Decision, Early, Intent};
use crate::fleet::Fleet;
use crate::outcome::{Entry, Outcome, Report, Verdict};
use crate::reading::{self, Found};
use crate::reconcile::{self, App, Attempt, Failure, Target};
use crate::resource::{EndpointFacts, Facts, ResourceKind, Scalable, Subject};
use crate::retry::{AwsError, Deadline};
use crate::sagemaker::ListedComponent;
use crate::status::Spot;
use crate::wake;

pub use crate::retry::ENDPOINT_BUDGET;

#[derive(Debug, Clone)]
pub struct Options {
    /// Resources reconciled at once (docs/performance.md says how the default was chosen).
    pub concurrency: usize,
    /// Plan only: every read, no write.
    pub dry_run: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            concurrency: crate::config::SWEEP_CONCURRENCY,
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
    Component(ListedComponent),
    Gone(Scalable),
}

impl Work {
    /// Who it is about, as far as the listings say.
    fn subject(&self) -> Subject {
        match self {
            Work::Endpoint { name, .. } => Subject::endpoint(name),
            Work::Component(c) => Subject::component(&c.name, Some(&c.endpoint)),
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
    let (work, fleet) = listings(app, options.concurrency, deadline).await?;
    let fleet = &fleet;
    let (endpoint_count, component_count) = work.iter().fold((0, 0), |(e, c), w| match w {
        Work::Endpoint { .. } => (e + 1, c),
        Work::Component(_) | Work::Gone(_) => (e, c + 1),
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
                let entry = one(app, &w, fleet, options.dry_run, &dl).await;
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

/// The bulk reads (`fleet`), and the work they make. The work is shuffled, so that a sweep
/// cut short by its deadline starves no resource.
async fn listings(
    app: &App,
    concurrency: usize,
    deadline: &Deadline,
) -> Result<(Vec<Work>, Fleet), AwsError> {
    let fleet = Fleet::read(&app.aws, &app.settings.tag_prefix, concurrency, deadline).await?;
    let units: Vec<Scalable> = fleet
        .current
        .targets
        .iter()
        .filter_map(|t| Scalable::of_target(&t.key.resource_id, t.key.dimension))
        .collect();
    let live_endpoints: BTreeSet<&str> = fleet.endpoints.iter().map(|(n, _)| n.as_str()).collect();
    let live_components: BTreeSet<&str> =
        fleet.components.iter().map(|c| c.name.as_str()).collect();
    let gone = leftovers(
        &units,
        &fleet.current.alarms,
        &live_endpoints,
        &live_components,
    );
    let mut work: Vec<Work> = fleet
        .endpoints
        .iter()
        .map(|(name, arn)| Work::Endpoint {
            name: name.clone(),
            arn: arn.clone(),
        })
        .chain(fleet.components.iter().cloned().map(Work::Component))
        .chain(gone.into_iter().map(Work::Gone))
        .collect();
    fastrand::shuffle(&mut work);
    Ok((work, fleet))
}

async fn one(app: &App, work: &Work, fleet: &Fleet, dry_run: bool, dl: &Deadline) -> Entry {
    let attempt = match work {
        Work::Endpoint { name, arn } => endpoint(app, name, arn, fleet, dry_run, dl).await,
        Work::Component(c) => component(app, c, fleet, dry_run, dl).await,
        Work::Gone(unit) => Attempt {
            result: reconcile::clean_up(app, unit, dry_run, dl).await,
            last_status: None,
        },
    };
    entry(work.subject(), attempt, dry_run)
}

/// An inference component, as its listing describes it.
async fn component(
    app: &App,
    c: &ListedComponent,
    fleet: &Fleet,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    let subject = || Subject::component(&c.name, Some(&c.endpoint));
    let tags = match tags(app, fleet, ResourceKind::Component, &c.arn, dl).await {
        Ok(Some(tags)) => tags,
        other => return unread(app, subject(), other.err(), dl).await,
    };
    let found = match c.described() {
        Some(described) => Ok(Some(Found::Component(described))),
        // The listing did not say its status: asked of the IC itself.
        None => reading::describe(&app.aws, Target::component(&c.name, None), dl).await,
    };
    match found {
        Ok(Some(found)) => resource(app, found, tags, fleet, dry_run, dl).await,
        other => unread(app, subject(), other.err(), dl).await,
    }
}

/// An endpoint, described only when its tags may opt it in: one with no tag of scaletag's
/// (but perhaps the status) is not opted in, whatever its variants.
async fn endpoint(
    app: &App,
    name: &str,
    arn: &str,
    fleet: &Fleet,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    let tags = match tags(app, fleet, ResourceKind::Endpoint, arn, dl).await {
        Ok(Some(tags)) => tags,
        other => return unread(app, Subject::endpoint(name), other.err(), dl).await,
    };
    let spot = Spot::of(arn, &tags, &app.settings.tag_prefix);
    if !spot.opted_in {
        let facts = Facts::Endpoint(EndpointFacts {
            name: name.to_string(),
            variants: Vec::new(),
        });
        let early = decision::early(&facts, &tags, Intent::FromTags, &app.catalog, &app.settings);
        if let Early::NotOptedIn(skip) = early {
            let decided = Ok(Decision::Skip(skip));
            if !reconcile::would_write(app, &decided, &spot, dry_run) {
                return reconcile::attempt(app, decided, Some(spot), dry_run, dl).await;
            }
            // Its status says it was managed: decided again on fresh reads before writing.
            let target = Target::endpoint(name, Some(arn));
            return reconcile::reconcile_reporting(app, target, Intent::FromTags, dry_run, dl)
                .await;
        }
    }
    match fleet.endpoint(&app.aws, name, dl).await {
        Ok(Some(described)) => {
            resource(app, Found::Endpoint(described), tags, fleet, dry_run, dl).await
        }
        other => unread(app, Subject::endpoint(name), other.err(), dl).await,
    }
}

/// A resource's tags: as the Tagging API listed them, or read on their own where it listed
/// none of the resource's kind. `None` when the resource is gone.
async fn tags(
    app: &App,
    fleet: &Fleet,
    kind: ResourceKind,
    arn: &str,
    dl: &Deadline,
) -> Result<Option<Vec<(String, String)>>, AwsError> {
    match fleet.tags_of(kind, arn) {
        Some(tags) => Ok(Some(tags)),
        None => app.aws.list_tags(arn, dl).await,
    }
}

/// The attempt for a resource that could not be read: gone (`error` is `None`), or a read
/// that failed.
async fn unread(app: &App, subject: Subject, error: Option<AwsError>, dl: &Deadline) -> Attempt {
    let decided = match error {
        Some(e) => Err(e.into()),
        None => Ok(Decision::Skip(Outcome::gone(subject))),
    };
    reconcile::attempt(app, decided, None, false, dl).await
}

/// A resource found, decided on the fleet's reads; read afresh and decided again when that
/// decision would write anything.
async fn resource(
    app: &App,
    found: Found,
    tags: Vec<(String, String)>,
    fleet: &Fleet,
    dry_run: bool,
    dl: &Deadline,
) -> Attempt {
    if found.status() != "InService" {
        let skip = reading::not_in_service(found.facts().subject().kind(), &found);
        return reconcile::attempt(app, Ok(Decision::Skip(skip)), None, dry_run, dl).await;
    }
    let spot = Spot::of(found.arn(), &tags, &app.settings.tag_prefix);
    let current = fleet.current_for(&found.facts().units());
    let decided = reconcile::decide_found(
        app,
        &found,
        tags,
        Intent::FromTags,
        Some(current),
        Some(fleet),
        dl,
    )
    .await;
    if reconcile::would_write(app, &decided, &spot, dry_run) {
        return reconcile::reconcile_found(app, &found, Some(fleet), dry_run, dl).await;
    }
    reconcile::attempt(app, decided, Some(spot), dry_run, dl).await
}

/// One line of the report from what a reconcile did (or, in a dry run, would do); `subject`
/// is who it was about as far as the caller knew.
pub fn entry(subject: Subject, attempt: Attempt, dry_run: bool) -> Entry {
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
