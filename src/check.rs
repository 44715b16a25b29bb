//! Offline validation, no AWS access: a tag set, and the tags of every
//! `AWS::SageMaker::Endpoint` and `AWS::SageMaker::InferenceComponent` in a CloudFormation or
//! SAM template, so a typo fails CI before it is deployed. The same `desire::desire` as
//! the function itself decides what is wrong (all in `desire_of`); the
//! template is read by `cfn`, and the findings are written for tools by `findings_format`.

use serde::Serialize;
use serde_norway::Value as Yaml;

use crate::catalog::Catalog;
use crate::cfn::{self, ConditionChoice};
use crate::desire::{self, Desired, Rejection, Settings};
use crate::resource::{ComponentFacts, EndpointFacts, Facts, VariantFacts, VariantKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Would reject the endpoint: nothing would be applied.
    Error,
    /// Valid, but it will not do what it seems to (two owners of one scalable target).
    Warning,
    /// Worth knowing, not wrong (an intrinsic value, assumptions made).
    Note,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `file: path`, as people read it.
    pub location: String,
    /// The same, as fields for tools: the template file, the path in it, the line (from 1)
    /// of the offending tag where it can be found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub severity: Severity,
    pub message: String,
}

impl Finding {
    pub fn new(
        location: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            location: location.into(),
            file: None,
            path: None,
            line: None,
            severity,
            message: message.into(),
        }
    }
}

/// The one place `check` asks `desire` what the function would do with a tag set, so that
/// it judges alike.
fn desire_of(
    facts: Facts,
    tags: &[(String, String)],
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Desired, Rejection> {
    desire::desire(&facts, tags, catalog, settings)
}

/// Whether the function would skip a variant of this instance type (here, with `desire_of`,
/// so every call into `desire` is in one place).
fn is_burstable(instance_type: &str) -> bool {
    desire::is_burstable(instance_type)
}

/// The findings of a rejection, each at the tag it names (by `tag_location`) or at `location`.
fn rejected(
    location: &str,
    rejection: Rejection,
    tag_location: &dyn Fn(&str) -> String,
) -> impl Iterator<Item = Finding> {
    rejection.problems.into_iter().map(move |p| {
        let at = p
            .tag
            .as_ref()
            .map(|(k, _)| tag_location(k))
            .unwrap_or_else(|| location.to_string());
        Finding::new(at, Severity::Error, p.to_string())
    })
}

/// Fills each finding's `file`, `path` and `line` from its location and the template's text:
/// the line of the tag the message names (its key, searched from the resource's own line), or
/// of the resource.
fn locate_lines(file: &str, text: &str, findings: &mut [Finding]) {
    let lines: Vec<&str> = text.lines().collect();
    for f in findings {
        f.file = Some(file.to_string());
        let Some(path) = f.location.strip_prefix(&format!("{file}: ")) else {
            continue;
        };
        f.path = Some(path.to_string());
        let Some(id) = path
            .strip_prefix("Resources.")
            .and_then(|p| p.split('.').next())
        else {
            continue;
        };
        let key = f
            .message
            .strip_prefix("tag `")
            .and_then(|m| m.split('`').next());
        f.line = cfn::resource_line(&lines, id, key);
    }
}

/// Checks a tag set. With `variants` unknown, the variants its tags name are assumed to
/// exist and to be instance-based (said in a note).
pub fn check_tags(
    location: &str,
    tags: &[(String, String)],
    variants: Option<Vec<VariantFacts>>,
    endpoint: Option<&str>,
    catalog: &Catalog,
    settings: &Settings,
    tag_location: &dyn Fn(&str) -> String,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let variants = variants.unwrap_or_else(|| {
        let (assumed, note) = assumed_variants(location, tags, settings);
        findings.extend(note);
        assumed
    });
    let facts = EndpointFacts {
        // The template's literal EndpointName, where it gives one.
        name: endpoint.unwrap_or("checked-endpoint").to_string(),
        variants,
    };
    match desire_of(Facts::Endpoint(facts), tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => {
            findings.push(Finding::new(location, Severity::Note, reason));
        }
        // Valid, but a variant the function will skip deserves a word: it will not scale.
        Ok(Desired::Manage(variants)) => {
            findings.extend(variants.iter().filter_map(|v| match v {
                desire::VariantDesire::Skip { variant, reason } => Some(Finding::new(
                    location,
                    Severity::Note,
                    format!("variant `{variant}` will not scale: {reason}"),
                )),
                _ => None,
            }));
        }
        Ok(Desired::Detach) => {}
        Err(rejection) => findings.extend(rejected(location, rejection, tag_location)),
    }
    findings
}

/// The variants a tag set names (`AllTraffic` when it names none), assumed instance-based when
/// the endpoint's are unknown; with a note saying so when the tags are scaletag's.
fn assumed_variants(
    location: &str,
    tags: &[(String, String)],
    settings: &Settings,
) -> (Vec<VariantFacts>, Option<Finding>) {
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
    let note = tags
        .iter()
        .any(|(k, _)| k.starts_with(&format!("{}:", settings.tag_prefix)))
        .then(|| {
            Finding::new(
                location,
                Severity::Note,
                format!(
                    "variants unknown here; checked as instance-based variant(s) {}",
                    names.join(", ")
                ),
            )
        });
    let variants = names
        .into_iter()
        .map(|name| VariantFacts {
            name,
            kind: VariantKind::Instances {
                instance_type: None,
            },
        })
        .collect();
    (variants, note)
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
    let parameters = doc.get("Parameters").and_then(Yaml::as_mapping);
    let mut findings = Vec::new();
    let mut checked = 0;
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let at = format!("{file}: Resources.{id}.Properties.Tags");
        let Some(found) =
            check_resource(&at, id, resource, resources, parameters, catalog, settings)
        else {
            continue;
        };
        findings.extend(found);
        checked += 1;
    }
    if checked == 0 {
        findings.push(Finding::new(
            file,
            Severity::Note,
            "no AWS::SageMaker::Endpoint or AWS::SageMaker::InferenceComponent resources",
        ));
    }
    locate_lines(file, text, &mut findings);
    findings
}

