//! Every AWS error classified: retried with jittered backoff inside the deadline, treated as
//! done, or reported at once (docs/aws-behaviour.md §3).
//!
//! The SDK's own retries are switched off (see `main`), so that every retry is visible here,
//! bounded by the invocation's deadline, and covers the errors the SDK does not retry
//! (ConcurrentUpdateException, ObjectNotFoundException right after a register).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling::config::http::HttpResponse;
use aws_sdk_applicationautoscaling::error::{ProvideErrorMetadata, SdkError};

/// The AWS operations scaletag calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    DescribeEndpoint,
    DescribeEndpointConfig,
    ListTags,
    ListEndpoints,
    DescribeScalableTargets,
    DescribeScalingPolicies,
    DescribeScheduledActions,
    RegisterScalableTarget,
    PutScalingPolicy,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    ListTagsForResource,
    TagResource,
    DescribeInferenceComponent,
    ListInferenceComponents,
    DescribeAlarms,
    PutMetricAlarm,
    DeleteAlarms,
    SendMessage,
    AddTags,
    GetResources,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::DescribeEndpoint => "DescribeEndpoint",
            Op::DescribeEndpointConfig => "DescribeEndpointConfig",
            Op::ListTags => "ListTags",
            Op::ListEndpoints => "ListEndpoints",
            Op::DescribeScalableTargets => "DescribeScalableTargets",
            Op::DescribeScalingPolicies => "DescribeScalingPolicies",
            Op::DescribeScheduledActions => "DescribeScheduledActions",
            Op::RegisterScalableTarget => "RegisterScalableTarget",
            Op::PutScalingPolicy => "PutScalingPolicy",
            Op::DeleteScalingPolicy => "DeleteScalingPolicy",
            Op::DeregisterScalableTarget => "DeregisterScalableTarget",
            Op::ListTagsForResource => "ListTagsForResource",
            Op::TagResource => "TagResource",
            Op::DescribeInferenceComponent => "DescribeInferenceComponent",
            Op::ListInferenceComponents => "ListInferenceComponents",
            Op::DescribeAlarms => "DescribeAlarms",
            Op::PutMetricAlarm => "PutMetricAlarm",
            Op::DeleteAlarms => "DeleteAlarms",
            Op::SendMessage => "SendMessage",
            Op::AddTags => "AddTags",
            Op::GetResources => "GetResources",
        }
    }
}

/// What to do about one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Transient: back off and try again while the deadline allows.
    Retry,
    /// The thing is not there: for a describe, "gone"; for a delete, already done.
    NotFound,
    /// Report at once: retrying cannot help.
    Fail,
}

/// What one failed attempt looked like, independent of the SDK's error types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No response: connection refused or dropped, timeout, unreadable response.
    Transport(String),
    /// An error response from the service.
    Service {
        code: Option<String>,
        message: Option<String>,
        status: u16,
    },
    /// The request could not be built; a bug or bad input, not AWS's answer.
    Local(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Transport(d) => write!(f, "no response from AWS ({d})"),
            Fault::Service {
                code,
                message,
                status,
            } => write!(
                f,
                "{} (HTTP {status}): {}",
                code.as_deref().unwrap_or("error"),
                message.as_deref().unwrap_or("no message")
            ),
            Fault::Local(d) => write!(f, "request not sent: {d}"),
        }
    }
}

/// Error codes that say "try again": throttling (the Resource Groups Tagging API calls it
/// `ThrottledException`), a concurrent update, or AWS's own trouble.
const RETRIED: [&str; 11] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ConcurrentUpdateException",
    "InternalServiceException",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// The classification table of docs/aws-behaviour.md §3.
