//! Scale to zero and back: the two pieces Application Auto Scaling does not make by itself
//! (docs/aws-behaviour.md §9), described by data for any kind of unit.
//!
//! Target tracking takes a unit down to zero, but cannot bring it back: at zero there is no
//! per-copy (or per-instance) metric. AWS's answer is a step-scaling policy that adds one,
//! fired by a CloudWatch alarm on a metric that has data exactly when requests find no
//! capacity. scaletag creates both when a unit's MinCapacity is 0, owns both by name, and
//! removes both when MinCapacity goes back above 0, on `off`, on detach, and when the resource
//! is gone. Whose an alarm is, is read from its dimensions ([`owner`]), never guessed from
//! its name: the sweep removes only those whose resource is gone.

use serde::{Deserialize, Serialize};

use crate::resource::Scalable;

/// The step policy's name. Like every policy scaletag owns, it starts with `scaletag-`.
pub const WAKE_POLICY: &str = "scaletag-wake-from-zero";

/// The prefix of every alarm scaletag owns; IAM confines its alarm writes to these names.
pub const ALARM_PREFIX: &str = "scaletag-wake-";

/// What brings one unit back from zero: the step policy, and the alarm that fires it (its
/// action, the policy's ARN, is filled in by `diff`).
#[derive(Debug, Clone, PartialEq)]
pub struct Wake {
    pub step: StepScaling,
    pub alarm: Alarm,
}

/// The alarm a unit of this kind would have, named after the unit: CloudWatch alarm names are
/// unique per account and region, as IC and endpoint names are. An async variant's name holds
/// a `/`, which no IC, endpoint or variant name can, so the two kinds never share a name.
/// `None` for a kind that never has one.
pub fn alarm_name(unit: &Scalable) -> Option<String> {
    match unit {
        Scalable::Component { name } => Some(format!("{ALARM_PREFIX}{name}")),
        Scalable::AsyncVariant { endpoint, variant } => {
            Some(format!("{}{variant}", endpoint_alarms(endpoint)))
        }
        Scalable::Variant { .. } => None,
    }
}

/// The prefix of the alarm names of an endpoint's async variants.
pub fn endpoint_alarms(endpoint: &str) -> String {
    format!("{ALARM_PREFIX}{endpoint}/")
}

/// The unit one of scaletag's alarms wakes, read from the alarm's metric dimensions.
pub fn owner(alarm: &Alarm) -> Option<Scalable> {
    let dimension = |name: &str| {
        alarm
            .dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.clone())
    };
    match alarm.metric_name.as_str() {
        COMPONENT_METRIC => Some(Scalable::Component {
            name: dimension(COMPONENT_DIMENSION)?,
        }),
        // The metric is the endpoint's; the variant is the one the alarm was named for.
        ASYNC_METRIC => {
            let endpoint = dimension(ENDPOINT_DIMENSION)?;
            let variant = alarm
                .alarm_name
                .strip_prefix(&endpoint_alarms(&endpoint))
                .filter(|v| !v.is_empty())?;
            Some(Scalable::AsyncVariant {
                endpoint,
                variant: variant.to_string(),
            })
        }
        _ => None,
    }
}

/// The metric that says requests found an IC at 0 copies, and its dimension.
const COMPONENT_METRIC: &str = "NoCapacityInvocationFailures";
const COMPONENT_DIMENSION: &str = "InferenceComponentName";
/// The metric that says an async endpoint has requests queued and no instance to serve them.
const ASYNC_METRIC: &str = "HasBacklogWithoutCapacity";
const ENDPOINT_DIMENSION: &str = "EndpointName";

/// What wakes `unit`, when its kind can be woken from zero; `None` when it cannot.
pub fn for_unit(unit: &Scalable) -> Option<Wake> {
    match unit {
        Scalable::Component { name } => Some(Wake {
            step: step_policy(),
            alarm: component_alarm(name),
        }),
        Scalable::AsyncVariant { endpoint, variant } => Some(Wake {
            step: async_step_policy(),
            alarm: async_alarm(endpoint, variant),
        }),
        Scalable::Variant { .. } => None,
    }
}

/// `StepScalingPolicyConfiguration`, in the AAS API's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepScaling {
    pub adjustment_type: String,
    pub metric_aggregation_type: String,
    pub cooldown: i32,
    pub step_adjustments: Vec<StepAdjustment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepAdjustment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i32,
}

/// The step policy of AWS's scale-to-zero guide: one more each time the alarm fires, at most
/// once a minute.
pub fn step_policy() -> StepScaling {
    StepScaling {
        adjustment_type: "ChangeInCapacity".into(),
        metric_aggregation_type: "Maximum".into(),
        cooldown: 60,
        step_adjustments: vec![StepAdjustment {
            metric_interval_lower_bound: Some(0.0),
            metric_interval_upper_bound: None,
            scaling_adjustment: 1,
        }],
    }
}

/// The step policy of AWS's async autoscaling guide: one more instance each time the alarm
/// fires, the alarm's Average, with a cooldown of 300 s (an instance takes minutes to start).
fn async_step_policy() -> StepScaling {
    StepScaling {
        adjustment_type: "ChangeInCapacity".into(),
        metric_aggregation_type: "Average".into(),
        cooldown: 300,
        step_adjustments: vec![StepAdjustment {
            metric_interval_lower_bound: Some(0.0),
            metric_interval_upper_bound: None,
            scaling_adjustment: 1,
        }],
    }
}

/// One metric dimension of an alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDimension {
    pub name: String,
    pub value: String,
}

