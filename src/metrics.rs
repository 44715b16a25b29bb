//! CloudWatch metrics in the embedded metric format (EMF): one JSON log line per invocation,
//! which CloudWatch Logs turns into metrics. No API call, no added latency, no extra
//! permission (docs/aws-behaviour.md §8.6). Pure: the caller prints the line.
//!
//! Why not a crate: the maintained one (awslabs' `metrique`, with its `emf` feature) is a
//! framework for wide events with sinks and background queues, and brings 45 crates scaletag
//! does not otherwise build; one object of a dozen numbers per invocation is this module.
//!
//! Cost is per metric name and dimension combination, so every metric here has no dimension
//! at all: about a dozen custom metrics per namespace, whatever the number of endpoints.
//! Endpoint names, the trigger and the outcome travel as properties of the same log line,
//! where Logs Insights finds them.

use serde_json::{Map, Value, json};

use crate::outcome::{Report, Verdict};

/// The namespace metrics go to when the operator names none.
pub const DEFAULT_NAMESPACE: &str = "scaletag";

/// A CloudWatch namespace scaletag may publish to: 1-255 characters of ASCII letters, digits
/// and `. - _ / # :`, not starting with `AWS/` (reserved for AWS services). Invalid ones are
/// refused at start-up, like an invalid catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace(String);

impl Namespace {
    pub fn parse(raw: &str) -> Result<Namespace, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Ok(Namespace(DEFAULT_NAMESPACE.into()));
        }
        if name.len() > 255 {
            return Err(format!(
                "METRICS_NAMESPACE is {} characters; CloudWatch allows 255",
                name.len()
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c))
        {
            return Err(format!(
                "METRICS_NAMESPACE `{name}` holds a character CloudWatch namespaces cannot: use letters, digits and . - _ / # :"
            ));
        }
        if name.starts_with("AWS/") {
            return Err(format!(
                "METRICS_NAMESPACE `{name}`: namespaces starting with AWS/ are reserved for AWS services"
            ));
        }
        Ok(Namespace(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace(DEFAULT_NAMESPACE.into())
    }
}

/// Every metric the function publishes, for whoever builds alarms and dashboards on them.
pub const NAMES: [&str; 13] = [
    "Applied",
    "Unchanged",
    "Skipped",
    "Detached",
    "Rejected",
    "Failed",
    "Writes",
    "Retries",
    "Throttles",
    "Duration",
    "SweepEndpoints",
    "SweepNotReached",
    "SweepDuration",
];

/// The outcome counts every record carries, so that a sum over time is the number of
/// endpoints that ended that way, from events and sweeps alike.
const OUTCOMES: [(Verdict, &str); 6] = [
    (Verdict::Applied, "Applied"),
    (Verdict::Unchanged, "Unchanged"),
    (Verdict::Skipped, "Skipped"),
    (Verdict::Detached, "Detached"),
    (Verdict::Rejected, "Rejected"),
    (Verdict::Failed, "Failed"),
];

/// What one invocation did with AWS, counted by the shell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    pub writes: u64,
    pub retries: u64,
    pub throttles: u64,
}

/// The record of one endpoint event: its verdict as a 1 among 0s, the AWS work, the duration.
pub fn endpoint_record(
    namespace: &Namespace,
    timestamp_ms: u64,
    subject: &Subject<'_>,
    verdicts: &[Verdict],
    calls: Calls,
    duration_ms: f64,
) -> Value {
    let mut metrics = outcome_counts(|v| verdicts.iter().filter(|&&have| have == v).count() as u64);
    metrics.extend(call_counts(calls));
    metrics.push(("Duration", "Milliseconds", duration_ms));
    let mut properties = Map::new();
    properties.insert("trigger".into(), subject.trigger.into());
    let result = verdicts.iter().max().copied().unwrap_or(Verdict::Skipped);
    properties.insert("result".into(), result.as_str().into());
    if let Some(e) = subject.endpoint {
        properties.insert("endpoint".into(), e.into());
    }
    if let Some(c) = subject.component {
        properties.insert("inference_component".into(), c.into());
    }
    record(namespace, timestamp_ms, &metrics, properties)
}

/// What one invocation was about, for the properties of its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// `endpoint-event`, `api-call` or `recheck`.
    pub trigger: &'a str,
    pub endpoint: Option<&'a str>,
    pub component: Option<&'a str>,
}