pub fn classify(op: Op, failure: &Fault) -> Class {
    let (code, message, status) = match failure {
        Fault::Transport(_) => return Class::Retry,
        Fault::Local(_) => return Class::Fail,
        Fault::Service {
            code,
            message,
            status,
        } => (
            code.as_deref().unwrap_or(""),
            message.as_deref().unwrap_or(""),
            *status,
        ),
    };
    match code {
        _ if RETRIED.contains(&code) => Class::Retry,
        // CloudWatch throttling seen through AAS; otherwise a permission problem.
        "FailedResourceAccessException" if message.contains("Rate exceeded") => Class::Retry,
        // CloudWatch: deleting an alarm that is already gone is done. Application Auto
        // Scaling's tag calls say a scalable target is gone with ResourceNotFoundException
        // (its other calls say ObjectNotFoundException).
        "ResourceNotFound" | "ResourceNotFoundException"
            if matches!(
                op,
                Op::DeleteAlarms | Op::ListTagsForResource | Op::TagResource
            ) =>
        {
            Class::NotFound
        }
        "ObjectNotFoundException" => match op {
            // Right after RegisterScalableTarget the target may not be visible yet.
            Op::PutScalingPolicy => Class::Retry,
            _ => Class::NotFound,
        },
        // SageMaker says a missing endpoint or config with ValidationException "Could not find ...".
        "ValidationException"
            if message.contains("Could not find")
                && matches!(
                    op,
                    Op::DescribeEndpoint
                        | Op::DescribeEndpointConfig
                        | Op::ListTags
                        | Op::DescribeInferenceComponent
                ) =>
        {
            Class::NotFound
        }
        // moto answers ValidationException where AWS answers ObjectNotFoundException
        // (docs/aws-behaviour.md §7).
        "ValidationException"
            if (message.starts_with("No scaling policy found")
                && op == Op::DeleteScalingPolicy)
                || (message.starts_with("No scalable target found")
                    && op == Op::DeregisterScalableTarget) =>
        {
            Class::NotFound
        }
        _ if status >= 500 || status == 429 => Class::Retry,
        _ => Class::Fail,
    }
}

/// An AWS call that did not succeed, written for the operator.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct AwsError {
    pub op: Op,
    pub subject: String,
    pub attempts: u32,
    /// Whether retrying stopped because the deadline was near, not because the error was final.
    pub deadline: bool,
    pub last: Fault,
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {} failed", self.op.name(), self.subject)?;
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
            if self.deadline {
                f.write_str(", stopped before the invocation's deadline")?;
            }
        }
        write!(f, ": {}", self.last)?;
        if let Some(hint) = quota_hint(self.op, &self.last) {
            write!(f, "\n  {hint}")?;
        }
        Ok(())
    }
}

/// What to do about a quota AWS says was reached (`LimitExceededException`): retrying cannot
/// help, so the message names the quota and the way out (docs/aws-behaviour.md §3).
pub fn quota_hint(op: Op, failure: &Fault) -> Option<&'static str> {
    let Fault::Service {
        code: Some(code), ..
    } = failure
    else {
        return None;
    };
    if code != "LimitExceededException" {
        return None;
    }
    Some(match op {
        Op::RegisterScalableTarget => {
            "an Application Auto Scaling quota was reached: scalable targets per account for SageMaker \
             (500 by default). Deregister targets that are no longer used, or request a higher \
             \"Scalable targets for SageMaker\" quota in Service Quotas (service: Application Auto Scaling)."
        }
        Op::PutScalingPolicy => {
            "an Application Auto Scaling quota was reached: scaling policies per scalable target \
             (50, not adjustable). Delete policies this target no longer needs; scaletag never \
             deletes policies it did not create."
        }
        _ => {
            "an Application Auto Scaling quota was reached; see Service Quotas (service: \
             Application Auto Scaling) for the quota and its current value."
        }
    })
}

/// The most one endpoint's reconcile may spend, retries included, whoever runs it (an event,
/// a command, one endpoint of a sweep) and however long the whole run may take.
pub const ENDPOINT_BUDGET: Duration = Duration::from_secs(60);

