//! The template catalog: named scaling templates, built in and from the operator.
//!
//! A template is JSON in the AWS API's own field names (see `policy`). It holds either one
//! policy (`TargetTrackingScalingPolicyConfiguration`) or several keyed by a short name
//! (`TargetTrackingPolicies`), each with a different metric. The whole catalog is validated
//! when it is loaded, so an invalid one fails the function at start-up and never half-applies.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::policy::{self, Dimension, TargetTracking};

/// Policies scaletag creates carry this prefix; it owns exactly those and nothing else.
pub const OWNED_POLICY_PREFIX: &str = "scaletag-";

const BUILTIN: &str = include_str!("builtin-templates.json");

/// A validated template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub description: Option<String>,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub policies: Vec<TemplatePolicy>,
}

/// One target-tracking policy of a template, placeholders not yet filled.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplatePolicy {
    /// The AAS policy name: `scaletag-<template>` or `scaletag-<template>-<key>`.
    pub policy_name: String,
    pub config: TargetTracking,
}

impl Template {
    /// The metric of an asynchronous endpoint one of its policies tracks, if one does: such a
    /// template fits only an async endpoint's variants.
    pub fn async_metric(&self) -> Option<&str> {
        self.policies
            .iter()
            .find_map(|p| policy::async_metric(&p.config))
    }

    /// The dimension every predefined metric of this template drives, if any does.
    pub fn metric_fit(&self) -> Option<Dimension> {
        self.policies
            .iter()
            .find_map(|p| policy::metric_fit(&p.config))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TemplateDoc {
    #[serde(default)]
    description: Option<String>,
    min_capacity: i32,
    max_capacity: i32,
    #[serde(default)]
    target_tracking_scaling_policy_configuration: Option<TargetTracking>,
    #[serde(default)]
    target_tracking_policies: Option<BTreeMap<String, TargetTracking>>,
}

/// Everything wrong with a catalog, each problem naming its template and field.
#[derive(Debug, thiserror::Error, PartialEq)]
pub struct CatalogError {
    pub source_name: String,
    pub problems: Vec<String>,
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a valid template catalog:", self.source_name)?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    templates: BTreeMap<String, Template>,
}

const BUILTIN_NAME: &str = "built-in templates";

impl Catalog {
    /// The built-in templates (`src/builtin-templates.json`), for tests and tools. They are
    /// compiled in and validated by a unit test, so a broken one stops the caller loudly; the
    /// function and the command line load them through [`Catalog::load`], which reports it.
    pub fn builtin() -> Catalog {
        match Catalog::parse(BUILTIN, BUILTIN_NAME) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    /// The built-ins, overridden by name by the operator's catalog when one is given. A
    /// broken built-in is an error like a broken operator catalog, never an empty catalog.
    pub fn load(operator: Option<&str>, source_name: &str) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::parse(BUILTIN, BUILTIN_NAME)?;
        if let Some(text) = operator.filter(|t| !t.trim().is_empty()) {
            catalog
                .templates
                .extend(Catalog::parse(text, source_name)?.templates);
        }
        Ok(catalog)
    }

    /// Parses and validates a catalog document: `{ "<name>": <template>, ... }`.
    pub fn parse(text: &str, source_name: &str) -> Result<Catalog, CatalogError> {
        let fail = |problems| CatalogError {
            source_name: source_name.to_string(),
            problems,
        };
        let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| fail(vec![format!("not a JSON object of templates: {e}")]))?;
        let mut templates = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, value) in raw {
            match parse_template(&name, value) {
                Ok(t) => {
                    templates.insert(name, t);
                }
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() {
            Ok(Catalog { templates })
        } else {
            Err(fail(problems))
        }
    }

    pub fn get(&self, name: &str) -> Option<&Template> {
        self.templates.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    pub fn templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }
}

/// A template name is a tag value and part of a policy name: keep it to a safe alphabet.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(
            "a template name must be 1-64 characters of letters, digits, `-`, `_` and `.`".into(),
        );
    }
    if name == "off" {
        return Err("`off` is reserved: it opts an endpoint out".into());
    }
    Ok(())
}

