//! What one Lambda invocation does with its payload: an endpoint's state change (the endpoint
//! and the inference components on it), an API call on an inference component, a re-check
//! from the queue, or the scheduled sweep. The function's entry point (`src/bin/scaletag-lambda.rs`) wires the runtime
//! around [`handle`].

use serde::Serialize;
use serde_json::Value;

use futures_util::future::{join, join_all};

use crate::decision::Intent;
use crate::event::{self, ComponentCall, EndpointChange, Recheck, Trigger};
use crate::metrics::{self, Calls, Namespace, Subject};
use crate::outcome::{Outcome, Report, Verdict};
use crate::reconcile::{self, App, Failure, Target};
use crate::reconcile_component::reconcile_component;
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
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<BatchItemFailure>,
    /// The outcomes, for the log and the metrics; Lambda reads only the failures.
    #[serde(skip)]
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// How long an inference component that is still settling waits for its next look, unless
/// `RECHECK_DELAY_SECONDS` says otherwise (0 to 900, SQS's range).
pub const RECHECK_DELAY_SECONDS: i32 = 300;

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
        Trigger::ComponentCall(call) => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            component_call(app, &call, &dl).await
        }
        Trigger::EndpointTagged { event_name, arn } => {
            let dl = dl.within(sweep::ENDPOINT_BUDGET);
            endpoint_tagged(app, &event_name, &arn, &dl).await
        }
        Trigger::Ignored(reason) => Ok(Response::Ignored {
            outcome: "skipped",
            reason,
        }),
        Trigger::Recheck(batch) => Ok(Response::Recheck(recheck(app, batch, dl).await)),
    }
}

/// Tags edited on an endpoint: it is reconciled at once, not at the next sweep. The ARN
/// lowercases the name, so the endpoint is found among the InService ones.
async fn endpoint_tagged(
    app: &App,
    event_name: &str,
    arn: &str,
    dl: &Deadline,
) -> Result<Response, Failure> {
    let endpoints = app.aws.list_in_service_endpoints(dl).await?;
    let Some((name, true_arn)) = endpoints
        .into_iter()
        .find(|(_, a)| a.eq_ignore_ascii_case(arn))
    else {
        return Ok(Response::Ignored {
            outcome: "skipped",
            reason: format!("{event_name}: no InService endpoint has the ARN {arn}"),
        });
    };
    let target = Target {
        name: &name,
        arn_hint: Some(&true_arn),
    };
    let done = reconcile::reconcile(app, target, Intent::FromTags, false, dl).await?;
    Ok(Response::Endpoint(EndpointResponse {
        outcome: done.outcome,
        inference_components: Vec::new(),
    }))
}

/// An API call on an IC: the IC, named by the call or found by its ARN.
async fn component_call(
    app: &App,
    call: &ComponentCall,
    dl: &Deadline,
) -> Result<Response, Failure> {
    let (name, arn) = match (&call.name, &call.arn) {
        (Some(name), arn) => (name.clone(), arn.clone()),
        // The ARN lowercases the name: find the IC it names, and its true ARN.
        (None, Some(arn)) => {
            let listed = app.aws.list_components(None, dl).await?;
            match listed.into_iter().find(|c| c.arn.eq_ignore_ascii_case(arn)) {
                Some(c) => (c.name, Some(c.arn)),
                None => {
                    return Ok(Response::Ignored {
                        outcome: "skipped",
                        reason: format!(
                            "{}: no inference component has the ARN {arn}",
                            call.event_name
                        ),
                    });
                }
            }
        }
        (None, None) => {
            return Ok(Response::Ignored {
                outcome: "skipped",
                reason: format!("{} names no inference component", call.event_name),
            });
        }
    };
    let recheck = Recheck {
        message_id: String::new(),
        inference_component: name,
        arn,
        attempt: 0,
    };
    component(app, &recheck, dl).await.map(Response::Component)
}