/// When an invocation must be done. Retries stop early enough to report before it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    pub fn at(at: Instant) -> Deadline {
        Deadline { at }
    }

    pub fn after(budget: Duration) -> Deadline {
        Deadline::at(Instant::now() + budget)
    }

    /// This deadline or `budget` from now, whichever comes first.
    pub fn within(&self, budget: Duration) -> Deadline {
        Deadline::at(self.at.min(Instant::now() + budget))
    }

    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }
}

/// Backoff: full jitter over an exponential ceiling (AWS Architecture Blog, "Exponential
/// Backoff And Jitter"), from 50 ms up to 5 s.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = (50u64 << attempt.min(10)).min(5_000);
    Duration::from_millis(fastrand::u64(ceiling_ms / 2..=ceiling_ms))
}

/// The shortest time worth starting another attempt with.
const MIN_ATTEMPT: Duration = Duration::from_millis(250);

/// The longest one attempt may take before it is abandoned and retried. SageMaker and
/// Application Auto Scaling control-plane calls answer in well under a second; a call still
/// silent after this is hung (a lost connection, a stalled load balancer), and waiting longer
/// would spend the invocation's whole budget on it (docs/aws-behaviour.md §3).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Retries and throttles since the process started, for the invocation's metrics (the
/// function handles one invocation at a time, so the difference across one is its own).
static RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static THROTTLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// (retries, throttles) so far in this process.
pub fn counters() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (RETRIES.load(Relaxed), THROTTLES.load(Relaxed))
}

/// Whether AWS said to slow down.
fn is_throttle(fault: &Fault) -> bool {
    matches!(fault, Fault::Service { code: Some(code), message, status }
        if matches!(code.as_str(), "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded")
            || *status == 429
            || (code == "FailedResourceAccessException"
                && message.as_deref().is_some_and(|m| m.contains("Rate exceeded"))))
}

/// The result of a call: the output, or "not there" for a classified NotFound.
pub enum Called<T> {
    Done(T),
    NotFound,
}