fn parse_template(name: &str, value: serde_json::Value) -> Result<Template, Vec<String>> {
    let at = |field: &str, message: &str| {
        if field.is_empty() {
            format!("template `{name}`: {message}")
        } else {
            format!("template `{name}`, field {field}: {message}")
        }
    };
    check_name(name).map_err(|m| vec![at("", &m)])?;
    let doc: TemplateDoc = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        vec![at(&path, &e.inner().to_string())]
    })?;
    let mut problems = Vec::new();
    if doc.min_capacity < 0 {
        problems.push(at("MinCapacity", "must be 0 or more"));
    }
    if doc.max_capacity < 1 {
        problems.push(at("MaxCapacity", "must be 1 or more"));
    }
    if doc.min_capacity > doc.max_capacity {
        problems.push(at(
            "MinCapacity",
            &format!(
                "{} is above MaxCapacity {}",
                doc.min_capacity, doc.max_capacity
            ),
        ));
    }
    let (policies, shape) = named_policies(name, &doc);
    problems.extend(shape.into_iter().map(|(field, m)| at(&field, &m)));
    problems.extend(
        policy_problems(&policies)
            .into_iter()
            .map(|(field, m)| at(&field, &m)),
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Template {
        name: name.to_string(),
        description: doc.description,
        min_capacity: doc.min_capacity,
        max_capacity: doc.max_capacity,
        policies: policies
            .into_iter()
            .map(|(_, policy_name, config)| TemplatePolicy {
                policy_name,
                config,
            })
            .collect(),
    })
}

/// A policy of a template: (its field in the template, its policy name, its configuration).
type NamedPolicy = (String, String, TargetTracking);

/// A template's policies, and the problems of their
/// shape as (field, message): exactly one of the single and the keyed form, with valid keys.
fn named_policies(name: &str, doc: &TemplateDoc) -> (Vec<NamedPolicy>, Vec<(String, String)>) {
    let single = format!("{OWNED_POLICY_PREFIX}{name}");
    let mut problems = Vec::new();
    let policies = match (
        &doc.target_tracking_scaling_policy_configuration,
        &doc.target_tracking_policies,
    ) {
        (Some(c), None) => vec![(
            "TargetTrackingScalingPolicyConfiguration".into(),
            single,
            c.clone(),
        )],
        (None, Some(map)) if !map.is_empty() => map
            .iter()
            .map(|(key, c)| {
                let field = format!("TargetTrackingPolicies.{key}");
                if key.is_empty()
                    || key.len() > 32
                    || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    problems.push((
                        field.clone(),
                        "a policy key must be 1-32 letters, digits or `-`".into(),
                    ));
                }
                (field, format!("{single}-{key}"), c.clone())
            })
            .collect(),
        (None, Some(_)) => {
            problems.push((
                "TargetTrackingPolicies".into(),
                "must hold at least one policy".into(),
            ));
            Vec::new()
        }
        (Some(_), Some(_)) | (None, None) => {
            problems.push((
                String::new(),
                "needs exactly one of TargetTrackingScalingPolicyConfiguration (one policy) \
                 and TargetTrackingPolicies (several, keyed by name)"
                    .into(),
            ));
            Vec::new()
        }
    };
    (policies, problems)
}