/// The parts of a CloudWatch metric alarm scaletag sets, and compares, in the API's field
/// names. Every field has the value scaletag sends, so an alarm described back equals the
/// wanted one exactly when nothing would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<MetricDimension>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    /// The step policy's ARN: the alarm's only action.
    pub alarm_actions: Vec<String>,
}

/// The alarm that wakes IC `component`, on requests that found it at 0 copies.
///
/// AWS's guide uses `GreaterThanThreshold 1` on the one-minute Sum, which needs two failed
/// requests in the same minute: at zero copies the first request of a quiet model would fail
/// and wake nothing. scaletag wakes on the first (`GreaterThanOrEqualToThreshold 1`), because
/// scale to zero is for models with little traffic, where a second request may be minutes
/// away. Missing data (no request at all) is not breaching: the alarm rests in OK.
fn component_alarm(component: &str) -> Alarm {
    alarm_of(
        format!("{ALARM_PREFIX}{component}"),
        format!(
            "scaletag: a request found inference component {component} at 0 copies; add one (managed by scaletag, do not edit)"
        ),
        (COMPONENT_METRIC, COMPONENT_DIMENSION, component),
    )
}

/// The alarm that wakes variant `variant` of async endpoint `endpoint`: AWS's recipe, as its
/// guide gives it (`HasBacklogWithoutCapacity`, Average over 60 s, 2 of 2 periods at 1 or
/// more, missing data missing). The metric has data only while requests wait, so the alarm
/// rests in INSUFFICIENT_DATA when the endpoint is idle, which fires nothing.
fn async_alarm(endpoint: &str, variant: &str) -> Alarm {
    Alarm {
        evaluation_periods: 2,
        datapoints_to_alarm: 2,
        statistic: "Average".into(),
        treat_missing_data: "missing".into(),
        ..alarm_of(
            format!("{}{variant}", endpoint_alarms(endpoint)),
            format!(
                "scaletag: async endpoint {endpoint} has requests queued and no instance; add one to variant {variant} (managed by scaletag, do not edit)"
            ),
            (ASYNC_METRIC, ENDPOINT_DIMENSION, endpoint),
        )
    }
}

/// A wake alarm on `metric` with one `dimension` = `value`: fired by a Sum of 1 or more in one
/// minute, resting when there is no data; each kind's recipe changes what differs.
fn alarm_of(
    name: String,
    description: String,
    (metric, dimension, value): (&str, &str, &str),
) -> Alarm {
    Alarm {
        alarm_name: name,
        alarm_description: description,
        namespace: "AWS/SageMaker".into(),
        metric_name: metric.into(),
        dimensions: vec![MetricDimension {
            name: dimension.into(),
            value: value.to_string(),
        }],
        statistic: "Sum".into(),
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        threshold: 1.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_wakes_on_the_first_failed_request() {
        let unit = Scalable::Component {
            name: "llama".into(),
        };
        let a = for_unit(&unit).expect("an IC can be woken").alarm;
        assert_eq!(a.alarm_name, "scaletag-wake-llama");
        assert_eq!(alarm_name(&unit).as_deref(), Some("scaletag-wake-llama"));
        // Whose it is comes from the alarm's dimensions.
        assert_eq!(owner(&a), Some(unit));
        let variant = Scalable::Variant {
            endpoint: "ep".into(),
            variant: "AllTraffic".into(),
        };
        assert_eq!((alarm_name(&variant), for_unit(&variant)), (None, None));
        // One failed request in a minute is Sum = 1, which must breach.
        assert_eq!(a.comparison_operator, "GreaterThanOrEqualToThreshold");
        assert_eq!(a.threshold, 1.0);
        assert_eq!(
            (a.period, a.evaluation_periods, a.datapoints_to_alarm),
            (60, 1, 1)
        );
        assert!(a.alarm_actions.is_empty(), "filled in by diff");
    }

    #[test]
    fn an_async_variant_wakes_on_its_backlog_and_its_alarm_is_never_an_ics() {
        let unit = Scalable::AsyncVariant {
            endpoint: "batch".into(),
            variant: "AllTraffic".into(),
        };
        let wake = for_unit(&unit).expect("an async variant can be woken");
        assert_eq!(wake.alarm.alarm_name, "scaletag-wake-batch/AllTraffic");
        assert_eq!(
            alarm_name(&unit).as_deref(),
            Some("scaletag-wake-batch/AllTraffic")
        );
        assert_eq!(wake.alarm.metric_name, "HasBacklogWithoutCapacity");
        assert_eq!(
            (
                wake.alarm.evaluation_periods,
                wake.alarm.datapoints_to_alarm
            ),
            (2, 2)
        );
        assert_eq!(wake.step.metric_aggregation_type, "Average");
        assert_eq!(wake.step.cooldown, 300);
        assert_eq!(owner(&wake.alarm), Some(unit));
        // An IC named like the endpoint-and-variant still owns its own alarm only.
        let ic = Scalable::Component {
            name: "batch-AllTraffic".into(),
        };
        let ic_alarm = for_unit(&ic).expect("IC").alarm;
        assert_ne!(ic_alarm.alarm_name, wake.alarm.alarm_name);
        assert_eq!(owner(&ic_alarm), Some(ic));
        // An alarm on the backlog whose name names no variant of its endpoint is nobody's.
        let stray = Alarm {
            alarm_name: "scaletag-wake-other/AllTraffic".into(),
            ..wake.alarm.clone()
        };
        assert_eq!(owner(&stray), None);
    }

    #[test]
    fn the_step_policy_is_the_guides() {
        let v = serde_json::to_value(step_policy()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Maximum",
                "Cooldown": 60,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]
            })
        );
    }
}
