//! What one Lambda invocation does with its payload: an endpoint's state change (the endpoint
//! and the inference components on it), an API call on an inference component, a re-check
//! from the queue, or the scheduled sweep. The function's entry point (`src/bin/scaletag-lambda.rs`) wires the runtime
//! around [`handle`].

use serde::Serialize;
use serde_json::Value;

use futures_util::future::{join, join_all};

use crate::decision::Intent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

use crate::event::{self, ComponentCall, EndpointChange, Recheck, RecheckBatch, Tagged, Trigger};
use crate::metrics::{self, Calls, Namespace, Subject};
use crate::outcome::Skip;
use crate::outcome::{Outcome, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::resource::Scalable;
use crate::retry::Deadline;
use crate::sweep;

/// What an invocation returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Response {
    /// An endpoint's outcome, with those of the inference components on it.
    Endpoint(EndpointResponse),
    /// One inference component's outcome.
    Component(Outcome),
    Sweep(Report),
    /// An event that asks for nothing (a failed API call, another resource): why.
    Ignored {
        outcome: &'static str,
        reason: String,
    },
    /// The re-check batch, answered as Lambda's SQS integration reads it
    /// (`ReportBatchItemFailures`): only the failed messages come back.
    Recheck(RecheckResponse),
    /// Several resources at once (a tag edit through the Tagging API, an endpoint's
    /// deletion): each one's outcome.
    Several(SeveralResponse),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeveralResponse {
    pub outcomes: Vec<Outcome>,
    /// ARNs the edit named that no InService endpoint or inference component has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_found: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointResponse {
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inference_components: Vec<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecheckResponse {
    /// What Lambda reads: the messages to deliver again (AWS failures only).
    #[serde(flatten)]
    pub batch: SqsBatchResponse,
    /// The outcomes, for the log and the metrics; Lambda reads only the failures.
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
    /// Messages that are not re-checks: dropped (no retry can mend them), counted as Rejected.
    #[serde(skip)]
    pub refused: Vec<event::RefusedMessage>,
}

impl RecheckResponse {
    pub fn failures(&self) -> impl Iterator<Item = &str> {
        self.batch
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}

/// Handles one invocation payload.
pub async fn handle(app: &App, payload: &Value, dl: &Deadline) -> Result<Response, Failure> {
    match event::decode(payload)? {
        Trigger::Sweep => {
            let options = sweep::Options {
                concurrency: app.sweep_concurrency,
                dry_run: false,
            };
            let report = sweep::sweep(app, &options, dl, &|_, _| ()).await?;
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
        Trigger::ComponentCall(call) => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            component_call(app, call, &dl).await
        }
        Trigger::ComponentDeleted { name } => {
            // The IC is Deleting: what scaletag made for it goes now, not at the next sweep.
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            let unit = Scalable::Component { name };
            let done = reconcile::clean_up(app, &unit, false, &dl).await?;
            Ok(Response::Component(done.outcome))
        }
        Trigger::EndpointDeleted { name } => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            endpoint_deleted(app, &name, &dl).await
        }
        Trigger::Tagged(edit)
            if !edit.touches(
                &app.settings.tag_prefix,
                &crate::status::key(&app.settings.tag_prefix),
            ) =>
        {
            Ok(Response::Ignored {
                outcome: "skipped",
                reason: format!(
                    "{} touched no tag under `{}:`",
                    edit.event_name, app.settings.tag_prefix
                ),
            })
        }
        Trigger::Tagged(edit) => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            tagged(app, &edit, &dl).await
        }
        Trigger::Ignored(reason) => Ok(Response::Ignored {
            outcome: "skipped",
            reason,
        }),
        Trigger::Recheck(batch) => Ok(Response::Recheck(recheck(app, batch, dl).await)),
    }
}

/// An endpoint being deleted: AWS deregisters its scalable targets itself, but nobody else
/// removes the wake alarms scaletag made for its async variants. Each is cleaned up as the
/// sweep would (which stays the backstop).
async fn endpoint_deleted(app: &App, name: &str, dl: &Deadline) -> Result<Response, Failure> {
    let prefix = crate::wake::endpoint_alarms(name);
    let alarms = app
        .aws
        .describe_alarms(crate::cloudwatch::AlarmQuery::Prefix(&prefix), dl)
        .await?;
    let units: Vec<Scalable> = alarms
        .iter()
        .filter_map(crate::wake::owner)
        .filter(|u| u.endpoint() == Some(name))
        .collect();
    if units.is_empty() {
        return Ok(Response::Ignored {
            outcome: "skipped",
            reason: format!(
                "endpoint `{name}` is being deleted: scaletag holds no wake alarm for it (AWS deregisters its scalable targets itself)"
            ),
        });
    }
    let outcomes = futures_util::future::try_join_all(units.iter().map(|u| async move {
        Ok::<_, Failure>(reconcile::clean_up(app, u, false, dl).await?.outcome)
    }))
    .await?;
    Ok(Response::Several(SeveralResponse {
        outcomes,
        not_found: Vec::new(),
    }))
}

/// A resource a tag edit named, found by its ARN.
enum Named {
    Endpoint { name: String, arn: String },
    Component { name: String, arn: String },
}

/// Tags edited on endpoints and ICs: each is reconciled at once, not at the next sweep. An
/// ARN lowercases the name, so each is found among the InService endpoints or the ICs, listed
/// once for the whole edit. One resource is answered as an event about it would be; several
/// are reconciled side by side, and tags one of them cannot apply do not fail the others.
async fn tagged(app: &App, edit: &Tagged, dl: &Deadline) -> Result<Response, Failure> {
    let (endpoints, components) = join(
        async {
            match edit.endpoints.is_empty() {
                true => Ok(Vec::new()),
                false => app.aws.list_in_service_endpoints(dl).await,
            }
        },
        async {
            match edit.components.is_empty() {
                true => Ok(Vec::new()),
                false => app.aws.list_components(None, dl).await,
            }
        },
    )
    .await;
    let (named, not_found) = find_named(edit, &endpoints?, &components?);
    if let ([one], []) = (named.as_slice(), not_found.as_slice()) {
        return Ok(match one {
            Named::Endpoint { .. } => Response::Endpoint(EndpointResponse {
                outcome: named_outcome(app, one, dl).await?,
                inference_components: Vec::new(),
            }),
            Named::Component { .. } => Response::Component(named_outcome(app, one, dl).await?),
        });
    }
    if named.is_empty() {
        return Ok(Response::Ignored {
            outcome: "skipped",
            reason: format!(
                "{}: no InService endpoint or inference component has the ARN {}",
                edit.event_name,
                not_found.join(", ")
            ),
        });
    }
    let results = join_all(named.iter().map(|n| named_outcome(app, n, dl))).await;
    let outcomes = results
        .into_iter()
        .map(|r| match r {
            Err(Failure::Rejected(rejection)) => Ok(rejected(&rejection)),
            other => other,
        })
        .collect::<Result<Vec<Outcome>, Failure>>()?;
    Ok(Response::Several(SeveralResponse {
        outcomes,
        not_found,
    }))
}

/// The resources an edit names, found by ARN among those listed, and the ARNs none has.
fn find_named(
    edit: &Tagged,
    endpoints: &[(String, String)],
    components: &[crate::sagemaker::ListedComponent],
) -> (Vec<Named>, Vec<String>) {
    let mut named = Vec::new();
    let mut not_found = Vec::new();
    for arn in &edit.endpoints {
        match endpoints.iter().find(|(_, a)| a.eq_ignore_ascii_case(arn)) {
            Some((name, arn)) => named.push(Named::Endpoint {
                name: name.clone(),
                arn: arn.clone(),
            }),
            None => not_found.push(arn.clone()),
        }
    }
    for arn in &edit.components {
        match components.iter().find(|c| c.arn.eq_ignore_ascii_case(arn)) {
            Some(c) => named.push(Named::Component {
                name: c.name.clone(),
                arn: c.arn.clone(),
            }),
            None => not_found.push(arn.clone()),
        }
    }
    (named, not_found)
}

async fn named_outcome(app: &App, named: &Named, dl: &Deadline) -> Result<Outcome, Failure> {
    match named {
        Named::Endpoint { name, arn } => {
            let target = Target::endpoint(name, Some(arn));
            Ok(
                reconcile::reconcile(app, target, Intent::FromTags, false, dl)
                    .await?
                    .outcome,
            )
        }
        Named::Component { name, arn } => {
            component(app, Target::component(name, Some(arn)), 0, dl).await
        }
    }
}

/// `CreateInferenceComponent` or `UpdateInferenceComponent`: the IC the call names.
async fn component_call(
    app: &App,
    call: ComponentCall,
    dl: &Deadline,
) -> Result<Response, Failure> {
    let target = Target::component(&call.name, call.arn.as_deref());
    component(app, target, 0, dl).await.map(Response::Component)
}

/// One IC, from its own tags, looked at `looks` times before; one still settling is queued
/// for another look when the queue is configured, and left to the sweep (said in the
/// outcome) when not.
async fn component(
    app: &App,
    target: Target<'_>,
    looks: u32,
    dl: &Deadline,
) -> Result<Outcome, Failure> {
    let done = reconcile::reconcile(app, target, Intent::FromTags, false, dl).await?;
    let mut outcome = done.outcome;
    if outcome.skip != Some(Skip::Settling) {
        return Ok(outcome);
    }
    let note = match &app.recheck_queue {
        Some(_) if looks + 1 >= event::RECHECK_LIMIT => format!(
            "still settling after {} looks; the sweep takes it from here",
            looks + 1
        ),
        Some(queue) => {
            let next = Recheck {
                message_id: String::new(),
                inference_component: target.name.to_string(),
                arn: target.arn_hint.map(str::to_string),
                attempt: looks + 1,
            };
            app.aws
                .send_recheck(queue, &next, app.recheck_delay, dl)
                .await?;
            format!(
                "looked at again in {} s (re-check {} of {})",
                app.recheck_delay,
                next.attempt,
                event::RECHECK_LIMIT - 1
            )
        }
        None => "no re-check queue is configured (RECHECK_QUEUE_URL): the next sweep reconciles it"
            .into(),
    };
    if let Some(reason) = &mut outcome.reason {
        reason.push_str(&format!(" ({note})"));
    }
    Ok(outcome)
}

/// A batch from the re-check queue: each IC on its own; a failed one alone comes back. A
/// message that is not a re-check is dropped, named in the log: retrying cannot mend it.
async fn recheck(app: &App, batch: RecheckBatch, dl: &Deadline) -> RecheckResponse {
    let dl = dl.within(sweep::ENDPOINT_BUDGET);
    for r in &batch.refused {
        tracing::warn!(
            message_id = r.message_id.as_str(),
            problem = r.problem.as_str(),
            "re-check message dropped: it can never succeed"
        );
    }
    let results = join_all(batch.rechecks.iter().map(|r| {
        let target = Target::component(&r.inference_component, r.arn.as_deref());
        component(app, target, r.attempt, &dl)
    }))
    .await;
    let mut response = RecheckResponse {
        batch: SqsBatchResponse::default(),
        outcomes: Vec::new(),
        refused: batch.refused,
    };
    for (r, result) in batch.rechecks.iter().zip(results) {
        match result {
            Ok(o) => response.outcomes.push(o),
            // No retry mends tags: the message is done (the status tag and the log say why).
            Err(Failure::Rejected(rejection)) => response.outcomes.push(rejected(&rejection)),
            Err(e) => {
                tracing::error!(inference_component = r.inference_component.as_str(), error = %e, "re-check failed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = r.message_id.clone();
                response.batch.batch_item_failures.push(failure);
            }
        }
    }
    response
}

/// Every IC on an endpoint, whether or not the endpoint itself is tagged.
async fn components_on(app: &App, endpoint: &str, dl: &Deadline) -> Result<Vec<Outcome>, Failure> {
    let listed = app.aws.list_components(Some(endpoint), dl).await?;
    let results = join_all(
        listed
            .iter()
            .map(|c| component(app, Target::component(&c.name, Some(&c.arn)), 0, dl)),
    )
    .await;
    // One IC's tags that cannot be applied do not fail its endpoint's event: no retry mends
    // them, and the endpoint and the other ICs are done. AWS failures do fail it (a retry can
    // help).
    results
        .into_iter()
        .map(|r| match r {
            Err(Failure::Rejected(rejection)) => Ok(rejected(&rejection)),
            other => other,
        })
        .collect()
}

/// A rejected endpoint or IC as an outcome beside others: skipped, with every problem as a
/// warning.
fn rejected(r: &crate::desire::Rejection) -> Outcome {
    let reason = format!(
        "tags rejected ({}): nothing was changed; the status tag says so",
        crate::status::of_rejection(r)
    );
    let mut outcome = Outcome::skipped(r.subject.clone(), Skip::Rejected, reason);
    outcome.warnings = r.problems.iter().map(ToString::to_string).collect();
    outcome
}

async fn endpoint_change(
    app: &App,
    change: &EndpointChange,
    dl: &Deadline,
) -> Result<EndpointResponse, Failure> {
    if change.status != event::IN_SERVICE {
        return Ok(EndpointResponse {
            outcome: Outcome::skipped(
                crate::resource::Subject::endpoint(&change.endpoint_name),
                Skip::NotInService,
                format!(
                    "event status is {}; scaletag acts on {}",
                    change.status,
                    event::IN_SERVICE
                ),
            ),
            inference_components: Vec::new(),
        });
    }
    let target = Target::endpoint(&change.endpoint_name, change.endpoint_arn.as_deref());
    // The endpoint and its ICs at once: an endpoint event is also the ICs' (new instances,
    // an update that replaced them), and listing them costs no round trip of its own.
    let (endpoint, components) = join(
        reconcile::reconcile(app, target, Intent::FromTags, false, dl),
        components_on(app, &change.endpoint_name, dl),
    )
    .await;
    Ok(EndpointResponse {
        outcome: endpoint?.outcome,
        inference_components: components?,
    })
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
    let (subject, verdicts, writes) = match result {
        Ok(Response::Sweep(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        Err(Failure::SweepIncomplete(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        Ok(response) => response_counts(response),
        Err(failure) => failure_counts(failure),
    };
    metrics::endpoint_record(
        namespace,
        timestamp_ms,
        &subject,
        &verdicts,
        calls(writes),
        duration_ms,
    )
}

/// A resource rejected beside others is skipped; it counts as Rejected.
fn verdict(o: &Outcome) -> Verdict {
    o.verdict(false)
}

/// What a response counts: its subject, one verdict per outcome, and the writes.
fn response_counts(response: &Response) -> (Subject<'_>, Vec<Verdict>, usize) {
    let several = |trigger, outcomes: &[Outcome]| {
        (
            Subject {
                trigger,
                endpoint: None,
                component: None,
            },
            outcomes.iter().map(verdict).collect::<Vec<_>>(),
            outcomes.iter().map(Outcome::write_count).sum(),
        )
    };
    match response {
        // The endpoint and each of its inference components count as one outcome each.
        Response::Endpoint(r) => {
            let all: Vec<&Outcome> = std::iter::once(&r.outcome)
                .chain(&r.inference_components)
                .collect();
            (
                Subject::endpoint(r.outcome.subject.endpoint_name()),
                all.iter().map(|o| verdict(o)).collect(),
                all.iter().map(|o| o.write_count()).sum(),
            )
        }
        Response::Component(o) => (
            Subject {
                trigger: "api-call",
                endpoint: o.subject.endpoint_name(),
                component: o.subject.component_name(),
            },
            vec![verdict(o)],
            o.write_count(),
        ),
        Response::Ignored { .. } => (
            Subject {
                trigger: "api-call",
                endpoint: None,
                component: None,
            },
            vec![Verdict::Skipped],
            0,
        ),
        Response::Recheck(r) => {
            let (subject, mut verdicts, writes) = several("recheck", &r.outcomes);
            verdicts.extend(r.refused.iter().map(|_| Verdict::Rejected));
            verdicts.extend(r.failures().map(|_| Verdict::Failed));
            (subject, verdicts, writes)
        }
        Response::Several(r) => several("api-call", &r.outcomes),
        Response::Sweep(report) => (
            Subject::endpoint(None),
            Vec::new(),
            report.results.iter().map(|e| e.writes).sum(),
        ),
    }
}

/// What a failed invocation counts.
fn failure_counts(failure: &Failure) -> (Subject<'_>, Vec<Verdict>, usize) {
    match failure {
        Failure::Rejected(r) => (Subject::of(&r.subject), vec![Verdict::Rejected], 0),
        Failure::Event(_) => (Subject::endpoint(None), vec![Verdict::Rejected], 0),
        Failure::Partial { subject, done, .. } => {
            (Subject::of(subject), vec![Verdict::Failed], *done)
        }
        Failure::NoEndpoint(e) => (
            Subject::endpoint(Some(e.as_str())),
            vec![Verdict::Failed],
            0,
        ),
        Failure::Aws(_) | Failure::SweepIncomplete(_) => {
            (Subject::endpoint(None), vec![Verdict::Failed], 0)
        }
    }
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
