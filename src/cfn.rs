//! A CloudFormation or SAM template as `check` reads it, with no opinion on what is wrong:
//! literal values and intrinsics (short form `!Ref` and long form `Ref` alike), the stacks its
//! conditions (`!If`, `AWS::NoValue`) may deploy, the variants of an
//! `AWS::SageMaker::EndpointConfig`, and where a resource sits in the template's text.

use std::collections::BTreeMap;

use serde_norway::Value as Yaml;

use crate::resource::{VariantFacts, VariantKind};

/// A literal tag key or value as a string; `None` for an intrinsic function.
pub fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A resource's name as the template writes it: a literal, or the string of a `!Sub` (or
/// `Fn::Sub`), which another resource that means the same name rebuilds with the same text
/// (`!Sub endpoint/${Model}-prd/variant/...` for `!Sub ${Model}-prd`).
pub fn name_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) if t.tag == "Sub" => t.value.as_str().map(str::to_string),
        Yaml::Mapping(m) if m.len() == 1 => m.get("Fn::Sub")?.as_str().map(str::to_string),
        _ => scalar(v),
    }
}

/// The name of the intrinsic function a value is (`!Ref`, `Fn::Sub`), for a message.
pub fn intrinsic_name(v: Option<&Yaml>) -> String {
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

/// The line (from 1) of resource `id` in a template's `lines`: of the first line from the
/// resource's own that holds `key` (a tag's key), or of the resource's; `None` when the
/// resource is not found.
pub fn resource_line(lines: &[&str], id: &str, key: Option<&str>) -> Option<usize> {
    let start = lines.iter().position(|l| {
        let t = l.trim_start();
        t.strip_prefix(id)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
            || t.starts_with(&format!("\"{id}\""))
    })?;
    let line = key
        .and_then(|k| {
            lines[start..]
                .iter()
                .position(|l| l.contains(k))
                .map(|i| start + i)
        })
        .unwrap_or(start);
    Some(line + 1)
}

/// At most this many distinct conditions are combined (2^6 = 64 stacks); past it, only every
/// condition true and every condition false.
pub const MAX_CONDITIONS: usize = 6;

/// Which way each named condition goes, in one stack the template may deploy.
pub type ConditionChoice = BTreeMap<String, bool>;

/// The stacks to check, as the conditions of a template decide them.
#[derive(Debug, Clone, PartialEq)]
pub struct Stacks {
    /// Which way each condition goes, in each stack.
    pub choices: Vec<ConditionChoice>,
    /// How many conditions there are when they are too many (over `MAX_CONDITIONS`) to
    /// combine: `choices` then holds only every condition true and every condition false.
    pub uncombined: Option<usize>,
}

/// Every combination of the conditions that the `!If`s (or `Fn::If`s) in `values` name, each
/// condition deciding the same way wherever it appears; only the two extremes when there are
/// too many to combine.
pub fn choices(values: &[Option<&Yaml>]) -> Stacks {
    fn names(v: &Yaml, out: &mut Vec<String>) {
        if let Some([condition, then, otherwise]) = if_branches(v) {
            out.push(condition_key(condition));
            names(then, out);
            names(otherwise, out);
            return;
        }
        match v {
            Yaml::Sequence(s) => s.iter().for_each(|x| names(x, out)),
            Yaml::Mapping(m) => m.values().for_each(|x| names(x, out)),
            Yaml::Tagged(t) => names(&t.value, out),
            _ => {}
        }
    }
    let mut all = Vec::new();
    values.iter().flatten().for_each(|v| names(v, &mut all));
    all.sort();
    all.dedup();
    let every = |way: bool| {
        all.iter()
            .map(|n| (n.clone(), way))
            .collect::<ConditionChoice>()
    };
    if all.len() > MAX_CONDITIONS {
        return Stacks {
            choices: vec![every(true), every(false)],
            uncombined: Some(all.len()),
        };
    }
    let combinations = (0..1u32 << all.len())
        .map(|bits| {
            all.iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), bits >> i & 1 == 0))
                .collect()
        })
        .collect();
    Stacks {
        choices: combinations,
        uncombined: None,
    }
}

/// A condition as `!If` names it (a string; anything else by its text).
fn condition_key(condition: &Yaml) -> String {
    scalar(condition).unwrap_or_else(|| serde_json::to_string(condition).unwrap_or_default())
}

/// The branch the stack `choice` takes, when `v` is an `!If`.
fn chosen<'a>(v: &'a Yaml, choice: &ConditionChoice) -> Option<&'a Yaml> {
    let [condition, then, otherwise] = if_branches(v)?;
    let way = choice
        .get(&condition_key(condition))
        .copied()
        .unwrap_or(true);
    Some(if way { then } else { otherwise })
}

/// `v` as the stack `choice` deploys it: every `!If` replaced by its chosen branch, and
/// `AWS::NoValue` leaving out the item or key it is; `None` when `v` itself is no value.
pub fn resolve(v: &Yaml, choice: &ConditionChoice) -> Option<Yaml> {
    if let Some(branch) = chosen(v, choice) {
        return resolve(branch, choice);
    }
    if is_no_value(v) {
        return None;
    }
    Some(match v {
        Yaml::Sequence(s) => Yaml::Sequence(s.iter().filter_map(|x| resolve(x, choice)).collect()),
        Yaml::Mapping(m) => Yaml::Mapping(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), resolve(x, choice)?)))
                .collect(),
        ),
        Yaml::Tagged(t) => Yaml::Tagged(Box::new(serde_norway::value::TaggedValue {
            tag: t.tag.clone(),
            value: resolve(&t.value, choice)?,
        })),
        other => other.clone(),
    })
}