/// The findings for one resource of a template, located at its tags (`at`); `None` when it is
/// neither an endpoint nor an inference component.
fn check_resource(
    at: &str,
    id: &str,
    resource: &Yaml,
    resources: &serde_norway::Mapping,
    parameters: Option<&serde_norway::Mapping>,
    catalog: &Catalog,
    settings: &Settings,
) -> Option<Vec<Finding>> {
    let props = resource.get("Properties");
    let (mut findings, kind) = match resource.get("Type").and_then(Yaml::as_str) {
        Some("AWS::SageMaker::Endpoint") => (
            check_endpoint(at, props, resources, parameters, catalog, settings),
            "EndpointName",
        ),
        Some("AWS::SageMaker::InferenceComponent") => (
            check_component(at, id, props, catalog, settings),
            "InferenceComponentName",
        ),
        _ => return None,
    };
    let name = props.and_then(|p| p.get(kind)).and_then(cfn::name_text);
    findings.extend(two_owners(
        at,
        id,
        props,
        name.as_deref(),
        resources,
        settings,
    ));
    Some(findings)
}

/// A warning for each scalable target of the template that scales the resource `id` (named
/// `name`) too, when its tags opt it in to scaletag in some stack.
fn two_owners(
    at: &str,
    id: &str,
    props: Option<&Yaml>,
    name: Option<&str>,
    resources: &serde_norway::Mapping,
    settings: &Settings,
) -> Vec<Finding> {
    let tags = props.and_then(|p| p.get("Tags"));
    let opted_in = cfn::choices(&[tags]).choices.iter().any(|choice| {
        LiteralTags::read(at, &cfn::tag_set(tags, choice), settings)
            .tags
            .iter()
            .any(|(k, v)| *k == format!("{}:template", settings.tag_prefix) && v != "off")
    });
    if !opted_in {
        return Vec::new();
    }
    other_owners(resources, id, name)
        .into_iter()
        .map(|owner| {
            Finding::new(
                at,
                Severity::Warning,
                format!(
                    "`{id}` is tagged for scaletag, and the template's `{owner}` \
                     (AWS::ApplicationAutoScaling::ScalableTarget) scales it too: two owners of one \
                     scalable target undo each other's bounds. Keep one: remove `{owner}` (and its \
                     policies), or the `{}:template` tag",
                    settings.tag_prefix
                ),
            )
        })
        .collect()
}