/// Each policy's own problems, and those of the set: a metric used twice (AAS allows several
/// target-tracking policies on one target only with different metrics), or metrics for both
/// kinds of variant.
fn policy_problems(policies: &[NamedPolicy]) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut fits = BTreeMap::new();
    for (i, (field, _, config)) in policies.iter().enumerate() {
        for (sub, message) in policy::validate(config) {
            let path = if sub.is_empty() {
                field.clone()
            } else {
                format!("{field}.{sub}")
            };
            problems.push((path, message));
        }
        if let Some(d) = policy::metric_fit(config) {
            fits.insert(d, field.as_str());
        }
        if let Some((other, _, _)) = policies[..i]
            .iter()
            .find(|(_, _, c)| policy::same_metric(c, config))
        {
            problems.push((
                field.clone(),
                format!(
                    "uses the same metric as {other}; each policy on a target needs its own metric"
                ),
            ));
        }
    }
    if fits.len() > 1 {
        problems.push((
            String::new(),
            "mixes metrics for instance counts and for provisioned concurrency; no variant can take both"
                .into(),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        Catalog::parse(text, "POLICY_TEMPLATES")
            .unwrap_err()
            .problems
    }

    #[test]
    fn builtins_are_valid_and_documented() {
        let c = Catalog::parse(BUILTIN, "built-in").expect("built-ins are valid");
        let names: Vec<_> = c.names().collect();
        assert_eq!(
            names,
            [
                "async-backlog",
                "concurrency",
                "cpu",
                "default",
                "ic-concurrency",
                "ic-invocations",
                "responsive",
                "serverless"
            ]
        );
        assert_eq!(
            c.get("async-backlog").unwrap().async_metric(),
            Some("ApproximateBacklogSizePerInstance")
        );
        for ic in ["ic-concurrency", "ic-invocations"] {
            assert_eq!(c.get(ic).unwrap().metric_fit(), Some(Dimension::CopyCount));
        }
        assert!(c.templates().all(|t| t.description.is_some()));
        let r = c.get("responsive").unwrap();
        let policy_names: Vec<_> = r.policies.iter().map(|p| p.policy_name.as_str()).collect();
        assert_eq!(
            policy_names,
            [
                "scaletag-responsive-concurrency",
                "scaletag-responsive-invocations"
            ]
        );
        assert_eq!(
            c.get("serverless").unwrap().metric_fit(),
            Some(Dimension::ProvisionedConcurrency)
        );
        assert_eq!(c.get("cpu").unwrap().metric_fit(), None);
    }

    #[test]
    fn operator_catalog_overrides_builtins_by_name() {
        let c = Catalog::load(
            Some(r#"{"default": {"MinCapacity": 2, "MaxCapacity": 3, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 10, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}"#),
            "POLICY_TEMPLATES",
        )
        .unwrap();
        assert_eq!(c.get("default").unwrap().min_capacity, 2);
        assert!(c.get("concurrency").is_some());
        assert_eq!(Catalog::load(Some("  "), "x").unwrap(), Catalog::builtin());
    }

    #[test]
    fn errors_name_the_template_and_field() {
        let p = problems(
            r#"{"fast": {"MinCapacity": 1, "MaxCapacity": 2, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1, "ScaleInCoolDown": 5}}}"#,
        );
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("template `fast`, field TargetTrackingScalingPolicyConfiguration"),
            "{p:?}"
        );
        assert!(p[0].contains("unknown field `ScaleInCoolDown`"), "{p:?}");

        let p = problems(
            r#"{"a": {"MinCapacity": 5, "MaxCapacity": 2, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1}}}"#,
        );
        assert!(
            p.iter()
                .any(|m| m.contains("MinCapacity: 5 is above MaxCapacity 2")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("neither")), "{p:?}");

        let p = problems(r#"{"a": {"MinCapacity": "1", "MaxCapacity": 2}}"#);
        assert!(
            p[0].contains("field MinCapacity") && p[0].contains("invalid type"),
            "{p:?}"
        );
    }

    #[test]
    fn every_template_is_checked_not_just_the_first() {
        let p = problems(r#"{"a": {"MinCapacity": 1}, "b": {"MaxCapacity": 1}, "off": {}}"#);
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn both_or_neither_policy_form_is_an_error() {
        let p = problems(r#"{"a": {"MinCapacity": 1, "MaxCapacity": 2}}"#);
        assert!(p[0].contains("needs exactly one of"), "{p:?}");
        let p = problems(
            r#"{"a": {"MinCapacity": 1, "MaxCapacity": 2, "TargetTrackingPolicies": {}}}"#,
        );
        assert!(p[0].contains("at least one policy"), "{p:?}");
    }

    #[test]
    fn multi_policy_templates_need_distinct_metrics_of_one_kind() {
        let same = r#"{"a": {"MinCapacity": 1, "MaxCapacity": 2, "TargetTrackingPolicies": {
            "x": {"TargetValue": 1, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
            "y": {"TargetValue": 2, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}}"#;
        assert!(problems(same)[0].contains("same metric"));
        let mixed = r#"{"a": {"MinCapacity": 1, "MaxCapacity": 2, "TargetTrackingPolicies": {
            "x": {"TargetValue": 1, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
            "y": {"TargetValue": 0.5, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantProvisionedConcurrencyUtilization"}}}}}"#;
        assert!(problems(mixed)[0].contains("no variant can take both"));
    }

    #[test]
    fn not_an_object_is_one_clear_error() {
        let e = Catalog::parse("[1]", "POLICY_TEMPLATES").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("POLICY_TEMPLATES is not a valid template catalog:")
        );
        assert!(e.problems[0].contains("not a JSON object of templates"));
    }
}
