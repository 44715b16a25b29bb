//! Offline validation, no AWS access: a tag set, and the tags of every
//! `AWS::SageMaker::Endpoint` and `AWS::SageMaker::InferenceComponent` in a CloudFormation or
//! SAM template, so a typo fails CI before it is deployed. The same `desire::desire` and
//! `component::desire` as the function itself decide what is wrong.

use serde::Serialize;
use serde_norway::Value as Yaml;

use crate::catalog::Catalog;
use crate::component::{self, ComponentFacts};
use crate::desire::{self, Desired, EndpointFacts, Settings, VariantFacts, VariantKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Would reject the endpoint: nothing would be applied.
    Error,
    /// Worth knowing, not wrong (an intrinsic value, assumptions made).
    Note,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub location: String,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    fn new(location: impl Into<String>, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            location: location.into(),
            severity,
            message: message.into(),
        }
    }
}

/// Checks a tag set. With `variants` unknown, the variants its tags name are assumed to
/// exist and to be instance-based (said in a note).
pub fn check_tags(
    location: &str,
    tags: &[(String, String)],
    variants: Option<Vec<VariantFacts>>,
    catalog: &Catalog,
    settings: &Settings,
    tag_location: &dyn Fn(&str) -> String,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let variants = variants.unwrap_or_else(|| {
        let lead = format!("{}:variant:", settings.tag_prefix);
        let mut names: Vec<String> = tags
            .iter()
            .filter_map(|(k, _)| {
                k.strip_prefix(&lead)?
                    .split_once(':')
                    .map(|(v, _)| v.to_string())
            })
            .filter(|v| !v.is_empty())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            names.push("AllTraffic".into());
        }
        if tags
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{}:", settings.tag_prefix)))
        {
            findings.push(Finding::new(
                location,
                Severity::Note,
                format!(
                    "variants unknown here; checked as instance-based variant(s) {}",
                    names.join(", ")
                ),
            ));
        }
        names
            .into_iter()
            .map(|name| VariantFacts {
                name,
                kind: VariantKind::Instances {
                    instance_type: None,
                },
            })
            .collect()
    });
    let facts = EndpointFacts {
        name: "checked-endpoint".into(),
        variants,
    };
    match desire::desire(&facts, tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => {
            findings.push(Finding::new(location, Severity::Note, reason));
        }
        Ok(_) => {}
        Err(rejection) => findings.extend(rejection.problems.into_iter().map(|p| {
            let at = p
                .tag
                .as_ref()
                .map(|(k, _)| tag_location(k))
                .unwrap_or_else(|| location.to_string());
            Finding::new(at, Severity::Error, p.to_string())
        })),
    }
    findings
}

/// Checks the endpoint tags of a CloudFormation or SAM template (YAML or JSON, short-form
/// intrinsics such as `!Ref` and `!Sub` included).
pub fn check_template(
    file: &str,
    text: &str,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let doc: Yaml = match serde_norway::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            return vec![Finding::new(
                file,
                Severity::Error,
                format!("not a valid template: {e}"),
            )];
        }
    };
    let Some(resources) = doc.get("Resources").and_then(Yaml::as_mapping) else {
        return vec![Finding::new(file, Severity::Error, "no Resources section")];
    };
    let mut findings = Vec::new();
    let mut checked = 0;
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let at = format!("{file}: Resources.{id}.Properties.Tags");
        let props = resource.get("Properties");
        match resource.get("Type").and_then(Yaml::as_str) {
            Some("AWS::SageMaker::Endpoint") => {
                findings.extend(check_endpoint(&at, props, resources, catalog, settings));
            }
            Some("AWS::SageMaker::InferenceComponent") => {
                findings.extend(check_component(&at, id, props, catalog, settings));
            }
            _ => continue,
        }
        checked += 1;
    }
    if checked == 0 {
        findings.push(Finding::new(
            file,
            Severity::Note,
            "no AWS::SageMaker::Endpoint or AWS::SageMaker::InferenceComponent resources",
        ));
    }
    findings
}

/// The literal `P:` tags of a resource, where each sits, and notes on those with intrinsic
/// values (known only at deploy time).
struct LiteralTags {
    tags: Vec<(String, String)>,
    index_of: Vec<(String, usize)>,
    notes: Vec<Finding>,
}