/// The stacks to check for the conditions in `values`, with a note when there are too many
/// conditions to check each combination of them.
fn stacks(at: &str, values: &[Option<&Yaml>]) -> (Vec<ConditionChoice>, Vec<Finding>) {
    let stacks = cfn::choices(values);
    let notes = stacks
        .uncombined
        .map(|n| {
            Finding::new(
                at,
                Severity::Note,
                format!(
                    "{n} conditions decide these tags: checked with all of them true and all \
                     false, not each of their {} combinations",
                    1u128 << n.min(127)
                ),
            )
        })
        .into_iter()
        .collect();
    (stacks.choices, notes)
}

/// The literal `P:` tags of a resource, where each sits, and notes on those with intrinsic
/// values (known only at deploy time).
struct LiteralTags {
    tags: Vec<(String, String)>,
    index_of: Vec<(String, usize)>,
    notes: Vec<Finding>,
}

impl LiteralTags {
    fn read(at: &str, items: &[(usize, Yaml)], settings: &Settings) -> LiteralTags {
        let mut out = LiteralTags {
            tags: Vec::new(),
            index_of: Vec::new(),
            notes: Vec::new(),
        };
        let lead = format!("{}:", settings.tag_prefix);
        for (i, tag) in items {
            let (Some(key), value) = (tag.get("Key").and_then(cfn::scalar), tag.get("Value"))
            else {
                continue;
            };
            match value.and_then(cfn::scalar) {
                Some(v) => {
                    out.index_of.push((key.clone(), *i));
                    out.tags.push((key, v));
                }
                None if key.starts_with(&lead) => out.notes.push(Finding::new(
                    format!("{at}[{i}]"),
                    Severity::Note,
                    format!(
                        "tag `{key}` has an intrinsic value ({}), known only at deploy time: not checked here; \
                         scaletag checks it when the resource is InService",
                        cfn::intrinsic_name(value)
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

/// The `AWS::ApplicationAutoScaling::ScalableTarget` resources of the template that scale a
/// SageMaker resource named (in their `ResourceId`) by `logical` id or by `name`: a second
/// owner of what the tags ask scaletag to own.
fn other_owners(
    resources: &serde_norway::Mapping,
    logical: &str,
    name: Option<&str>,
) -> Vec<String> {
    resources
        .iter()
        .filter(|(_, r)| {
            r.get("Type").and_then(Yaml::as_str)
                == Some("AWS::ApplicationAutoScaling::ScalableTarget")
        })
        .filter(|(_, r)| {
            let id = serde_json::to_string(&r.get("Properties").and_then(|p| p.get("ResourceId")))
                .unwrap_or_default();
            // A whole word of the resource id: a logical id is alphanumeric, a name may also
            // hold `-` (so `churn` is not `churn-v2`).
            let mentions = |word: &str, part: fn(char) -> bool| {
                id.match_indices(word).any(|(i, _)| {
                    let before = id[..i].chars().last();
                    let after = id[i + word.len()..].chars().next();
                    !before.is_some_and(part) && !after.is_some_and(part)
                })
            };
            (id.contains("endpoint/") || id.contains("inference-component/"))
                && (mentions(logical, char::is_alphanumeric)
                    || name.is_some_and(|n| mentions(n, |c| c.is_alphanumeric() || c == '-')))
        })
        .filter_map(|(id, _)| id.as_str().map(str::to_string))
        .collect()
}

/// The findings for one `AWS::SageMaker::InferenceComponent`, located at its tags.
fn check_component(
    at: &str,
    id: &str,
    props: Option<&Yaml>,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let literal = |field: &str| props.and_then(|p| p.get(field)).and_then(cfn::scalar);
    let facts = ComponentFacts {
        name: literal("InferenceComponentName").unwrap_or_else(|| id.to_string()),
        endpoint: literal("EndpointName").unwrap_or_else(|| "its endpoint".into()),
        variant: literal("VariantName").unwrap_or_default(),
        status: "InService".into(),
        min_instances: None,
    };
    let tags = props.and_then(|p| p.get("Tags"));
    let (stacks, mut findings) = stacks(at, &[tags]);
    for choice in &stacks {
        let read = LiteralTags::read(at, &cfn::tag_set(tags, choice), settings);
        findings.extend(read.notes.clone());
        match desire_of(
            Facts::Component(facts.clone()),
            &read.tags,
            catalog,
            settings,
        ) {
            Ok(Desired::NotOptedIn { reason }) => {
                findings.push(Finding::new(at, Severity::Note, reason));
            }
            Ok(_) => {}
            Err(rejection) => {
                findings.extend(rejected(at, rejection, &|k: &str| read.locate(at, k)));
            }
        }
    }
    findings.sort_by(|a, b| (&a.location, &a.message).cmp(&(&b.location, &b.message)));
    findings.dedup();
    findings
}

/// The findings for one `AWS::SageMaker::Endpoint`, located at its tags (`at`).
fn check_endpoint(
    at: &str,
    props: Option<&Yaml>,
    resources: &serde_norway::Mapping,
    parameters: Option<&serde_norway::Mapping>,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let config = props
        .and_then(|p| p.get("EndpointConfigName"))
        .and_then(|c| cfn::config_properties(resources, c));
    let name = props
        .and_then(|p| p.get("EndpointName"))
        .and_then(|n| match n {
            Yaml::String(s) => Some(s.as_str()),
            _ => None,
        });
    // Every combination of the conditions (`!If`) in the tags and the endpoint config is a
    // stack that may be deployed: a problem in any of them is a problem. One condition decides
    // the same way in both, so a shadow variant and the tag for it that share a condition
    // always come together.
    let tags = props.and_then(|p| p.get("Tags"));
    let (stacks, mut findings) = stacks(at, &[tags, config]);
    for choice in &stacks {
        let read = LiteralTags::read(at, &cfn::tag_set(tags, choice), settings);
        let config = config.and_then(|c| cfn::resolve(c, choice));
        let opted_in = read
            .tags
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{}:", settings.tag_prefix)));
        if let (Some(config), true) = (&config, opted_in) {
            findings.extend(burstable_parameters(at, config, parameters));
        }
        findings.extend(read.notes.clone());
        let locate = |key: &str| read.locate(at, key);
        findings.extend(check_tags(
            at,
            &read.tags,
            config.as_ref().and_then(cfn::config_variants),
            name,
            catalog,
            settings,
            &locate,
        ));
    }
    findings.dedup();
    findings.sort_by(|a, b| (&a.location, &a.message).cmp(&(&b.location, &b.message)));
    findings.dedup();
    findings
}

/// Notes for variants whose `InstanceType` is a template parameter (`!Ref P`) that may be a
/// burstable type, by its `AllowedValues` or its `Default`: deployed with one, the variant is
/// skipped at runtime (burstable instances cannot scale), which no literal check can see.
fn burstable_parameters(
    at: &str,
    config: &Yaml,
    parameters: Option<&serde_norway::Mapping>,
) -> Vec<Finding> {
    cfn::parameter_instance_types(config, parameters)
        .into_iter()
        .filter_map(|p| {
            let mut burstable: Vec<String> =
                p.values.into_iter().filter(|t| is_burstable(t)).collect();
            burstable.sort();
            burstable.dedup();
            if burstable.is_empty() {
                return None;
            }
            let variant = p
                .variant
                .map(|n| format!("variant `{n}`"))
                .unwrap_or_else(|| "a variant".into());
            Some(Finding::new(
                at,
                Severity::Note,
                format!(
                    "{variant} takes its InstanceType from parameter `{}`, which may be \
                     burstable ({}): deployed with one, it will not scale (burstable instances \
                     cannot be scalable targets, so scaletag skips them)",
                    p.parameter,
                    burstable.join(", ")
                ),
            ))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn check(text: &str) -> Vec<Finding> {
        check_template("t.yaml", text, &Catalog::builtin(), &Settings::default())
    }

    pub(crate) const CONFIG: &str = r#"
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InstanceType: ml.m5.large
          InitialInstanceCount: 1
"#;

    /// The findings for one endpoint on `CONFIG` with these tag items (YAML list lines).
    pub(crate) fn endpoint_with(items: &str) -> Vec<Finding> {
        check(&format!(
            r#"
Resources:
{CONFIG}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !Ref Config
      Tags:{items}
"#
        ))
    }

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

    /// MinCapacity 0 is an async endpoint's: it passes where the config has
    /// `AsyncInferenceConfig`, fails on a real-time one, and follows a conditional config
    /// into each of its branches; the queue template likewise.
    #[test]
    fn min_capacity_zero_and_the_queue_template_need_an_async_config_in_every_branch() {
        let template = |config: &str, tags: &str| {
            format!(
                r#"
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties: {config}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags: {tags}
"#
            )
        };
        let asynchronous = r#"
      ProductionVariants: [{VariantName: AllTraffic, InstanceType: ml.g5.xlarge}]
      AsyncInferenceConfig: {OutputConfig: {S3OutputPath: "s3://bucket/out"}}"#;
        let real_time = r#"
      ProductionVariants: [{VariantName: AllTraffic, InstanceType: ml.g5.xlarge}]"#;
        let zero = r#"[{Key: autoscaling:template, Value: async-backlog}, {Key: autoscaling:min-capacity, Value: "0"}]"#;
        assert!(errors(&check(&template(asynchronous, zero))).is_empty());
        let f = check(&template(real_time, zero));
        let e = errors(&f);
        assert_eq!(e.len(), 2, "{f:?}");
        assert!(
            e.iter().any(|e| e
                .message
                .contains("only an asynchronous endpoint's variants scale to 0")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|e| e.message.contains(
                "ApproximateBacklogSizePerInstance, which only asynchronous endpoints publish"
            )),
            "{e:?}"
        );
        // A config that is async in one branch only: the real-time branch is reported.
        let conditional = r#"!If
      - Queue
      - ProductionVariants: [{VariantName: AllTraffic, InstanceType: ml.g5.xlarge}]
        AsyncInferenceConfig: {OutputConfig: {S3OutputPath: "s3://bucket/out"}}
      - ProductionVariants: [{VariantName: AllTraffic, InstanceType: ml.g5.xlarge}]"#;
        assert!(!errors(&check(&template(conditional, zero))).is_empty());
        let follows = r#"[{Key: autoscaling:template, Value: !If [Queue, async-backlog, default]}, !If [Queue, {Key: autoscaling:min-capacity, Value: "0"}, !Ref AWS::NoValue]]"#;
        let f = check(&template(conditional, follows));
        assert!(errors(&f).is_empty(), "{f:?}");
    }

    pub(crate) fn errors(f: &[Finding]) -> Vec<&Finding> {
        f.iter().filter(|f| f.severity == Severity::Error).collect()
    }

    #[test]
    fn a_target_that_rebuilds_a_sub_endpoint_name_is_a_second_owner() {
        let template = |resource_id: &str| {
            format!(
                r#"
Resources:
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: !Sub ${{Env}}-churn
      EndpointConfigName: config
      Tags: [{{Key: autoscaling:template, Value: default}}]
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ResourceId: {resource_id}
"#
            )
        };
        let owners = |f: Vec<Finding>| {
            f.iter()
                .filter(|x| x.severity == Severity::Warning && x.message.contains("`Target`"))
                .count()
        };
        assert_eq!(
            owners(check(&template(
                "!Sub endpoint/${Env}-churn/variant/AllTraffic"
            ))),
            1
        );
        // Another endpoint whose name only ends the same way is not this one.
        assert_eq!(
            owners(check(&template(
                "!Sub endpoint/${Env}-churn-v2/variant/AllTraffic"
            ))),
            0
        );
        assert_eq!(
            owners(check(&template(
                "!Sub endpoint/${Other}/variant/AllTraffic"
            ))),
            0
        );
    }

    #[test]
    fn a_parameter_instance_type_that_may_be_burstable_is_noted() {
        let template = |allowed: &str, tags: &str| {
            format!(
                r#"
Parameters:
  Size:
    Type: String
    Default: ml.m5.large
    AllowedValues: {allowed}
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          InstanceType: !Ref Size
      ShadowProductionVariants:
        - VariantName: Shadow
          InstanceType: {{"Ref": "Size"}}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !Ref Config
      Tags: {tags}
"#
            )
        };
        let opted_in = "[{Key: autoscaling:template, Value: default}]";
        let f = check(&template(
            "[ml.t2.medium, ml.m5.large, ml.t2.large]",
            opted_in,
        ));
        let notes: Vec<_> = f
            .iter()
            .filter(|x| x.message.contains("from parameter `Size`"))
            .collect();
        assert_eq!(notes.len(), 2, "{f:?}");
        assert!(notes.iter().all(|n| n.severity == Severity::Note
            && n.message.contains("ml.t2.large, ml.t2.medium")
            && n.message.contains("will not scale")));
        assert!(notes[0].message.starts_with("variant `AllTraffic`"));
        assert!(notes[1].message.starts_with("variant `Shadow`"));
        assert!(errors(&f).is_empty(), "{f:?}");
        // Only burstable choices are worth a word; and only on an endpoint that opted in.
        let f = check(&template("[ml.m5.large, ml.trn1.2xlarge]", opted_in));
        assert!(!f.iter().any(|x| x.message.contains("parameter")), "{f:?}");
        let f = check(&template("[ml.t2.medium]", "[{Key: team, Value: ml}]"));
        assert!(!f.iter().any(|x| x.message.contains("parameter")), "{f:?}");
    }

    #[test]
    fn an_intrinsic_variant_name_is_not_read_as_a_literal_name() {
        let f = check(
            r#"
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: !Sub "${Env}-blue"
          InstanceType: ml.m5.large
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: churn
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - {Key: autoscaling:template, Value: default}
        - {Key: "autoscaling:variant:prod-blue:max-capacity", Value: "6"}
"#,
        );
        assert!(errors(&f).is_empty(), "{f:?}");
        assert!(
            f.iter()
                .any(|x| x.message.contains("variants unknown here")),
            "{f:?}"
        );
    }

    #[test]
    fn every_branch_of_a_conditional_tag_set_is_checked() {
        let f = check(&format!(
            r#"
Resources:
{CONFIG}
  Whole:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: whole
      EndpointConfigName: !Ref Config
      Tags: !If
        - IsProd
        - [{{Key: autoscaling:template, Value: default}}]
        - [{{Key: autoscaling:template, Value: defualt}}]
  Items:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !Ref Config
      Tags:
        - {{Key: autoscaling:template, Value: default}}
        - !If [IsProd, {{Key: autoscaling:max-capcity, Value: "8"}}, !Ref AWS::NoValue]
"#
        ));
        let e = errors(&f);
        assert_eq!(e.len(), 2, "{f:?}");
        assert!(e.iter().any(|x| x.location.contains("Resources.Whole")
            && x.message.contains("no template named `defualt`")));
        assert!(e.iter().any(
            |x| x.location.ends_with("Resources.Items.Properties.Tags[1]")
                && x.message.contains("did you mean `max-capacity`")
        ));
    }

    #[test]
    fn conditions_are_combined_and_decide_alike_in_tags_and_config() {
        // Only IsProd true with Small false sets a floor above the ceiling: neither all-true
        // nor all-false shows it.
        let f = endpoint_with(
            r#"
        - {Key: autoscaling:template, Value: default}
        - !If [IsProd, {Key: autoscaling:min-capacity, Value: "3"}, !Ref AWS::NoValue]
        - !If [Small, !Ref AWS::NoValue, {Key: autoscaling:max-capacity, Value: "2"}]"#,
        );
        let e = errors(&f);
        assert!(!e.is_empty(), "{f:?}");
        assert!(
            e.iter().all(|x| x.message.contains("MinCapacity 3")
                && x.message.contains("MaxCapacity 2")),
            "{e:?}"
        );

        // A shadow variant that exists only under a condition: a tag for it under the same
        // condition is right in every stack; an unconditional one is wrong without the shadow.
        let template = |tag: &str| {
            format!(
                r#"
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties: !If
      - Shadow
      - ProductionVariants: [{{VariantName: Main, InstanceType: ml.m5.large}}]
        ShadowProductionVariants: [{{VariantName: Trial, InstanceType: ml.m5.large}}]
      - ProductionVariants: [{{VariantName: Main, InstanceType: ml.m5.large}}]
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - {{Key: autoscaling:template, Value: default}}
        - {tag}
"#
            )
        };
        let f = check(&template(
            r#"!If [Shadow, {Key: "autoscaling:variant:Trial:max-capacity", Value: "2"}, !Ref AWS::NoValue]"#,
        ));
        assert!(errors(&f).is_empty(), "{f:?}");
        let f = check(&template(
            r#"{Key: "autoscaling:variant:Trial:max-capacity", Value: "2"}"#,
        ));
        let e = errors(&f);
        assert_eq!(e.len(), 1, "{f:?}");
        assert!(e[0].message.contains("Trial"), "{e:?}");
        assert!(e[0].location.ends_with("Tags[1]"), "{e:?}");
    }

    #[test]
    fn too_many_conditions_are_checked_at_their_extremes_and_said() {
        let items: String = (0..8)
            .map(|i| {
                format!("\n        - !If [C{i}, {{Key: team{i}, Value: a}}, !Ref AWS::NoValue]")
            })
            .collect();
        let f = endpoint_with(&format!(
            "\n        - {{Key: autoscaling:template, Value: defualt}}{items}"
        ));
        assert_eq!(errors(&f).len(), 1, "{f:?}");
        assert!(f.iter().any(|x| x.severity == Severity::Note
            && x.message.contains("8 conditions")
            && x.message.contains("256 combinations")));
    }

    #[test]
    fn literal_names_burstable_variants_and_two_owners_are_said() {
        let f = check(
            r#"
Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - {VariantName: Small, InstanceType: ml.t2.medium}
        - {VariantName: Big, InstanceType: ml.g5.xlarge}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: churn-model
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - {Key: autoscaling:template, Value: default}
  Other:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointName: other-model
      EndpointConfigName: !GetAtt Config.EndpointConfigName
      Tags:
        - {Key: autoscaling:template, Value: default}
        - {Key: "autoscaling:variant:Blue:max-capacity", Value: "2"}
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ResourceId: !Sub endpoint/${Endpoint.EndpointName}/variant/Big
      ScalableDimension: sagemaker:variant:DesiredInstanceCount
      ServiceNamespace: sagemaker
      MinCapacity: 1
      MaxCapacity: 2
"#,
        );
        let e = errors(&f);
        assert_eq!(e.len(), 1, "{f:?}");
        assert!(
            e[0].message
                .contains("endpoint `other-model` has no variant `Blue`"),
            "{f:?}"
        );
        assert!(f.iter().any(|x| x.severity == Severity::Note
            && x.message.contains("variant `Small` will not scale")
            && x.message.contains("burstable")));
        let w: Vec<_> = f
            .iter()
            .filter(|x| x.severity == Severity::Warning)
            .collect();
        assert_eq!(w.len(), 1, "{f:?}");
        assert!(w[0].message.contains("`Target`") && w[0].message.contains("two owners"));
        assert!(w[0].location.contains("Resources.Endpoint."), "{w:?}");
    }
}
