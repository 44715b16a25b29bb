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
        let resource_line = lines.iter().position(|l| {
            let t = l.trim_start();
            t.strip_prefix(id)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
                || t.starts_with(&format!("\"{id}\""))
        });
        let key = f
            .message
            .strip_prefix("tag `")
            .and_then(|m| m.split('`').next());
        f.line = resource_line.map(|start| {
            key.and_then(|k| {
                lines[start..]
                    .iter()
                    .position(|l| l.contains(k))
                    .map(|i| start + i)
            })
            .unwrap_or(start)
                + 1
        });
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
        // The template's literal EndpointName, where it gives one.
        name: endpoint.unwrap_or("checked-endpoint").to_string(),
        variants,
    };
    match desire::desire(&facts, tags, catalog, settings) {
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
        let kind = match resource.get("Type").and_then(Yaml::as_str) {
            Some("AWS::SageMaker::Endpoint") => {
                let parameters = doc.get("Parameters").and_then(Yaml::as_mapping);
                findings.extend(check_endpoint(
                    &at, props, resources, parameters, catalog, settings,
                ));
                "EndpointName"
            }
            Some("AWS::SageMaker::InferenceComponent") => {
                findings.extend(check_component(&at, id, props, catalog, settings));
                "InferenceComponentName"
            }
            _ => continue,
        };
        let tags = props.and_then(|p| p.get("Tags"));
        let opted_in = choices(&at, &[tags]).0.iter().any(|choice| {
            LiteralTags::read(&at, &tag_set(tags, choice), settings)
                .tags
                .iter()
                .any(|(k, v)| *k == format!("{}:template", settings.tag_prefix) && v != "off")
        });
        let name = props.and_then(|p| p.get(kind)).and_then(name_text);
        for owner in other_owners(resources, id, name.as_deref())
            .into_iter()
            .filter(|_| opted_in)
        {
            findings.push(Finding::new(
                &at,
                Severity::Warning,
                format!(
                    "`{id}` is tagged for scaletag, and the template's `{owner}` \
                     (AWS::ApplicationAutoScaling::ScalableTarget) scales it too: two owners of one \
                     scalable target undo each other's bounds. Keep one: remove `{owner}` (and its \
                     policies), or the `{}:template` tag",
                    settings.tag_prefix
                ),
            ));
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
    locate_lines(file, text, &mut findings);
    findings
}

/// The findings as one SARIF 2.1.0 log (OASIS's Static Analysis Results Interchange Format),
/// for code-scanning services such as GitHub's (`github/codeql-action/upload-sarif`): one rule
/// per kind of finding, each result at its template file and line where they are known.
pub fn sarif(findings: &[Finding], version: &str) -> serde_json::Value {
    const RULES: [(Severity, &str, &str); 3] = [
        (
            Severity::Error,
            "rejected-tag",
            "A tag scaletag would reject at deploy: nothing would be applied to the resource.",
        ),
        (
            Severity::Warning,
            "two-owners",
            "Tagged for scaletag and scaled by the template too: two owners undo each other.",
        ),
        (
            Severity::Note,
            "note",
            "Worth knowing: values known only at deploy, variants that will not scale.",
        ),
    ];
    let rules: Vec<serde_json::Value> = RULES
        .iter()
        .map(|(severity, id, text)| {
            serde_json::json!({
                "id": id,
                "shortDescription": {"text": text},
                "defaultConfiguration": {"level": sarif_level(*severity)},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let index = RULES
                .iter()
                .position(|(s, ..)| *s == f.severity)
                .unwrap_or(0);
            let mut result = serde_json::json!({
                "ruleId": RULES[index].1,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": {"text": f.message},
            });
            if let Some(file) = &f.file {
                let mut physical = serde_json::json!({"artifactLocation": {"uri": file}});
                if let Some(line) = f.line {
                    physical["region"] = serde_json::json!({"startLine": line});
                }
                let mut location = serde_json::json!({"physicalLocation": physical});
                if let Some(path) = &f.path {
                    location["logicalLocations"] =
                        serde_json::json!([{"fullyQualifiedName": path}]);
                }
                result["locations"] = serde_json::json!([location]);
            }
            result
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scaletag",
                "version": version,
                "semanticVersion": version,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A finding as a GitHub Actions workflow command: an annotation on the template's line.
pub fn github_annotation(f: &Finding) -> String {
    fn escape(s: &str, property: bool) -> String {
        let s = s
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        if property {
            s.replace(':', "%3A").replace(',', "%2C")
        } else {
            s
        }
    }
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    };
    let mut props = Vec::new();
    if let Some(file) = &f.file {
        props.push(format!("file={}", escape(file, true)));
    }
    if let Some(line) = f.line {
        props.push(format!("line={line}"));
    }
    props.push(format!(
        "title={}",
        escape(
            &format!("scaletag: {}", f.path.as_deref().unwrap_or(&f.location)),
            true
        )
    ));
    format!(
        "::{level} {}::{}",
        props.join(","),
        escape(&f.message, false)
    )
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
            let (Some(key), value) = (tag.get("Key").and_then(scalar), tag.get("Value")) else {
                continue;
            };
            match value.and_then(scalar) {
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
    let literal = |field: &str| props.and_then(|p| p.get(field)).and_then(scalar);
    let facts = ComponentFacts {
        name: literal("InferenceComponentName").unwrap_or_else(|| id.to_string()),
        endpoint: literal("EndpointName").unwrap_or_else(|| "its endpoint".into()),
        variant: literal("VariantName").unwrap_or_default(),
        status: "InService".into(),
        min_instances: None,
    };
    let tags = props.and_then(|p| p.get("Tags"));
    let (stacks, mut findings) = choices(at, &[tags]);
    for choice in &stacks {
        let read = LiteralTags::read(at, &tag_set(tags, choice), settings);
        findings.extend(read.notes.clone());
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
    }
    findings.sort_by(|a, b| (&a.location, &a.message).cmp(&(&b.location, &b.message)));
    findings.dedup();
    findings
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

/// A resource's name as the template writes it: a literal, or the string of a `!Sub` (or
/// `Fn::Sub`), which another resource that means the same name rebuilds with the same text
/// (`!Sub endpoint/${Model}-prd/variant/...` for `!Sub ${Model}-prd`).
fn name_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) if t.tag == "Sub" => t.value.as_str().map(str::to_string),
        Yaml::Mapping(m) if m.len() == 1 => m.get("Fn::Sub")?.as_str().map(str::to_string),
        _ => scalar(v),
    }
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
    parameters: Option<&serde_norway::Mapping>,
    catalog: &Catalog,
    settings: &Settings,
) -> Vec<Finding> {
    let config = props
        .and_then(|p| p.get("EndpointConfigName"))
        .and_then(|c| config_properties(resources, c));
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
    let (stacks, mut findings) = choices(at, &[tags, config]);
    for choice in &stacks {
        let read = LiteralTags::read(at, &tag_set(tags, choice), settings);
        let config = config.and_then(|c| resolve(c, choice));
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
            config.as_ref().and_then(config_variants),
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

/// At most this many distinct conditions are combined (2^6 = 64 stacks); past it, only every
/// condition true and every condition false, which a note says.
const MAX_CONDITIONS: usize = 6;

/// Which way each named condition goes, in one stack the template may deploy.
type Choice = std::collections::BTreeMap<String, bool>;

/// Every combination of the conditions that the `!If`s (or `Fn::If`s) in `values` name, each
/// condition deciding the same way wherever it appears; with a note when there are too many to
/// combine.
fn choices(at: &str, values: &[Option<&Yaml>]) -> (Vec<Choice>, Vec<Finding>) {
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
    let every = |way: bool| all.iter().map(|n| (n.clone(), way)).collect::<Choice>();
    if all.len() > MAX_CONDITIONS {
        let note = Finding::new(
            at,
            Severity::Note,
            format!(
                "{} conditions decide these tags: checked with all of them true and all false, \
                 not each of their {} combinations",
                all.len(),
                1u128 << all.len().min(127)
            ),
        );
        return (vec![every(true), every(false)], vec![note]);
    }
    let combinations = (0..1u32 << all.len())
        .map(|bits| {
            all.iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), bits >> i & 1 == 0))
                .collect()
        })
        .collect();
    (combinations, Vec::new())
}

/// A condition as `!If` names it (a string; anything else by its text).
fn condition_key(condition: &Yaml) -> String {
    scalar(condition).unwrap_or_else(|| serde_json::to_string(condition).unwrap_or_default())
}

/// The branch the stack `choice` takes, when `v` is an `!If`.
fn chosen<'a>(v: &'a Yaml, choice: &Choice) -> Option<&'a Yaml> {
    let [condition, then, otherwise] = if_branches(v)?;
    let way = choice
        .get(&condition_key(condition))
        .copied()
        .unwrap_or(true);
    Some(if way { then } else { otherwise })
}

/// `v` as the stack `choice` deploys it: every `!If` replaced by its chosen branch, and
/// `AWS::NoValue` leaving out the item or key it is; `None` when `v` itself is no value.
fn resolve(v: &Yaml, choice: &Choice) -> Option<Yaml> {
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
fn tag_set(tags: Option<&Yaml>, choice: &Choice) -> Vec<(usize, Yaml)> {
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
fn config_properties<'a>(resources: &'a serde_norway::Mapping, name: &Yaml) -> Option<&'a Yaml> {
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

/// Notes for variants whose `InstanceType` is a template parameter (`!Ref P`) that may be a
/// burstable type, by its `AllowedValues` or its `Default`: deployed with one, the variant is
/// skipped at runtime (burstable instances cannot scale), which no literal check can see.
fn burstable_parameters(
    at: &str,
    config: &Yaml,
    parameters: Option<&serde_norway::Mapping>,
) -> Vec<Finding> {
    all_variants(config)
        .filter_map(|v| {
            let parameter = match v.get("InstanceType")? {
                Yaml::Tagged(t) if t.tag == "Ref" => t.value.as_str()?,
                Yaml::Mapping(m) => m.get("Ref")?.as_str()?,
                _ => return None,
            };
            let declared = parameters?.get(parameter)?;
            let mut burstable: Vec<String> = declared
                .get("AllowedValues")
                .and_then(Yaml::as_sequence)
                .map(|s| s.as_slice())
                .unwrap_or_default()
                .iter()
                .chain(declared.get("Default"))
                .filter_map(scalar)
                .filter(|t| desire::is_burstable(t))
                .collect();
            burstable.sort();
            burstable.dedup();
            if burstable.is_empty() {
                return None;
            }
            let variant = v
                .get("VariantName")
                .and_then(scalar)
                .map(|n| format!("variant `{n}`"))
                .unwrap_or_else(|| "a variant".into());
            Some(Finding::new(
                at,
                Severity::Note,
                format!(
                    "{variant} takes its InstanceType from parameter `{parameter}`, which may be \
                     burstable ({}): deployed with one, it will not scale (burstable instances \
                     cannot be scalable targets, so scaletag skips them)",
                    burstable.join(", ")
                ),
            ))
        })
        .collect()
}

/// The variants of an endpoint config's properties, when they are literal.
fn config_variants(properties: &Yaml) -> Option<Vec<VariantFacts>> {
    properties.get("ProductionVariants")?.as_sequence()?;
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

    /// The findings for one endpoint on `CONFIG` with these tag items (YAML list lines).
    fn endpoint_with(items: &str) -> Vec<Finding> {
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

    fn errors(f: &[Finding]) -> Vec<&Finding> {
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
    fn sarif_results_name_their_rule_and_place() {
        let f = endpoint_with("\n        - {Key: autoscaling:template, Value: defualt}");
        let mut all = f.clone();
        all.push(Finding::new("--tags", Severity::Note, "no file"));
        let log = sarif(&all, "9.9.9");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let results = run["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), all.len());
        for r in &results {
            let rule = &rules[r["ruleIndex"].as_u64().unwrap_or(99) as usize];
            assert_eq!(rule["id"], r["ruleId"]);
            assert_eq!(rule["defaultConfiguration"]["level"], r["level"]);
        }
        let error = &results[0];
        assert_eq!(error["ruleId"], "rejected-tag");
        assert_eq!(
            error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "t.yaml"
        );
        assert_eq!(
            error["locations"][0]["physicalLocation"]["region"]["startLine"],
            18
        );
        // A finding with no file (a --tags check) is a result without a location.
        assert!(results.last().is_some_and(|r| r.get("locations").is_none()));
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

    #[test]
    fn findings_carry_file_path_and_line_and_read_as_github_annotations() {
        let text = format!(
            r#"Resources:
{CONFIG}
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !Ref Config
      Tags:
        - Key: autoscaling:template
          Value: default
        - Key: autoscaling:max-capcity
          Value: "5"
"#
        );
        let f = check(&text);
        let e = errors(&f);
        assert_eq!(e.len(), 1, "{f:?}");
        let line = text
            .lines()
            .position(|l| l.contains("max-capcity"))
            .unwrap()
            + 1;
        assert_eq!(e[0].file.as_deref(), Some("t.yaml"));
        assert_eq!(
            e[0].path.as_deref(),
            Some("Resources.Endpoint.Properties.Tags[1]")
        );
        assert_eq!(e[0].line, Some(line));
        let a = github_annotation(e[0]);
        assert!(
            a.starts_with(&format!(
                "::error file=t.yaml,line={line},title=scaletag%3A Resources.Endpoint.Properties.Tags[1]::tag `autoscaling:max-capcity`"
            )),
            "{a}"
        );
    }
}