/// One IC, from its own tags; one still settling is queued for another look when the queue
/// is configured, and left to the sweep (said in the outcome) when not.
async fn component(app: &App, ic: &Recheck, dl: &Deadline) -> Result<Outcome, Failure> {
    let target = Target {
        name: &ic.inference_component,
        arn_hint: ic.arn.as_deref(),
    };
    let done = reconcile_component(app, target, Intent::FromTags, false, dl).await?;
    let mut outcome = done.reconciled.outcome;
    if !done.settling {
        return Ok(outcome);
    }
    let note = match &app.recheck_queue {
        Some(_) if ic.attempt + 1 >= event::RECHECK_LIMIT => format!(
            "still settling after {} looks; the sweep takes it from here",
            ic.attempt + 1
        ),
        Some(queue) => {
            let next = Recheck {
                attempt: ic.attempt + 1,
                ..ic.clone()
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

/// A batch from the re-check queue: each IC on its own; a failed one alone comes back.
async fn recheck(app: &App, batch: Vec<Recheck>, dl: &Deadline) -> RecheckResponse {
    let dl = dl.within(sweep::ENDPOINT_BUDGET);
    let results = join_all(batch.iter().map(|r| component(app, r, &dl))).await;
    let mut response = RecheckResponse {
        failures: Vec::new(),
        outcomes: Vec::new(),
    };
    for (r, result) in batch.iter().zip(results) {
        match result {
            Ok(o) => response.outcomes.push(o),
            // No retry mends tags: the message is done (the status tag and the log say why).
            Err(Failure::Rejected(rejection)) => response.outcomes.push(rejected(&rejection)),
            Err(e) => {
                tracing::error!(inference_component = r.inference_component.as_str(), error = %e, "re-check failed");
                response.failures.push(BatchItemFailure {
                    item_identifier: r.message_id.clone(),
                });
            }
        }
    }
    response
}

/// Every IC on an endpoint, whether or not the endpoint itself is tagged.
async fn components_on(app: &App, endpoint: &str, dl: &Deadline) -> Result<Vec<Outcome>, Failure> {
    let listed = app.aws.list_components(Some(endpoint), dl).await?;
    let results = join_all(listed.iter().map(|c| {
        let ic = Recheck {
            message_id: String::new(),
            inference_component: c.name.clone(),
            arn: Some(c.arn.clone()),
            attempt: 0,
        };
        async move { component(app, &ic, dl).await }
    }))
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

/// How the reason of a rejected IC's outcome starts (see [`rejected`]); its metrics count it
/// as `Rejected`.
const REJECTED: &str = "tags rejected";

/// A rejected IC as an outcome beside others: skipped, with every problem as a warning.
fn rejected(r: &crate::desire::Rejection) -> Outcome {
    let mut outcome = Outcome::skipped_component(
        &r.endpoint,
        r.component.as_deref().unwrap_or_default(),
        format!(
            "{REJECTED} ({}): nothing was changed; the status tag says so",
            crate::status::of_rejection(r)
        ),
    );
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
                &change.endpoint_name,
                format!(
                    "event status is {}; scaletag acts on {}",
                    change.status,
                    event::IN_SERVICE
                ),
            ),
            inference_components: Vec::new(),
        });
    }
    let target = Target {
        name: &change.endpoint_name,
        arn_hint: change.endpoint_arn.as_deref(),
    };
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
    let verdict = |o: &Outcome| {
        if o.reason.as_deref().is_some_and(|r| r.starts_with(REJECTED)) {
            Verdict::Rejected
        } else {
            Verdict::of(o.kind, false)
        }
    };
    let (subject, verdicts, writes) = match result {
        Ok(Response::Sweep(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        Err(Failure::SweepIncomplete(report)) => {
            return sweep_metrics(namespace, timestamp_ms, report, calls, duration_ms);
        }
        // The endpoint and each of its inference components count as one outcome each.
        Ok(Response::Endpoint(r)) => {
            let all: Vec<&Outcome> = std::iter::once(&r.outcome)
                .chain(&r.inference_components)
                .collect();
            (
                Subject::endpoint(Some(r.outcome.endpoint.as_str())),
                all.iter().map(|o| verdict(o)).collect(),
                all.iter().map(|o| o.write_count()).sum(),
            )
        }
        Ok(Response::Component(o)) => (
            Subject {
                trigger: "api-call",
                endpoint: Some(o.endpoint.as_str()).filter(|e| !e.is_empty()),
                component: o.inference_component.as_deref(),
            },
            vec![verdict(o)],
            o.write_count(),
        ),
        Ok(Response::Ignored { .. }) => (
            Subject {
                trigger: "api-call",
                endpoint: None,
                component: None,
            },
            vec![Verdict::Skipped],
            0,
        ),
        Ok(Response::Recheck(r)) => (
            Subject {
                trigger: "recheck",
                endpoint: None,
                component: None,
            },
            r.outcomes
                .iter()
                .map(verdict)
                .chain(r.failures.iter().map(|_| Verdict::Failed))
                .collect(),
            r.outcomes.iter().map(Outcome::write_count).sum(),
        ),
        Err(Failure::Rejected(r)) => (
            Subject {
                component: r.component.as_deref(),
                ..Subject::endpoint(Some(r.endpoint.as_str()))
            },
            vec![Verdict::Rejected],
            0,
        ),
        Err(Failure::Event(_)) => (Subject::endpoint(None), vec![Verdict::Rejected], 0),
        Err(Failure::Partial {
            endpoint,
            component,
            done,
            ..
        }) => (
            Subject {
                component: component.as_deref(),
                ..Subject::endpoint(Some(endpoint.as_str()))
            },
            vec![Verdict::Failed],
            *done,
        ),
        Err(Failure::NoEndpoint(e)) => (
            Subject::endpoint(Some(e.as_str())),
            vec![Verdict::Failed],
            0,
        ),
        Err(Failure::Aws(_)) => (Subject::endpoint(None), vec![Verdict::Failed], 0),
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