/// The tag list a `Tags` property deploys in the stack `choice`, each item with its index in
/// the list the template writes (an `!If` around the whole list picks one of two lists).
pub fn tag_set(tags: Option<&Yaml>, choice: &ConditionChoice) -> Vec<(usize, Yaml)> {
    let Some(mut list) = tags else {
        return Vec::new();
    };
    while let Some(branch) = chosen(list, choice) {
        list = branch;
    }
    list.as_sequence()
        .map(|s| {
            s.iter()
                .enumerate()
                .filter_map(|(i, item)| Some((i, resolve(item, choice)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// `[condition, then, else]` of a `!If` or `Fn::If`.
fn if_branches(v: &Yaml) -> Option<&[Yaml; 3]> {
    let args = match v {
        Yaml::Tagged(t) if t.tag == "If" => &t.value,
        Yaml::Mapping(m) if m.len() == 1 => m.get("Fn::If")?,
        _ => return None,
    };
    args.as_sequence()?.as_slice().try_into().ok()
}

fn is_no_value(v: &Yaml) -> bool {
    match v {
        Yaml::Tagged(t) => t.tag == "Ref" && t.value.as_str() == Some("AWS::NoValue"),
        Yaml::Mapping(m) => m.get("Ref").and_then(Yaml::as_str) == Some("AWS::NoValue"),
        _ => false,
    }
}

/// The properties of the `AWS::SageMaker::EndpointConfig` an endpoint names, when it names one
/// of the same template (`!GetAtt X.EndpointConfigName`, `Fn::GetAtt`, or `!Ref X`).
pub fn config_properties<'a>(
    resources: &'a serde_norway::Mapping,
    name: &Yaml,
) -> Option<&'a Yaml> {
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
    config.get("Properties")
}

/// Every variant of an endpoint config's properties: production, then shadow variants, which
/// are variants like the others (docs/aws-behaviour.md §8).
fn all_variants(properties: &Yaml) -> impl Iterator<Item = &Yaml> {
    let list = |key| {
        properties
            .get(key)
            .and_then(Yaml::as_sequence)
            .map(|s| s.as_slice())
            .unwrap_or_default()
    };
    list("ProductionVariants")
        .iter()
        .chain(list("ShadowProductionVariants"))
}

/// A variant whose `InstanceType` is a template parameter (`!Ref P`): the instance types the
/// parameter may take, by its `AllowedValues` and its `Default`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterInstanceType<'a> {
    /// The variant's literal `VariantName`, where it has one.
    pub variant: Option<String>,
    pub parameter: &'a str,
    /// The parameter's literal `AllowedValues`, then its `Default`, as the template lists them.
    pub values: Vec<String>,
}

/// The variants of an endpoint config's properties whose `InstanceType` is a parameter the
/// template declares (in `parameters`), in the order of `all_variants`.
pub fn parameter_instance_types<'a>(
    config: &'a Yaml,
    parameters: Option<&serde_norway::Mapping>,
) -> Vec<ParameterInstanceType<'a>> {
    all_variants(config)
        .filter_map(|v| {
            let parameter = match v.get("InstanceType")? {
                Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str()?,
                Yaml::Mapping(m) => m.get("Ref")?.as_str()?,
                _ => return None,
            };
            let declared = parameters?.get(parameter)?;
            let values = declared
                .get("AllowedValues")
                .and_then(Yaml::as_sequence)
                .map(|s| s.as_slice())
                .unwrap_or_default()
                .iter()
                .chain(declared.get("Default"))
                .filter_map(scalar)
                .collect();
            Some(ParameterInstanceType {
                variant: v.get("VariantName").and_then(scalar),
                parameter,
                values,
            })
        })
        .collect()
}

/// The variants of an endpoint config's properties, when they are literal. A config with
/// `AsyncInferenceConfig` makes an asynchronous endpoint: its instance variants are async.
pub fn config_variants(properties: &Yaml) -> Option<Vec<VariantFacts>> {
    properties.get("ProductionVariants")?.as_sequence()?;
    let asynchronous = properties.get("AsyncInferenceConfig").is_some();
    all_variants(properties)
        .map(|v| {
            // A name known only at deploy time (`!Sub`, `!Ref`, `!GetAtt`): the variants are
            // not known here, and the tags are checked as if they named real ones.
            let Yaml::String(name) = v.get("VariantName")? else {
                return None;
            };
            let name = name.clone();
            let kind = match v.get("ServerlessConfig") {
                Some(s) => VariantKind::Serverless {
                    provisioned_concurrency: s
                        .get("ProvisionedConcurrency")
                        .and_then(Yaml::as_i64)
                        .and_then(|n| i32::try_from(n).ok()),
                },
                None => {
                    let instance_type = v
                        .get("InstanceType")
                        .and_then(Yaml::as_str)
                        .map(str::to_string);
                    match asynchronous {
                        true => VariantKind::Asynchronous { instance_type },
                        false => VariantKind::Instances { instance_type },
                    }
                }
            };
            Some(VariantFacts { name, kind })
        })
        .collect()
}