impl LiteralTags {
    fn read(at: &str, props: Option<&Yaml>, settings: &Settings) -> LiteralTags {
        let mut out = LiteralTags {
            tags: Vec::new(),
            index_of: Vec::new(),
            notes: Vec::new(),
        };
        let lead = format!("{}:", settings.tag_prefix);
        for (i, tag) in props
            .and_then(|p| p.get("Tags"))
            .and_then(Yaml::as_sequence)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (Some(key), value) = (tag.get("Key").and_then(scalar), tag.get("Value")) else {
                continue;
            };
            match value.and_then(scalar) {
                Some(v) => {
                    out.index_of.push((key.clone(), i));
                    out.tags.push((key, v));
                }
                None if key.starts_with(&lead) => out.notes.push(Finding::new(
                    format!("{at}[{i}]"),
                    Severity::Note,
                    format!(
                        "tag `{key}` has an intrinsic value ({}), known only at deploy time: not checked here; \
                         scaletag checks it when the resource is InService",
                        intrinsic_name(value)
                    ),
                )),
                None => {}
            }
        }
        out
    }

    /// Where the tag `key` sits, or the tag list when it is not one of them.
    fn locate(&self, at: &str, key: &str) -> String {
        self.index_of
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, i)| format!("{at}[{i}]"))
            .unwrap_or_else(|| at.to_string())
    }
}

/// The findings for one `AWS::SageMaker::InferenceComponent`, located at its tags.
fn check_component(
    at: &str,
    id: &str,
    props: Option<&Yaml>,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let read = LiteralTags::read(at, props, settings);
    let literal = |field: &str| props.and_then(|p| p.get(field)).and_then(scalar);
    let facts = ComponentFacts {
        name: literal("InferenceComponentName").unwrap_or_else(|| id.to_string()),
        endpoint: literal("EndpointName").unwrap_or_else(|| "its endpoint".into()),
        variant: literal("VariantName").unwrap_or_default(),
        status: "InService".into(),
        min_instances: None,
    };
    let mut findings = read.notes.clone();
    match component::desire(&facts, &read.tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => {
            findings.push(Finding::new(at, Severity::Note, reason));
        }
        Ok(_) => {}
        Err(rejection) => findings.extend(rejection.problems.into_iter().map(|p| {
            let location = p
                .tag
                .as_ref()
                .map(|(k, _)| read.locate(at, k))
                .unwrap_or_else(|| at.to_string());
            Finding::new(location, Severity::Error, p.to_string())
        })),
    }
    findings
}

/// A literal tag key or value as a string; `None` for an intrinsic function.
fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn intrinsic_name(v: Option<&Yaml>) -> String {
    match v {
        Some(Yaml::Tagged(t)) => t.tag.to_string(),
        Some(Yaml::Mapping(m)) => m
            .keys()
            .next()
            .and_then(Yaml::as_str)
            .unwrap_or("a mapping")
            .to_string(),
        _ => "not a string".into(),
    }
}

/// The findings for one `AWS::SageMaker::Endpoint`, located at its tags (`at`).
fn check_endpoint(
    at: &str,
    props: Option<&Yaml>,
    resources: &serde_norway::Mapping,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let read = LiteralTags::read(at, props, settings);
    let mut findings = read.notes.clone();
    let variants = props
        .and_then(|p| p.get("EndpointConfigName"))
        .and_then(|c| config_variants(resources, c));
    let locate = |key: &str| read.locate(at, key);
    findings.extend(check_tags(
        at, &read.tags, variants, catalog, settings, &locate,
    ));
    findings
}