/// Turns an SDK error into a [`Fault`].
pub fn failure<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Fault {
    match err {
        SdkError::ServiceError(ctx) => Fault::Service {
            code: ctx.err().code().map(str::to_string),
            message: ctx.err().message().map(str::to_string),
            status: ctx.raw().status().as_u16(),
        },
        SdkError::ConstructionFailure(_) => Fault::Local("the request could not be built".into()),
        SdkError::TimeoutError(_) => Fault::Transport("timed out".into()),
        SdkError::DispatchFailure(e) => Fault::Transport(if e.is_io() {
            "connection failed".into()
        } else if e.is_timeout() {
            "timed out".into()
        } else {
            "dispatch failed".into()
        }),
        SdkError::ResponseError(_) => Fault::Transport("unreadable response".into()),
        _ => Fault::Transport("unknown SDK error".into()),
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the deadline is too near to try again.
pub async fn call<T, E, Fut>(
    op: Op,
    subject: &str,
    deadline: &Deadline,
    mut attempt: impl FnMut() -> Fut,
) -> Result<Called<T>, AwsError>
where
    E: ProvideErrorMetadata,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        let remaining = deadline.remaining();
        let limit = remaining.min(ATTEMPT_TIMEOUT);
        let last = match tokio::time::timeout(limit, attempt()).await {
            Ok(Ok(out)) => return Ok(Called::Done(out)),
            Ok(Err(e)) => failure(&e),
            Err(_) if limit < ATTEMPT_TIMEOUT => {
                Fault::Transport("no answer before the invocation's deadline".into())
            }
            Err(_) => Fault::Transport(format!(
                "no answer within {} s; the attempt was abandoned",
                ATTEMPT_TIMEOUT.as_secs()
            )),
        };
        let error = |deadline| AwsError {
            op,
            subject: subject.to_string(),
            attempts,
            deadline,
            last: last.clone(),
        };
        match classify(op, &last) {
            Class::NotFound => return Ok(Called::NotFound),
            Class::Fail => return Err(error(false)),
            Class::Retry => {
                let pause = backoff(attempts);
                if deadline.remaining() < pause + MIN_ATTEMPT {
                    return Err(error(true));
                }
                RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if is_throttle(&last) {
                    THROTTLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::warn!(
                    op = op.name(),
                    subject,
                    attempt = attempts,
                    error = %last,
                    pause_ms = pause.as_millis() as u64,
                    "retrying"
                );
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, message: &str, status: u16) -> Fault {
        Fault::Service {
            code: Some(code.into()),
            message: Some(message.into()),
            status,
        }
    }

    #[test]
    fn the_aws_facts_table() {
        use Class::*;
        let cases = [
            (
                Op::RegisterScalableTarget,
                service("ThrottlingException", "Rate exceeded", 400),
                Retry,
            ),
            (
                Op::PutScalingPolicy,
                service("LimitExceededException", "quota", 400),
                Fail,
            ),
            (
                Op::RegisterScalableTarget,
                service("LimitExceededException", "quota", 400),
                Fail,
            ),
            (
                Op::PutScalingPolicy,
                service("ConcurrentUpdateException", "pending", 400),
                Retry,
            ),
            (
                Op::PutScalingPolicy,
                service("ObjectNotFoundException", "no target", 400),
                Retry,
            ),
            (
                Op::DeleteScalingPolicy,
                service("ObjectNotFoundException", "gone", 400),
                NotFound,
            ),
            (
                Op::DeregisterScalableTarget,
                service("ObjectNotFoundException", "gone", 400),
                NotFound,
            ),
            (
                Op::PutScalingPolicy,
                service("FailedResourceAccessException", "Rate exceeded", 400),
                Retry,
            ),
            (
                Op::PutScalingPolicy,
                service(
                    "FailedResourceAccessException",
                    "not authorized to cloudwatch:PutMetricAlarm",
                    400,
                ),
                Fail,
            ),
            (
                Op::RegisterScalableTarget,
                service("InternalServiceException", "oops", 500),
                Retry,
            ),
            (
                Op::RegisterScalableTarget,
                service("ValidationException", "Min > Max", 400),
                Fail,
            ),
            (
                Op::DescribeEndpoint,
                service("ValidationException", "Could not find endpoint \"x\".", 400),
                NotFound,
            ),
            (
                Op::RegisterScalableTarget,
                service("AccessDeniedException", "no", 400),
                Fail,
            ),
            (Op::DescribeEndpoint, service("", "", 503), Retry),
            (
                Op::GetResources,
                service("ThrottledException", "Rate exceeded", 400),
                Retry,
            ),
            (
                Op::GetResources,
                service("PaginationTokenExpiredException", "expired", 400),
                Fail,
            ),
            // CloudWatch (the wake alarm): its throttling code, a missing alarm on delete, a
            // missing IC on describe, and a refused alarm action.
            (
                Op::PutMetricAlarm,
                service("Throttling", "Rate exceeded", 400),
                Retry,
            ),
            (
                Op::DeleteAlarms,
                service("ResourceNotFound", "gone", 404),
                NotFound,
            ),
            // AAS's tag calls on a scalable target deregistered meanwhile.
            (
                Op::ListTagsForResource,
                service(
                    "ResourceNotFoundException",
                    "Scalable target with ARN arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/sm0123 not found",
                    400,
                ),
                NotFound,
            ),
            (
                Op::TagResource,
                service("ResourceNotFoundException", "not found", 400),
                NotFound,
            ),
            // Elsewhere it is not a "gone" the caller can act on.
            (
                Op::RegisterScalableTarget,
                service("ResourceNotFoundException", "not found", 400),
                Fail,
            ),
            (
                Op::DescribeInferenceComponent,
                service(
                    "ValidationException",
                    "Could not find inference component",
                    400,
                ),
                NotFound,
            ),
            (
                Op::PutMetricAlarm,
                service("ValidationError", "Invalid alarm action", 400),
                Fail,
            ),
            (
                Op::DescribeEndpoint,
                Fault::Transport("reset".into()),
                Retry,
            ),
            (Op::DescribeEndpoint, Fault::Local("bad".into()), Fail),
        ];
        for (op, f, want) in cases {
            assert_eq!(classify(op, &f), want, "{op:?} {f}");
        }
    }

    type DescribeError = aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointError;

    /// A call that never answers is abandoned after [`ATTEMPT_TIMEOUT`] and tried again,
    /// instead of waiting out the whole budget. (Tokio's clock is paused: no real waiting.)
    #[tokio::test(start_paused = true)]
    async fn a_hung_attempt_is_abandoned_and_retried() {
        let dl = Deadline::after(Duration::from_secs(3600));
        let started = tokio::time::Instant::now();
        let mut attempts = 0;
        let r = call(Op::DescribeEndpoint, "ep", &dl, || {
            attempts += 1;
            let hang = attempts == 1;
            async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                Ok::<_, SdkError<DescribeError, HttpResponse>>("answer")
            }
        })
        .await;
        assert!(matches!(r, Ok(Called::Done("answer"))));
        assert_eq!(attempts, 2);
        let waited = started.elapsed();
        assert!(
            waited >= ATTEMPT_TIMEOUT && waited < ATTEMPT_TIMEOUT + Duration::from_secs(6),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quota_error_is_not_retried() {
        let dl = Deadline::after(Duration::from_secs(60));
        let mut attempts = 0;
        let r: Result<Called<()>, AwsError> = call(Op::RegisterScalableTarget, "t", &dl, || {
            attempts += 1;
            async {
                let e = aws_sdk_sagemaker::error::ErrorMetadata::builder()
                    .code("LimitExceededException")
                    .message("You have reached the maximum number of scalable targets")
                    .build();
                let raw = HttpResponse::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                    aws_smithy_types::body::SdkBody::empty(),
                );
                Err(SdkError::service_error(DescribeError::generic(e), raw))
            }
        })
        .await;
        assert_eq!(attempts, 1);
        let e = r.err().expect("fails at once");
        assert!(e.to_string().contains("Service Quotas"), "{e}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..30 {
            let d = backoff(attempt);
            assert!(d <= Duration::from_secs(5));
            assert!(d >= Duration::from_millis(50));
        }
        assert!(backoff(12) >= Duration::from_millis(2_500));
    }

    #[test]
    fn a_quota_error_names_the_quota_and_the_way_out() {
        let e = AwsError {
            op: Op::RegisterScalableTarget,
            subject: "endpoint/e/variant/v".into(),
            attempts: 1,
            deadline: false,
            last: service(
                "LimitExceededException",
                "You have reached the maximum number of scalable targets",
                400,
            ),
        };
        let text = e.to_string();
        assert!(
            text.starts_with("RegisterScalableTarget on endpoint/e/variant/v failed: LimitExceededException (HTTP 400): You have reached"),
            "{text}"
        );
        assert!(
            text.contains("scalable targets per account for SageMaker"),
            "{text}"
        );
        assert!(text.contains("Service Quotas"), "{text}");
        let e = AwsError {
            op: Op::PutScalingPolicy,
            ..e
        };
        assert!(
            e.to_string()
                .contains("scaling policies per scalable target (50, not adjustable)")
        );
        assert_eq!(
            quota_hint(
                Op::PutScalingPolicy,
                &service("ThrottlingException", "x", 400)
            ),
            None
        );
    }

    #[test]
    fn errors_read_well() {
        let e = AwsError {
            op: Op::PutScalingPolicy,
            subject: "endpoint/e/variant/v".into(),
            attempts: 4,
            deadline: true,
            last: service("ConcurrentUpdateException", "pending", 400),
        };
        assert_eq!(
            e.to_string(),
            "PutScalingPolicy on endpoint/e/variant/v failed after 4 attempts, stopped before the \
             invocation's deadline: ConcurrentUpdateException (HTTP 400): pending"
        );
    }
}
