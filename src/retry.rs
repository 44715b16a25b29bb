//! Every AWS error classified: retried with jittered backoff inside the deadline, treated as
//! done, or reported at once (aws-facts §3).
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
pub enum Failure {
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

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport(d) => write!(f, "no response from AWS ({d})"),
            Failure::Service {
                code,
                message,
                status,
            } => write!(
                f,
                "{} (HTTP {status}): {}",
                code.as_deref().unwrap_or("error"),
                message.as_deref().unwrap_or("no message")
            ),
            Failure::Local(d) => write!(f, "request not sent: {d}"),
        }
    }
}

/// The classification table of aws-facts §3.
pub fn classify(op: Op, failure: &Failure) -> Class {
    let (code, message, status) = match failure {
        Failure::Transport(_) => return Class::Retry,
        Failure::Local(_) => return Class::Fail,
        Failure::Service {
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
        "ThrottlingException"
        | "Throttling"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "LimitExceededException"
        | "ConcurrentUpdateException"
        | "InternalServiceException"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "RequestTimeout"
        | "RequestTimeoutException" => Class::Retry,
        // CloudWatch throttling seen through AAS; otherwise a permission problem.
        "FailedResourceAccessException" if message.contains("Rate exceeded") => Class::Retry,
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
                    Op::DescribeEndpoint | Op::DescribeEndpointConfig | Op::ListTags
                ) =>
        {
            Class::NotFound
        }
        // moto answers ValidationException where AWS answers ObjectNotFoundException (aws-facts §7).
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
#[error("{op} on {subject} failed{}: {last}", if *.attempts > 1 { format!(" after {} attempts{}", .attempts, if *.deadline { ", stopped before the invocation's deadline" } else { "" }) } else { String::new() })]
pub struct AwsError {
    pub op: &'static str,
    pub subject: String,
    pub attempts: u32,
    /// Whether retrying stopped because the deadline was near, not because the error was final.
    pub deadline: bool,
    pub last: Failure,
}

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

/// The result of a call: the output, or "not there" for a classified NotFound.
pub enum Called<T> {
    Done(T),
    NotFound,
}

/// Turns an SDK error into a [`Failure`].
pub fn failure<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::ServiceError(ctx) => Failure::Service {
            code: ctx.err().code().map(str::to_string),
            message: ctx.err().message().map(str::to_string),
            status: ctx.raw().status().as_u16(),
        },
        SdkError::ConstructionFailure(_) => Failure::Local("the request could not be built".into()),
        SdkError::TimeoutError(_) => Failure::Transport("timed out".into()),
        SdkError::DispatchFailure(e) => Failure::Transport(if e.is_io() {
            "connection failed".into()
        } else if e.is_timeout() {
            "timed out".into()
        } else {
            "dispatch failed".into()
        }),
        SdkError::ResponseError(_) => Failure::Transport("unreadable response".into()),
        _ => Failure::Transport("unknown SDK error".into()),
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
        let last = match tokio::time::timeout(remaining, attempt()).await {
            Ok(Ok(out)) => return Ok(Called::Done(out)),
            Ok(Err(e)) => failure(&e),
            Err(_) => Failure::Transport("no answer before the invocation's deadline".into()),
        };
        let error = |deadline| AwsError {
            op: op.name(),
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

    fn service(code: &str, message: &str, status: u16) -> Failure {
        Failure::Service {
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
                Retry,
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
                Op::DescribeEndpoint,
                Failure::Transport("reset".into()),
                Retry,
            ),
            (Op::DescribeEndpoint, Failure::Local("bad".into()), Fail),
        ];
        for (op, f, want) in cases {
            assert_eq!(classify(op, &f), want, "{op:?} {f}");
        }
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
    fn errors_read_well() {
        let e = AwsError {
            op: "PutScalingPolicy",
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