/// The variants of the `AWS::SageMaker::EndpointConfig` an endpoint names, when it names one
/// of the same template (`!GetAtt X.EndpointConfigName`, `Fn::GetAtt`, or `!Ref X`) and its
/// variants are literal.
fn config_variants(resources: &serde_norway::Mapping, name: &Yaml) -> Option<Vec<VariantFacts>> {
    let logical = match name {
        Yaml::Tagged(t) if t.tag == "GetAtt" => t.value.as_str()?.split('.').next()?.to_string(),
        Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str()?.to_string(),
        Yaml::Mapping(m) => match (m.get("Fn::GetAtt"), m.get("Ref")) {
            (Some(Yaml::Sequence(s)), _) => s.first()?.as_str()?.to_string(),
            (Some(Yaml::String(s)), _) => s.split('.').next()?.to_string(),
            (_, Some(Yaml::String(s))) => s.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let config = resources.get(logical.as_str())?;
    if config.get("Type").and_then(Yaml::as_str) != Some("AWS::SageMaker::EndpointConfig") {
        return None;
    }
    let properties = config.get("Properties")?;
    // Shadow variants are variants like the others (docs/aws-behaviour.md §8).
    let shadows = properties
        .get("ShadowProductionVariants")
        .and_then(Yaml::as_sequence)
        .map(|s| s.as_slice())
        .unwrap_or_default();
    properties
        .get("ProductionVariants")?
        .as_sequence()?
        .iter()
        .chain(shadows)
        .map(|v| {
            let name = v.get("VariantName")?.as_str()?.to_string();
            let kind = match v.get("ServerlessConfig") {
                Some(s) => VariantKind::Serverless {
                    provisioned_concurrency: s
                        .get("ProvisionedConcurrency")
                        .and_then(Yaml::as_i64)
                        .and_then(|n| i32::try_from(n).ok()),
                },
                None => VariantKind::Instances {
                    instance_type: v
                        .get("InstanceType")
                        .and_then(Yaml::as_str)
                        .map(str::to_string),
                },
            };
            Some(VariantFacts { name, kind })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<Finding> {
        check_template("t.yaml", text, &Catalog::builtin(), &Settings::default())
    }

    const CONFIG: &str = r#"
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InstanceType: ml.m5.large
          InitialInstanceCount: 1
"#;

    #[test]
    fn short_form_intrinsics_parse_and_intrinsic_values_are_notes() {
        let text = format!(
            r#"
AWSTemplateFormatVersion: "2010-09-09"
Resources:
{CONFIG}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - Key: autoscaling:template
          Value: default
        - Key: autoscaling:max-capacity
          Value: !Ref MaxParam
        - Key: team
          Value: !Sub "${{AWS::StackName}}-ml"
"#
        );
        let f = check(&text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].severity, Severity::Note);
        assert_eq!(
            f[0].location,
            "t.yaml: Resources.Endpoint.Properties.Tags[1]"
        );
        assert!(f[0].message.contains("intrinsic value (!Ref)"), "{f:?}");
    }

    #[test]
    fn problems_are_located_at_their_tag_and_use_the_config_variants() {
        let text = format!(
            r#"
Resources:
{CONFIG}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: {{"Fn::GetAtt": ["Config", "EndpointConfigName"]}}
      Tags:
        - {{Key: autoscaling:template, Value: default}}
        - {{Key: autoscaling:max-capcity, Value: 5}}
        - {{Key: "autoscaling:variant:Blue:min-capacity", Value: "1"}}
"#
        );
        let f = check(&text);
        let errors: Vec<_> = f.iter().filter(|f| f.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 2, "{f:?}");
        assert!(errors.iter().any(|e| e.location.ends_with("Tags[1]")
            && e.message.contains("did you mean `max-capacity`")));
        assert!(errors.iter().any(|e| {
            e.location.ends_with("Tags[2]")
                && e.message
                    .contains("no variant `Blue` (its variants: AllTraffic)")
        }));
    }

    #[test]
    fn a_tag_naming_a_shadow_variant_is_valid() {
        let text = r#"
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - {VariantName: AllTraffic, ModelName: m, InstanceType: ml.m5.large, InitialInstanceCount: 1}
      ShadowProductionVariants:
        - {VariantName: Shadow, ModelName: m2, InstanceType: ml.trn1.2xlarge, InitialInstanceCount: 1}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - {Key: autoscaling:template, Value: default}
        - {Key: "autoscaling:variant:Shadow:template", Value: "off"}
"#;
        let f = check(text);
        assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:?}");
    }

    #[test]
    fn unknown_variants_are_assumed_and_said() {
        let tags = vec![("autoscaling:template".to_string(), "default".to_string())];
        let f = check_tags(
            "tags",
            &tags,
            None,
            &Catalog::builtin(),
            &Settings::default(),
            &|_| "tags".into(),
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("checked as instance-based variant(s) AllTraffic")
        );
    }

    #[test]
    fn broken_yaml_and_templates_without_endpoints() {
        assert!(
            check("Resources: [")
                .first()
                .unwrap()
                .message
                .starts_with("not a valid template")
        );
        assert_eq!(
            check("Resources: {}")[0].message,
            "no AWS::SageMaker::Endpoint or AWS::SageMaker::InferenceComponent resources"
        );
    }

    #[test]
    fn inference_component_tags_are_checked_with_the_ic_rules() {
        let f = check(
            r#"
Resources:
  Llama:
    Type: AWS::SageMaker::InferenceComponent
    Properties:
      InferenceComponentName: llama-ic
      EndpointName: !Ref Endpoint
      Tags:
        - Key: autoscaling:template
          Value: default
        - Key: autoscaling:min-capacity
          Value: "0"
        - Key: autoscaling:variant:AllTraffic:max-capacity
          Value: "2"
  Mistral:
    Type: AWS::SageMaker::InferenceComponent
    Properties:
      Tags:
        - Key: autoscaling:template
          Value: ic-invocations
        - Key: autoscaling:min-capacity
          Value: "0"
"#,
        );
        let errors: Vec<_> = f.iter().filter(|f| f.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 2, "{f:?}");
        assert!(errors.iter().any(
            |e| e.location.ends_with("Resources.Llama.Properties.Tags[0]")
                && e.message.contains("template `default`")
                && e.message.contains("inference component `llama-ic`")
        ));
        assert!(errors.iter().any(
            |e| e.location.ends_with("Resources.Llama.Properties.Tags[2]")
                && e.message.contains("per-variant tags are for endpoints")
        ));
        assert!(!f.iter().any(|x| x.location.contains("Mistral")), "{f:?}");
    }
}
