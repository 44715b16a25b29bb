//! A target-tracking policy configuration, in the AWS API's own field names.
//!
//! [`TargetTracking`] is exactly the JSON that
//! `aws application-autoscaling put-scaling-policy --target-tracking-scaling-policy-configuration`
//! takes, so a `config.json` pastes into a template unchanged. Unknown fields are errors.
//! Field reference: Application Auto Scaling API Reference,
//! `TargetTrackingScalingPolicyConfiguration`, `CustomizedMetricSpecification`,
//! `TargetTrackingMetricDataQuery`.

use serde::{Deserialize, Serialize};

/// SageMaker's documented default for both cooldowns (seconds), used when a template leaves
/// them out, so that what scaletag sends and what it compares are always explicit.
pub const DEFAULT_COOLDOWN: i32 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct TargetTracking {
    pub target_value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PredefinedMetric {
    pub predefined_metric_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CustomizedMetric {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<MetricDimension>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<MetricQuery>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MetricDimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MetricQuery {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: Metric,
    pub stat: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Metric {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Vec<MetricDimension>>,
}

/// What a SageMaker production variant scales (docs/aws-behaviour.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Dimension {
    #[serde(rename = "sagemaker:variant:DesiredInstanceCount")]
    InstanceCount,
    #[serde(rename = "sagemaker:variant:DesiredProvisionedConcurrency")]
    ProvisionedConcurrency,
    /// An inference component's copies; the only SageMaker dimension that may go to 0.
    #[serde(rename = "sagemaker:inference-component:DesiredCopyCount")]
    CopyCount,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::InstanceCount => "sagemaker:variant:DesiredInstanceCount",
            Dimension::ProvisionedConcurrency => "sagemaker:variant:DesiredProvisionedConcurrency",
            Dimension::CopyCount => "sagemaker:inference-component:DesiredCopyCount",
        }
    }

    pub fn parse(s: &str) -> Option<Dimension> {
        [
            Dimension::InstanceCount,
            Dimension::ProvisionedConcurrency,
            Dimension::CopyCount,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

impl std::fmt::Display for Dimension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metrics only asynchronous endpoints publish (namespace `AWS/SageMaker`, dimension
/// `EndpointName`; docs/aws-behaviour.md §11).
pub const ASYNC_METRICS: [&str; 4] = [
    "ApproximateBacklogSize",
    "ApproximateBacklogSizePerInstance",
    "ApproximateAgeOfOldestRequest",
    "HasBacklogWithoutCapacity",
];

/// The async-only metric a customized metric tracks, if it does (directly, or in metric math).
pub fn async_metric(config: &TargetTracking) -> Option<&str> {
    let c = config.customized_metric_specification.as_ref()?;
    let sagemaker = |ns: Option<&str>| ns == Some("AWS/SageMaker");
    let direct = c
        .metric_name
        .as_deref()
        .filter(|_| sagemaker(c.namespace.as_deref()));
    let queried = c.metrics.iter().flatten().find_map(|q| {
        let m = &q.metric_stat.as_ref()?.metric;
        m.metric_name
            .as_deref()
            .filter(|_| sagemaker(m.namespace.as_deref()))
    });
    direct
        .into_iter()
        .chain(queried)
        .find(|name| ASYNC_METRICS.contains(name))
}

/// The dimensions a metric can drive; `None` for a customized metric (it fits any).
pub fn metric_fit(config: &TargetTracking) -> Option<Dimension> {
    let predefined = config.predefined_metric_specification.as_ref()?;
    predefined_metric_dimension(&predefined.predefined_metric_type).ok()
}

/// The SageMaker predefined metric types (botocore model, `MetricType`) and what they scale.
pub fn predefined_metric_dimension(metric_type: &str) -> Result<Dimension, String> {
    match metric_type {
        "SageMakerVariantInvocationsPerInstance"
        | "SageMakerVariantConcurrentRequestsPerModelHighResolution" => {
            Ok(Dimension::InstanceCount)
        }
        "SageMakerVariantProvisionedConcurrencyUtilization" => {
            Ok(Dimension::ProvisionedConcurrency)
        }
        "SageMakerInferenceComponentInvocationsPerCopy"
        | "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution" => {
            Ok(Dimension::CopyCount)
        }
        other => Err(format!(
            "`{other}` is not a SageMaker metric; use SageMakerVariantInvocationsPerInstance, \
             SageMakerVariantConcurrentRequestsPerModelHighResolution, \
             SageMakerVariantProvisionedConcurrencyUtilization, \
             SageMakerInferenceComponentInvocationsPerCopy or \
             SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution \
             (or a CustomizedMetricSpecification)"
        )),
    }
}

const STATISTICS: [&str; 5] = ["Average", "Minimum", "Maximum", "SampleCount", "Sum"];

/// The placeholders a template's strings may use, filled in per variant.
pub const PLACEHOLDERS: [&str; 3] = ["EndpointName", "VariantName", "InferenceComponentName"];

/// Checks everything AWS would reject and everything scaletag relies on. Each problem is
/// `(field path, message)`; the path is relative to the configuration object.
pub fn validate(config: &TargetTracking) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut add = |field: &str, message: String| problems.push((field.to_string(), message));
    if !(config.target_value.is_finite() && config.target_value > 0.0) {
        add(
            "TargetValue",
            format!("must be a positive number, not {}", config.target_value),
        );
    }
    for (field, value) in [
        ("ScaleInCooldown", config.scale_in_cooldown),
        ("ScaleOutCooldown", config.scale_out_cooldown),
    ] {
        if let Some(v) = value.filter(|v| *v < 0) {
            add(field, format!("must be 0 or more seconds, not {v}"));
        }
    }
    match (
        &config.predefined_metric_specification,
        &config.customized_metric_specification,
    ) {
        (Some(_), Some(_)) => add(
            "",
            "has both PredefinedMetricSpecification and CustomizedMetricSpecification; give exactly one"
                .into(),
        ),
        (None, None) => add(
            "",
            "has neither PredefinedMetricSpecification nor CustomizedMetricSpecification; give exactly one"
                .into(),
        ),
        (Some(p), None) => {
            if let Err(message) = predefined_metric_dimension(&p.predefined_metric_type) {
                add("PredefinedMetricSpecification.PredefinedMetricType", message);
            }
            if p.resource_label.is_some() {
                add(
                    "PredefinedMetricSpecification.ResourceLabel",
                    "applies only to ALBRequestCountPerTarget, not to SageMaker metrics".into(),
                );
            }
        }
        (None, Some(c)) => validate_customized(c, &mut add),
    }
    for_each_string(config, &mut |field, s| {
        if let Err(message) = check_placeholders(s) {
            add(field, message);
        }
    });
    problems
}

fn validate_customized(c: &CustomizedMetric, add: &mut impl FnMut(&str, String)) {
    let base = "CustomizedMetricSpecification";
    let simple = c.metric_name.is_some()
        || c.namespace.is_some()
        || c.statistic.is_some()
        || c.dimensions.is_some()
        || c.unit.is_some();
    match &c.metrics {
        Some(_) if simple => add(
            base,
            "uses Metrics (metric math) together with MetricName/Namespace/Dimensions/Statistic/Unit; use one form".into(),
        ),
        Some(queries) => validate_queries(queries, add),
        None => {
            if c.metric_name.as_deref().is_none_or(str::is_empty) {
                add(&format!("{base}.MetricName"), "is required".into());
            }
            if c.namespace.as_deref().is_none_or(str::is_empty) {
                add(&format!("{base}.Namespace"), "is required".into());
            }
            match c.statistic.as_deref() {
                None => add(&format!("{base}.Statistic"), "is required".into()),
                Some(s) if !STATISTICS.contains(&s) => add(
                    &format!("{base}.Statistic"),
                    format!("`{s}` is not one of {}", STATISTICS.join(", ")),
                ),
                Some(_) => {}
            }
        }
    }
    for (i, d) in c.dimensions.iter().flatten().enumerate() {
        if d.name.is_empty() {
            add(
                &format!("{base}.Dimensions[{i}].Name"),
                "must not be empty".into(),
            );
        }
    }
}

fn validate_queries(queries: &[MetricQuery], add: &mut impl FnMut(&str, String)) {
    let base = "CustomizedMetricSpecification.Metrics";
    if queries.is_empty() {
        add(base, "must hold at least one metric query".into());
        return;
    }
    let mut ids = std::collections::BTreeSet::new();
    for (i, q) in queries.iter().enumerate() {
        let at = format!("{base}[{i}]");
        let id_ok = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !id_ok {
            add(
                &format!("{at}.Id"),
                format!(
                    "`{}` must start with a lowercase letter and hold only letters, digits and _",
                    q.id
                ),
            );
        }
        if !ids.insert(q.id.as_str()) {
            add(&format!("{at}.Id"), format!("`{}` is used twice", q.id));
        }
        match (&q.expression, &q.metric_stat) {
            (Some(_), Some(_)) | (None, None) => {
                add(&at, "needs exactly one of Expression and MetricStat".into())
            }
            (None, Some(stat)) => {
                if stat.metric.metric_name.as_deref().is_none_or(str::is_empty) {
                    add(
                        &format!("{at}.MetricStat.Metric.MetricName"),
                        "is required".into(),
                    );
                }
                if stat.metric.namespace.as_deref().is_none_or(str::is_empty) {
                    add(
                        &format!("{at}.MetricStat.Metric.Namespace"),
                        "is required".into(),
                    );
                }
                if stat.stat.is_empty() {
                    add(&format!("{at}.MetricStat.Stat"), "must not be empty".into());
                }
            }
            (Some(e), None) if e.trim().is_empty() => {
                add(&format!("{at}.Expression"), "must not be empty".into())
            }
            (Some(_), None) => {}
        }
    }
    // ReturnData defaults to true (API reference), so every query that does not say false returns data.
    let returning = queries
        .iter()
        .filter(|q| q.return_data.unwrap_or(true))
        .count();
    if returning != 1 {
        add(
            base,
            format!(
                "exactly one query must return data (ReturnData true, the default), but {returning} do; \
                 set \"ReturnData\": false on the others"
            ),
        );
    }
}

/// Calls `f` with every string value a template author can write, and its field path.
fn for_each_string(config: &TargetTracking, f: &mut impl FnMut(&str, &str)) {
    let Some(c) = &config.customized_metric_specification else {
        return;
    };
    let base = "CustomizedMetricSpecification";
    let dims = |f: &mut dyn FnMut(&str, &str), at: &str, dims: &Option<Vec<MetricDimension>>| {
        for (i, d) in dims.iter().flatten().enumerate() {
            f(&format!("{at}.Dimensions[{i}].Value"), &d.value);
        }
    };
    if let Some(n) = &c.metric_name {
        f(&format!("{base}.MetricName"), n);
    }
    dims(f, base, &c.dimensions);
    for (i, q) in c.metrics.iter().flatten().enumerate() {
        let at = format!("{base}.Metrics[{i}]");
        if let Some(e) = &q.expression {
            f(&format!("{at}.Expression"), e);
        }
        if let Some(l) = &q.label {
            f(&format!("{at}.Label"), l);
        }
        if let Some(stat) = &q.metric_stat {
            dims(
                f,
                &format!("{at}.MetricStat.Metric"),
                &stat.metric.dimensions,
            );
        }
    }
}

/// Every `${Name}` must be one of [`PLACEHOLDERS`].
pub fn check_placeholders(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`{s}` has an unclosed `${{`"));
        };
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "`${{{name}}}` is not a placeholder; use ${{EndpointName}}, ${{VariantName}} or ${{InferenceComponentName}}"
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// Fills the [`PLACEHOLDERS`] given as `(name, value)` in every string of the configuration
/// (`${EndpointName}` and `${VariantName}` for a variant; an inference component adds
/// `${InferenceComponentName}`, and its variant is the one it runs on).
pub fn fill_placeholders(config: &TargetTracking, values: &[(&str, &str)]) -> TargetTracking {
    let fill = |s: &mut String| {
        if s.contains("${") {
            for (name, value) in values {
                *s = s.replace(&format!("${{{name}}}"), value);
            }
        }
    };
    let mut out = config.clone();
    if let Some(c) = &mut out.customized_metric_specification {
        c.metric_name.iter_mut().for_each(fill);
        for d in c.dimensions.iter_mut().flatten() {
            fill(&mut d.value);
        }
        for q in c.metrics.iter_mut().flatten() {
            q.expression.iter_mut().for_each(fill);
            q.label.iter_mut().for_each(fill);
            if let Some(stat) = &mut q.metric_stat {
                for d in stat.metric.dimensions.iter_mut().flatten() {
                    fill(&mut d.value);
                }
            }
        }
    }
    out
}

/// The form scaletag sends and compares: every default AWS applies made explicit and every
/// empty list dropped, at every depth, so that a policy AWS describes back equals the one
/// scaletag wants exactly when nothing would change, whether AWS echoes the request as sent or
/// fills in defaults and drops empty lists (docs/aws-behaviour.md §2).
pub fn canonical(config: &TargetTracking) -> TargetTracking {
    fn no_empty<T>(list: &mut Option<Vec<T>>) {
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
    }
    let mut out = config.clone();
    out.scale_in_cooldown.get_or_insert(DEFAULT_COOLDOWN);
    out.scale_out_cooldown.get_or_insert(DEFAULT_COOLDOWN);
    out.disable_scale_in.get_or_insert(false);
    if let Some(c) = &mut out.customized_metric_specification {
        no_empty(&mut c.dimensions);
        no_empty(&mut c.metrics);
        for q in c.metrics.iter_mut().flatten() {
            // ReturnData defaults to true (TargetTrackingMetricDataQuery).
            q.return_data.get_or_insert(true);
            if let Some(stat) = &mut q.metric_stat {
                no_empty(&mut stat.metric.dimensions);
            }
        }
    }
    out
}

/// What a policy tracks, without its target and timings: AWS allows several target-tracking
/// policies on one target only when each tracks a different metric.
pub fn same_metric(a: &TargetTracking, b: &TargetTracking) -> bool {
    let (a, b) = (canonical(a), canonical(b));
    a.predefined_metric_specification == b.predefined_metric_specification
        && a.customized_metric_specification == b.customized_metric_specification
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> TargetTracking {
        serde_json::from_value(v).expect("valid shape")
    }

    fn messages(v: serde_json::Value) -> Vec<String> {
        validate(&parse(v))
            .into_iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect()
    }

    #[test]
    fn aws_cli_config_json_parses_unchanged() {
        let c = parse(json!({
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300, "ScaleOutCooldown": 60
        }));
        assert!(validate(&c).is_empty());
        assert_eq!(metric_fit(&c), Some(Dimension::InstanceCount));
    }

    #[test]
    fn unknown_field_is_an_error() {
        let r: Result<TargetTracking, _> =
            serde_json::from_value(json!({"TargetValue": 1.0, "TargetValu": 2.0}));
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("unknown field `TargetValu`")
        );
    }

    #[test]
    fn both_or_neither_metric_is_an_error() {
        assert!(messages(json!({"TargetValue": 1.0}))[0].contains("neither"));
        let both = messages(json!({"TargetValue": 1.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "CustomizedMetricSpecification": {"MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Average"}}));
        assert!(both[0].contains("both"));
    }

    #[test]
    fn target_value_must_be_positive_and_finite() {
        for bad in [0.0, -1.0] {
            let m = messages(json!({"TargetValue": bad,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}));
            assert!(m[0].starts_with("TargetValue"), "{m:?}");
        }
    }

    #[test]
    fn metric_types_are_checked() {
        let m = messages(json!({"TargetValue": 1.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}));
        assert!(m[0].contains("not a SageMaker metric"), "{m:?}");
        // Inference component metrics are valid, and drive copies only.
        let m = messages(json!({"TargetValue": 1.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}}));
        assert!(m.is_empty(), "{m:?}");
        assert_eq!(
            predefined_metric_dimension(
                "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
            ),
            Ok(Dimension::CopyCount)
        );
    }

    #[test]
    fn customized_simple_form_needs_name_namespace_statistic() {
        let m = messages(
            json!({"TargetValue": 1.0, "CustomizedMetricSpecification": {"Statistic": "Median"}}),
        );
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m.iter().any(|s| s.contains("`Median` is not one of")));
    }

    #[test]
    fn metric_math_needs_exactly_one_return_data() {
        let two = messages(
            json!({"TargetValue": 1.0, "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "m1", "MetricStat": {"Metric": {"MetricName": "A", "Namespace": "N"}, "Stat": "Sum"}},
                {"Id": "e1", "Expression": "m1 / 60", "ReturnData": true}
            ]}}),
        );
        assert!(two[0].contains("but 2 do"), "{two:?}");
        let one = messages(
            json!({"TargetValue": 1.0, "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "m1", "MetricStat": {"Metric": {"MetricName": "A", "Namespace": "N"}, "Stat": "Sum"}, "ReturnData": false},
                {"Id": "e1", "Expression": "m1 / 60", "ReturnData": true}
            ]}}),
        );
        assert!(one.is_empty(), "{one:?}");
        let none = messages(
            json!({"TargetValue": 1.0, "CustomizedMetricSpecification": {"Metrics": [
                {"Id": "e1", "Expression": "1", "ReturnData": false}
            ]}}),
        );
        assert!(none[0].contains("but 0 do"), "{none:?}");
    }

    #[test]
    fn placeholders_are_checked_and_filled() {
        let c = parse(
            json!({"TargetValue": 60.0, "CustomizedMetricSpecification": {
            "MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints", "Statistic": "Average",
            "Dimensions": [{"Name": "EndpointName", "Value": "${EndpointName}"}, {"Name": "VariantName", "Value": "${VariantName}"}]}}),
        );
        assert!(validate(&c).is_empty());
        let filled =
            fill_placeholders(&c, &[("EndpointName", "ep"), ("VariantName", "AllTraffic")]);
        let dims = filled
            .customized_metric_specification
            .unwrap()
            .dimensions
            .unwrap();
        assert_eq!(
            (dims[0].value.as_str(), dims[1].value.as_str()),
            ("ep", "AllTraffic")
        );
        assert!(
            check_placeholders("${Endpoint}")
                .unwrap_err()
                .contains("not a placeholder")
        );
        assert!(
            check_placeholders("${EndpointName")
                .unwrap_err()
                .contains("unclosed")
        );
    }

    #[test]
    fn canonical_makes_defaults_explicit() {
        let c = canonical(&parse(json!({"TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})));
        assert_eq!(c.scale_in_cooldown, Some(300));
        assert_eq!(c.scale_out_cooldown, Some(300));
        assert_eq!(c.disable_scale_in, Some(false));
    }

    #[test]
    fn canonical_is_semantic_at_every_depth() {
        // What a template says: an empty dimension list deep inside, ReturnData left to default.
        let sent = parse(
            json!({"TargetValue": 2.0, "CustomizedMetricSpecification": {"Metrics": [
            {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"MetricName": "Invocations",
              "Namespace": "AWS/SageMaker", "Dimensions": []}, "Stat": "Sum"}},
            {"Id": "e1", "Expression": "m1 / 60"}
        ], "Dimensions": []}}),
        );
        // AWS echoing it exactly as sent, and with defaults filled in and empty lists dropped.
        let exact = sent.clone();
        let filled = parse(
            json!({"TargetValue": 2.0, "CustomizedMetricSpecification": {"Metrics": [
            {"Id": "m1", "ReturnData": false, "MetricStat": {"Metric": {"MetricName": "Invocations",
              "Namespace": "AWS/SageMaker"}, "Stat": "Sum"}},
            {"Id": "e1", "Expression": "m1 / 60", "ReturnData": true}
        ]}, "ScaleInCooldown": 300, "ScaleOutCooldown": 300, "DisableScaleIn": false}),
        );
        assert_eq!(canonical(&exact), canonical(&sent));
        assert_eq!(canonical(&filled), canonical(&sent));
        assert_eq!(canonical(&canonical(&sent)), canonical(&sent));
        // A real difference still shows.
        let mut other = filled.clone();
        other
            .customized_metric_specification
            .as_mut()
            .unwrap()
            .metrics
            .as_mut()
            .unwrap()[1]
            .return_data = Some(false);
        assert_ne!(canonical(&other), canonical(&sent));
    }

    #[test]
    fn same_metric_ignores_targets_and_timings() {
        let a = parse(json!({"TargetValue": 70.0, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}));
        let b = parse(json!({"TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}));
        let c = parse(json!({"TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}));
        assert!(same_metric(&a, &b));
        assert!(!same_metric(&a, &c));
    }
}