impl<'a> Subject<'a> {
    pub fn endpoint(endpoint: Option<&'a str>) -> Subject<'a> {
        Subject {
            trigger: "endpoint-event",
            endpoint,
            component: None,
        }
    }

    /// The endpoint or IC an endpoint event was about.
    pub fn of(subject: &'a crate::resource::Subject) -> Subject<'a> {
        Subject {
            component: subject.component_name(),
            ..Subject::endpoint(subject.endpoint_name())
        }
    }
}

/// The record of one sweep: its totals.
pub fn sweep_record(
    namespace: &Namespace,
    timestamp_ms: u64,
    report: &Report,
    calls: Calls,
    duration_ms: f64,
) -> Value {
    let count = |v: Verdict| report.results.iter().filter(|e| e.result == v).count() as u64;
    let mut metrics = outcome_counts(count);
    metrics.extend(call_counts(calls));
    metrics.push(("SweepEndpoints", "Count", report.endpoints as f64));
    metrics.push(("SweepNotReached", "Count", report.not_reached.len() as f64));
    metrics.push(("SweepDuration", "Milliseconds", duration_ms));
    let mut properties = Map::new();
    properties.insert("trigger".into(), "sweep".into());
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|e| matches!(e.result, Verdict::Failed | Verdict::Rejected))
        .map(|e| e.subject.endpoint_name().unwrap_or_default())
        .collect();
    properties.insert("failed_or_rejected".into(), json!(failed));
    record(namespace, timestamp_ms, &metrics, properties)
}

fn outcome_counts(count: impl Fn(Verdict) -> u64) -> Vec<(&'static str, &'static str, f64)> {
    OUTCOMES
        .iter()
        .map(|(v, name)| (*name, "Count", count(*v) as f64))
        .collect()
}

fn call_counts(calls: Calls) -> [(&'static str, &'static str, f64); 3] {
    [
        ("Writes", "Count", calls.writes as f64),
        ("Retries", "Count", calls.retries as f64),
        ("Throttles", "Count", calls.throttles as f64),
    ]
}

/// One EMF document: the `_aws` metadata, each metric's value as a top-level member, and the
/// properties beside them.
fn record(
    namespace: &Namespace,
    timestamp_ms: u64,
    metrics: &[(&str, &str, f64)],
    properties: Map<String, Value>,
) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut doc = properties;
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace.as_str(),
                // One empty dimension set: each metric is published once, without dimensions.
                "Dimensions": [[]],
                "Metrics": definitions,
            }],
        }),
    );
    for (name, _, value) in metrics {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Entry;
    use std::collections::BTreeMap;

    /// What the EMF specification requires of a document (CloudWatch User Guide,
    /// "Specification: Embedded metric format"), checked member by member.
    pub(crate) fn spec_violations(doc: &Value) -> Vec<String> {
        let mut v = Vec::new();
        let Some(root) = doc.as_object() else {
            return vec!["the root is not an object".into()];
        };
        let aws = &root["_aws"];
        if !aws["Timestamp"].is_u64() {
            v.push("_aws.Timestamp must be a number of milliseconds since the epoch".into());
        }
        let Some(directives) = aws["CloudWatchMetrics"].as_array() else {
            return vec!["_aws.CloudWatchMetrics must be an array".into()];
        };
        for d in directives {
            let ns = d["Namespace"].as_str().unwrap_or("");
            if ns.is_empty() || ns.len() > 255 {
                v.push(format!("Namespace `{ns}` must be 1-255 characters"));
            }
            for set in d["Dimensions"].as_array().into_iter().flatten() {
                let Some(set) = set.as_array() else {
                    v.push("a DimensionSet must be an array".into());
                    continue;
                };
                if set.len() > 30 {
                    v.push("a DimensionSet holds at most 30 dimensions".into());
                }
                for dim in set {
                    let name = dim.as_str().unwrap_or("");
                    if !root.get(name).is_some_and(Value::is_string) {
                        v.push(format!("dimension `{name}` needs a string member"));
                    }
                }
            }
            if !d["Dimensions"].is_array() {
                v.push("Dimensions must be an array of DimensionSets".into());
            }
            let metrics = d["Metrics"].as_array().cloned().unwrap_or_default();
            if metrics.is_empty() || metrics.len() > 100 {
                v.push("Metrics must hold 1-100 MetricDefinitions".into());
            }
            for m in metrics {
                let name = m["Name"].as_str().unwrap_or("");
                if name.is_empty() || name.len() > 1024 {
                    v.push(format!("metric name `{name}` must be 1-1024 characters"));
                }
                let unit = m["Unit"].as_str().unwrap_or("None");
                if !["Count", "Milliseconds", "Seconds", "None"].contains(&unit) {
                    v.push(format!("metric `{name}` has unit `{unit}`"));
                }
                if !root.get(name).is_some_and(Value::is_number) {
                    v.push(format!("metric `{name}` needs a number member"));
                }
            }
        }
        v
    }

    #[test]
    fn an_endpoint_event_is_one_valid_record_with_its_verdict() {
        let ns = Namespace::default();
        let calls = Calls {
            writes: 2,
            retries: 1,
            throttles: 1,
        };
        let doc = endpoint_record(
            &ns,
            1_700_000_000_000,
            &Subject::endpoint(Some("churn")),
            &[Verdict::Applied],
            calls,
            31.5,
        );
        assert_eq!(spec_violations(&doc), Vec::<String>::new());
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "scaletag");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert_eq!(
            (doc["Applied"].as_f64(), doc["Failed"].as_f64()),
            (Some(1.0), Some(0.0))
        );
        assert_eq!(doc["Writes"], 2.0);
        assert_eq!(doc["Throttles"], 1.0);
        assert_eq!(doc["Duration"], 31.5);
        assert_eq!(doc["endpoint"], "churn");
        assert_eq!(doc["result"], "applied");
        // The endpoint name is a property, never a dimension.
        assert!(!doc.to_string().contains("\"Dimensions\":[[\"endpoint"));
    }

    #[test]
    fn a_sweep_record_carries_its_totals_and_names_what_failed() {
        let entry = |e: &str, result| Entry {
            subject: crate::resource::Subject::endpoint(e),
            result,
            status: None,
            writes: 0,
            reason: None,
            warnings: Vec::new(),
        };
        let report = Report {
            dry_run: false,
            inference_components: 0,
            endpoints: 4,
            counts: BTreeMap::new(),
            results: vec![
                entry("a", Verdict::Applied),
                entry("b", Verdict::Rejected),
                entry("c", Verdict::Failed),
            ],
            not_reached: vec!["d".into()],
        };
        let doc = sweep_record(&Namespace::default(), 1, &report, Calls::default(), 900.0);
        assert_eq!(spec_violations(&doc), Vec::<String>::new());
        assert_eq!(doc["Applied"], 1.0);
        assert_eq!(doc["Rejected"], 1.0);
        assert_eq!(doc["Failed"], 1.0);
        assert_eq!(doc["SweepEndpoints"], 4.0);
        assert_eq!(doc["SweepNotReached"], 1.0);
        assert_eq!(doc["failed_or_rejected"], json!(["b", "c"]));
    }

    #[test]
    fn the_spec_check_can_fail() {
        let mut doc = endpoint_record(
            &Namespace::default(),
            1,
            &Subject::endpoint(None),
            &[Verdict::Skipped],
            Calls::default(),
            1.0,
        );
        doc.as_object_mut().unwrap().remove("Writes");
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["endpoint"]]);
        let v = spec_violations(&doc);
        assert!(
            v.iter().any(|m| m.contains("`Writes` needs a number")),
            "{v:?}"
        );
        assert!(
            v.iter().any(|m| m.contains("dimension `endpoint`")),
            "{v:?}"
        );
    }

    #[test]
    fn the_records_publish_exactly_the_named_metrics() {
        let names = |doc: &Value| -> Vec<String> {
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap().to_string())
                .collect()
        };
        let event = endpoint_record(
            &Namespace::default(),
            1,
            &Subject::endpoint(None),
            &[Verdict::Applied],
            Calls::default(),
            1.0,
        );
        let report = Report {
            dry_run: false,
            inference_components: 0,
            endpoints: 0,
            counts: BTreeMap::new(),
            results: Vec::new(),
            not_reached: Vec::new(),
        };
        let sweep = sweep_record(&Namespace::default(), 1, &report, Calls::default(), 1.0);
        let mut all: Vec<String> = names(&event).into_iter().chain(names(&sweep)).collect();
        all.sort();
        all.dedup();
        let mut want: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn namespaces_are_checked() {
        assert_eq!(Namespace::parse("").unwrap().as_str(), "scaletag");
        assert_eq!(
            Namespace::parse("Platform/scaletag").unwrap().as_str(),
            "Platform/scaletag"
        );
        assert!(
            Namespace::parse("AWS/SageMaker")
                .unwrap_err()
                .contains("reserved")
        );
        assert!(Namespace::parse("a{b}").unwrap_err().contains("character"));
        assert!(
            Namespace::parse(&"x".repeat(256))
                .unwrap_err()
                .contains("255")
        );
    }
}
