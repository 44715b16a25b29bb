//! Scale to zero and back for inference components: the two pieces Application Auto Scaling
//! does not make by itself (docs/aws-behaviour.md §9).
//!
//! Target tracking takes an inference component (IC) down to 0 copies, but cannot bring it
//! back: with no copy there is no per-copy metric. AWS's answer is a step-scaling policy that
//! adds one copy, fired by a CloudWatch alarm on `NoCapacityInvocationFailures` (requests that
//! found no copy to serve them). scaletag creates both when an IC's MinCapacity is 0, owns
//! both by name, and removes both when MinCapacity goes back above 0, on `off`, and on detach.

use serde::{Deserialize, Serialize};

/// The step policy's name. Like every policy scaletag owns, it starts with `scaletag-`.
pub const WAKE_POLICY: &str = "scaletag-wake-from-zero";

/// The prefix of every alarm scaletag owns; IAM confines its alarm writes to these names.
pub const ALARM_PREFIX: &str = "scaletag-wake-";

/// The alarm that wakes `component`. CloudWatch alarm names are unique per account and region,
/// as IC names are, so the IC's name makes it unique.
pub fn alarm_name(component: &str) -> String {
    format!("{ALARM_PREFIX}{component}")
}

/// The IC an alarm of scaletag's wakes, read back from its name.
pub fn component_of_alarm(alarm: &str) -> Option<&str> {
    alarm.strip_prefix(ALARM_PREFIX).filter(|c| !c.is_empty())
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

/// The step policy of AWS's scale-to-zero guide: one more copy each time the alarm fires,
/// at most once a minute.
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

/// The parts of a CloudWatch metric alarm scaletag sets, and compares. Every field has the
/// value scaletag sends, so an alarm described back equals the wanted one exactly when
/// nothing would change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    pub alarm_description: String,
    pub namespace: String,
    pub metric_name: String,
    /// The one dimension: `InferenceComponentName` = the IC.
    pub component: String,
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

/// The alarm that wakes `component` through the step policy `policy_arn`.
///
/// AWS's guide uses `GreaterThanThreshold 1` on the one-minute Sum, which needs two failed
/// requests in the same minute: at zero copies the first request of a quiet model would fail
/// and wake nothing. scaletag wakes on the first (`GreaterThanOrEqualToThreshold 1`), because
/// scale to zero is for models with little traffic, where a second request may be minutes
/// away. Missing data (no request at all) is not breaching: the alarm rests in OK.
pub fn alarm(component: &str, policy_arn: &str) -> Alarm {
    Alarm {
        alarm_name: alarm_name(component),
        alarm_description: format!(
            "scaletag: a request found inference component {component} at 0 copies; add one (managed by scaletag, do not edit)"
        ),
        namespace: "AWS/SageMaker".into(),
        metric_name: "NoCapacityInvocationFailures".into(),
        component: component.to_string(),
        statistic: "Sum".into(),
        period: 60,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        threshold: 1.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: vec![policy_arn.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alarm_wakes_on_the_first_failed_request() {
        let a = alarm("llama", "arn:aws:autoscaling:x");
        assert_eq!(a.alarm_name, "scaletag-wake-llama");
        assert_eq!(component_of_alarm(&a.alarm_name), Some("llama"));
        assert_eq!(component_of_alarm("scaletag-wake-"), None);
        assert_eq!(component_of_alarm("TargetTracking-x"), None);
        // One failed request in a minute is Sum = 1, which must breach.
        assert_eq!(a.comparison_operator, "GreaterThanOrEqualToThreshold");
        assert_eq!(a.threshold, 1.0);
        assert_eq!(
            (a.period, a.evaluation_periods, a.datapoints_to_alarm),
            (60, 1, 1)
        );
        assert_eq!(a.alarm_actions, vec!["arn:aws:autoscaling:x".to_string()]);
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
