//! From a resource's facts and tags to its desired scaling state: pure, and all-or-nothing.
//!
//! One function, [`desire`], for every kind of resource: the tag contract is the same, and
//! what differs by kind (an endpoint's variants and per-variant tags, an inference
//! component's copies and scale to zero) is a `match` on [`Facts`]. Either every `P:` tag is
//! valid and every unit gets a [`VariantDesire`], or the resource is rejected with every
//! problem listed, and nothing is written.

use crate::catalog::{Catalog, Template};
use crate::policy::{self, Dimension, TargetTracking};
pub use crate::resource::{ComponentFacts, EndpointFacts, Facts, VariantFacts, VariantKind};
use crate::resource::{Scalable, Subject};
use crate::tags::{self, Choice, EndpointTags, Overrides, Problem, Tagged};
use crate::wake::Wake;

/// The operator's settings that shape every decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub tag_prefix: String,
    pub max_capacity_limit: Option<i32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tag_prefix: "autoscaling".into(),
            max_capacity_limit: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    /// No `P:template` tag: scaletag leaves the resource alone.
    NotOptedIn {
        reason: String,
    },
    /// `P:template` = `off`: remove what scaletag manages.
    Detach,
    Manage(Vec<VariantDesire>),
}

impl Desired {
    /// Whether a unit is to scale to zero and back: decided from the tags alone, before any
    /// AAS read, so that what only scale to zero needs is read only then.
    pub fn wants_zero(&self) -> bool {
        matches!(self, Desired::Manage(v) if v.iter().any(|d| matches!(d, VariantDesire::Scale(s) if s.wake.is_some())))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum VariantDesire {
    Scale(ScalingSpec),
    Skip {
        variant: String,
        reason: String,
    },
    /// The endpoint-wide template is `off` and the variant has no template of its own: remove
    /// what scaletag manages on it.
    Detach {
        variant: String,
    },
}

/// A validated scaling configuration for one unit, ready to compare and send.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingSpec {
    pub unit: Scalable,
    pub dimension: Dimension,
    pub template: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub policies: Vec<PolicySpec>,
    /// What brings the unit back from zero, when its MinCapacity is 0 and its kind needs it
    /// (docs/aws-behaviour.md §9).
    pub wake: Option<Box<Wake>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    /// Placeholders filled, overrides applied, defaults explicit (`policy::canonical`).
    pub config: TargetTracking,
}

/// The resource's tags cannot be applied; every problem is listed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct Rejection {
    pub subject: Subject,
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.len() {
            1 => f.write_str("1 problem")?,
            n => write!(f, "{n} problems")?,
        }
        write!(f, " on {}; nothing was changed:", self.subject)?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// Decides what a resource's scaling should be. Pure: no I/O, same answer every time.
pub fn desire(
    facts: &Facts,
    tags: &[(String, String)],
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Desired, Rejection> {
    let prefix = &settings.tag_prefix;
    let (parsed, mut problems) =
        tags::parse(prefix, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let desired = match facts {
        Facts::Endpoint(e) => endpoint_desire(e, &parsed, catalog, settings, &mut problems),
        Facts::Component(c) => component_desire(c, &parsed, catalog, settings, &mut problems),
    };
    if problems.is_empty() {
        return Ok(desired);
    }
    problems.sort();
    problems.dedup();
    Err(Rejection {
        subject: facts.subject(),
        problems,
    })
}

fn endpoint_desire(
    facts: &EndpointFacts,
    parsed: &EndpointTags,
    catalog: &Catalog,
    settings: &Settings,
    problems: &mut Vec<Problem>,
) -> Desired {
    problems.extend(reference_problems(facts, parsed, catalog));
    match &parsed.endpoint.template {
        None if parsed.is_empty() => Desired::NotOptedIn {
            reason: format!("no `{}:template` tag: not opted in", settings.tag_prefix),
        },
        None => Desired::NotOptedIn {
            reason: format!(
                "no `{0}:template` tag: not opted in (its other `{0}:` tags take effect only with it)",
                settings.tag_prefix
            ),
        },
        // `off` endpoint-wide detaches every variant that has no template of its own; a
        // variant's own template wins, as every per-variant tag does.
        Some(t)
            if t.value == Choice::Off
                && !parsed.variants.values().any(|o| {
                    o.template
                        .as_ref()
                        .is_some_and(|c| matches!(c.value, Choice::Template(_)))
                }) =>
        {
            Desired::Detach
        }
        Some(_) => Desired::Manage(
            facts
                .variants
                .iter()
                .filter_map(|v| variant_desire(facts, v, parsed, catalog, settings, problems))
                .collect(),
        ),
    }
}

/// Where a setting's value came from, for messages.
enum Source<'a, T> {
    Tag(&'a Tagged<T>),
    Template(&'a Tagged<Choice>, T),
}

impl<T: Copy + std::fmt::Display> Source<'_, T> {
    fn value(&self) -> T {
        match self {
            Source::Tag(t) => t.value,
            Source::Template(_, v) => *v,
        }
    }
    fn describe(&self) -> String {
        match self {
            Source::Tag(t) => format!("{} (tag `{}`)", t.value, t.key),
            Source::Template(t, v) => format!("{v} (from template `{}`)", t.raw),
        }
    }
    fn problem(&self, message: String) -> Problem {
        match self {
            Source::Tag(t) => t.problem(message),
            Source::Template(t, _) => t.problem(message),
        }
    }
}

/// An inference component's desired scaling from its parsed tags. It opts in by its own tags,
/// with the same contract as an endpoint (`P:template`, `P:min-capacity`, ..., `off`). An
/// endpoint's tags do not reach its ICs: the endpoint's templates track variant metrics, which
/// cannot drive an IC's copy count, and the ICs on one endpoint are separate models, often of
/// separate teams, each needing its own choice. Per-variant tags (`P:variant:*`) are an error
/// on an IC. Every problem is added to `problems`.
fn component_desire(
    facts: &ComponentFacts,
    parsed: &EndpointTags,
    catalog: &Catalog,
    settings: &Settings,
    problems: &mut Vec<Problem>,
) -> Desired {
    let prefix = &settings.tag_prefix;
    for (variant, o) in &parsed.variants {
        for (key, raw) in o.tags() {
            problems.push(Problem::tag(
                key,
                raw,
                format!(
                    "per-variant tags are for endpoints; inference component `{}` scales as a whole \
                     (use `{prefix}:{}` on it, without `variant:{variant}:`)",
                    facts.name,
                    key.rsplit(':').next().unwrap_or_default()
                ),
            ));
        }
    }
    let Some(choice) = &parsed.endpoint.template else {
        return Desired::NotOptedIn {
            reason: format!(
                "no `{prefix}:template` tag on the inference component: not opted in (an endpoint's tags do not apply to its inference components)"
            ),
        };
    };
    let name = match &choice.value {
        Choice::Off => return Desired::Detach,
        Choice::Template(name) => name,
    };
    let Some(template) = catalog.get(name) else {
        problems.push(unknown_template(choice, name, catalog));
        return Desired::Manage(Vec::new());
    };
    let none = Overrides::default();
    let layers = Layers {
        variant: &none,
        endpoint: &parsed.endpoint,
    };
    let fit = Fit {
        choice,
        template,
        dimension: Dimension::CopyCount,
    };
    let names = [
        ("EndpointName", facts.endpoint.as_str()),
        ("VariantName", facts.variant.as_str()),
        ("InferenceComponentName", facts.name.as_str()),
    ];
    let on = format!("inference component `{}`", facts.name);
    let unit = facts.unit();
    let spec = spec_for(&unit, &on, &layers, &fit, settings, &names, problems);
    Desired::Manage(spec.map(VariantDesire::Scale).into_iter().collect())
}

/// Tags that name what is not there: a variant the endpoint does not have, a template the
/// catalog does not hold (whether or not a variant ends up using it).
fn reference_problems(
    facts: &EndpointFacts,
    parsed: &EndpointTags,
    catalog: &Catalog,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let known: Vec<_> = facts.variants.iter().map(|v| v.name.as_str()).collect();
    for (variant, o) in &parsed.variants {
        if !known.contains(&variant.as_str()) {
            for (key, raw) in o.tags() {
                problems.push(Problem::tag(
                    key,
                    raw,
                    format!(
                        "endpoint `{}` has no variant `{variant}` (its variants: {})",
                        facts.name,
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let named = std::iter::once(&parsed.endpoint).chain(parsed.variants.values());
    for choice in named.filter_map(|o| o.template.as_ref()) {
        if let Choice::Template(t) = &choice.value
            && catalog.get(t).is_none()
        {
            problems.push(unknown_template(choice, t, catalog));
        }
    }
    problems
}

/// A variant's own tags over the endpoint's: the value of a setting, and the tag it came from.
pub(crate) struct Layers<'a> {
    pub variant: &'a Overrides,
    pub endpoint: &'a Overrides,
}

impl<'a> Layers<'a> {
    pub(crate) fn pick<T>(
        &self,
        setting: impl Fn(&'a Overrides) -> &'a Option<Tagged<T>>,
    ) -> Option<&'a Tagged<T>> {
        setting(self.variant)
            .as_ref()
            .or(setting(self.endpoint).as_ref())
    }
}

fn variant_desire(
    facts: &EndpointFacts,
    variant: &VariantFacts,
    parsed: &EndpointTags,
    catalog: &Catalog,
    settings: &Settings,
    problems: &mut Vec<Problem>,
) -> Option<VariantDesire> {
    let none = Overrides::default();
    let layers = Layers {
        variant: parsed.variants.get(&variant.name).unwrap_or(&none),
        endpoint: &parsed.endpoint,
    };
    let skip = |reason: String| {
        Some(VariantDesire::Skip {
            variant: variant.name.clone(),
            reason,
        })
    };
    let choice = layers.pick(|o| &o.template)?;
    let template_name = match &choice.value {
        Choice::Off if layers.variant.template.is_none() => {
            return Some(VariantDesire::Detach {
                variant: variant.name.clone(),
            });
        }
        Choice::Off => return skip(format!("tag `{}` is `off`", choice.key)),
        Choice::Template(name) => name,
    };
    let Some(template) = catalog.get(template_name) else {
        problems.push(unknown_template(choice, template_name, catalog));
        return None;
    };
    let dimension = match dimension_of(&variant.kind) {
        Ok(d) => d,
        Err(reason) => return skip(reason),
    };
    let unit = facts.unit(variant);
    let on = format!("variant `{}`", variant.name);
    let names = [
        ("EndpointName", facts.name.as_str()),
        ("VariantName", &variant.name),
    ];
    let fit = Fit {
        choice,
        template,
        dimension,
    };
    spec_for(&unit, &on, &layers, &fit, settings, &names, problems).map(VariantDesire::Scale)
}

/// The template a unit's tags chose, and what the unit scales.
pub(crate) struct Fit<'a> {
    pub choice: &'a Tagged<Choice>,
    pub template: &'a Template,
    pub dimension: Dimension,
}

/// One unit's validated spec from its layered tags and template, or `None` with every
/// problem added. `on` names the unit in messages; `names` fill the template's placeholders.
pub(crate) fn spec_for(
    unit: &Scalable,
    on: &str,
    layers: &Layers<'_>,
    fit: &Fit<'_>,
    settings: &Settings,
    names: &[(&str, &str)],
    problems: &mut Vec<Problem>,
) -> Option<ScalingSpec> {
    let Fit {
        choice,
        template,
        dimension,
    } = *fit;
    let before = problems.len();
    check_fit(template, choice, on, unit, dimension, problems);
    let (min, max) = capacity(
        layers,
        choice,
        template,
        on,
        (unit, dimension),
        settings,
        problems,
    );
    let target_value = layers.pick(|o| &o.target_value);
    if let Some(tv) = target_value.filter(|_| template.policies.len() > 1) {
        problems.push(one_target_for_many(tv, template));
    }
    // A placeholder this unit has no value for (`${InferenceComponentName}` on a variant).
    for name in crate::policy::PLACEHOLDERS {
        let used = template.policies.iter().any(|p| {
            serde_json::to_string(&p.config)
                .unwrap_or_default()
                .contains(&format!("${{{name}}}"))
        });
        if used && !names.iter().any(|(n, _)| *n == name) {
            problems.push(choice.problem(format!(
                "template `{}` uses ${{{name}}}, which {on} has no value for",
                template.name
            )));
        }
    }
    if problems.len() > before {
        return None;
    }
    Some(ScalingSpec {
        unit: unit.clone(),
        dimension,
        template: template.name.clone(),
        min_capacity: min,
        max_capacity: max,
        policies: policies(template, layers, names),
        // At zero, what brings it back: target tracking alone cannot (no per-unit metric).
        wake: crate::wake::for_unit(unit)
            .filter(|_| min == 0)
            .map(Box::new),
    })
}

/// What a variant scales, or why it is skipped.
fn dimension_of(kind: &VariantKind) -> Result<Dimension, String> {
    match kind {
        VariantKind::Instances {
            instance_type: Some(t),
        }
        | VariantKind::Asynchronous {
            instance_type: Some(t),
        } if is_burstable(t) => Err(format!(
            "runs on {t}, a burstable instance type that Application Auto Scaling cannot register"
        )),
        VariantKind::Instances { .. } | VariantKind::Asynchronous { .. } => {
            Ok(Dimension::InstanceCount)
        }
        VariantKind::Serverless {
            provisioned_concurrency: None,
        } => Err(
            "serverless without provisioned concurrency: SageMaker scales it on demand, there is nothing to register"
                .into(),
        ),
        VariantKind::Serverless { .. } => Ok(Dimension::ProvisionedConcurrency),
    }
}

/// MinCapacity and MaxCapacity from the tags over the template, each checked and any problem
/// named by the tag (or template) it came from.
fn capacity(
    layers: &Layers<'_>,
    choice: &Tagged<Choice>,
    template: &Template,
    on: &str,
    (unit, dimension): (&Scalable, Dimension),
    settings: &Settings,
    problems: &mut Vec<Problem>,
) -> (i32, i32) {
    let min = layers
        .pick(|o| &o.min_capacity)
        .map(Source::Tag)
        .unwrap_or(Source::Template(choice, template.min_capacity));
    let max = layers
        .pick(|o| &o.max_capacity)
        .map(Source::Tag)
        .unwrap_or(Source::Template(choice, template.max_capacity));
    let on = format!("on {on}");
    if min.value() > max.value() {
        problems.push(match (&min, &max) {
            (Source::Template(..), Source::Tag(_)) => max.problem(format!(
                "MaxCapacity {} {on} is below MinCapacity {}",
                max.value(),
                min.describe()
            )),
            _ => min.problem(format!(
                "MinCapacity {} {on} is above MaxCapacity {}",
                min.value(),
                max.describe()
            )),
        });
    }
    if let Some(limit) = settings.max_capacity_limit.filter(|l| max.value() > *l) {
        problems.push(max.problem(format!(
            "MaxCapacity {} {on} is above the operator's ceiling MAX_CAPACITY_LIMIT={limit}",
            max.describe()
        )));
    }
    // Only an asynchronous endpoint's queue holds requests while no instance runs
    // (docs/aws-behaviour.md §11); an IC's copies go to 0 by design.
    if min.value() == 0
        && dimension == Dimension::InstanceCount
        && matches!(unit, Scalable::Variant { .. })
    {
        problems.push(min.problem(format!(
            "MinCapacity 0 {on}: an instance-based variant needs at least 1 instance (only an asynchronous endpoint's variants scale to 0 instances)"
        )));
    }
    (min.value(), max.value())
}

fn one_target_for_many(tv: &Tagged<f64>, template: &Template) -> Problem {
    let names: Vec<_> = template
        .policies
        .iter()
        .map(|p| p.policy_name.as_str())
        .collect();
    tv.problem(format!(
        "template `{}` has {} policies ({}), so one target value cannot apply; \
         define a template with the targets you want",
        template.name,
        names.len(),
        names.join(", ")
    ))
}

/// The template's policies for one variant: placeholders filled, tag overrides applied,
/// defaults explicit.
fn policies(template: &Template, layers: &Layers<'_>, names: &[(&str, &str)]) -> Vec<PolicySpec> {
    let target_value = layers.pick(|o| &o.target_value);
    let in_cd = layers.pick(|o| &o.scale_in_cooldown);
    let out_cd = layers.pick(|o| &o.scale_out_cooldown);
    let disable = layers.pick(|o| &o.disable_scale_in);
    template
        .policies
        .iter()
        .map(|p| {
            let mut config = policy::fill_placeholders(&p.config, names);
            if let Some(t) = target_value {
                config.target_value = t.value;
            }
            if let Some(t) = in_cd {
                config.scale_in_cooldown = Some(t.value);
            }
            if let Some(t) = out_cd {
                config.scale_out_cooldown = Some(t.value);
            }
            if let Some(t) = disable {
                config.disable_scale_in = Some(t.value);
            }
            PolicySpec {
                name: p.policy_name.clone(),
                config: policy::canonical(&config),
            }
        })
        .collect()
}

/// Whether an instance type is burstable (the T families, `ml.t2.*` and `ml.t3.*`), which
/// Application Auto Scaling cannot register (docs/aws-behaviour.md §2). The family is the part
/// between the dots: `t` and digits only, so Trainium (`ml.trn1`, `ml.trn2`) is not burstable.
pub fn is_burstable(instance_type: &str) -> bool {
    let mut parts = instance_type.split('.');
    let (Some("ml"), Some(family)) = (parts.next(), parts.next()) else {
        return false;
    };
    family.strip_prefix('t').is_some_and(|generation| {
        !generation.is_empty() && generation.bytes().all(|b| b.is_ascii_digit())
    })
}

pub(crate) fn unknown_template(choice: &Tagged<Choice>, name: &str, catalog: &Catalog) -> Problem {
    let known: Vec<_> = catalog.names().collect();
    choice.problem(format!(
        "no template named `{name}` (known: {})",
        known.join(", ")
    ))
}

fn check_fit(
    template: &Template,
    choice: &Tagged<Choice>,
    on: &str,
    unit: &Scalable,
    dimension: Dimension,
    problems: &mut Vec<Problem>,
) {
    // A metric only asynchronous endpoints publish has no data anywhere else.
    if let Some(metric) = template.async_metric()
        && !matches!(unit, Scalable::AsyncVariant { .. })
    {
        let why = match unit {
            Scalable::Component { .. } => "has no queue",
            _ => "is on a real-time endpoint (its config has no AsyncInferenceConfig)",
        };
        problems.push(choice.problem(format!(
            "template `{}` tracks {metric}, which only asynchronous endpoints publish: {on} {why}",
            template.name
        )));
    }
    if let Some(fit) = template.metric_fit().filter(|f| *f != dimension) {
        let what = |d: Dimension| match d {
            Dimension::InstanceCount => "instance count",
            Dimension::ProvisionedConcurrency => "serverless provisioned concurrency",
            Dimension::CopyCount => "inference component copies",
        };
        problems.push(choice.problem(format!(
            "template `{}` tracks a metric for {}, but {on} scales {} ({dimension})",
            template.name,
            what(fit),
            what(dimension)
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn facts(variants: &[(&str, VariantKind)]) -> EndpointFacts {
        EndpointFacts {
            name: "ep".into(),
            variants: variants
                .iter()
                .map(|(n, k)| VariantFacts {
                    name: n.to_string(),
                    kind: k.clone(),
                })
                .collect(),
        }
    }

    fn instances() -> VariantKind {
        VariantKind::Instances {
            instance_type: Some("ml.m5.large".into()),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(f: &EndpointFacts, t: &[(&str, &str)]) -> Result<Desired, Rejection> {
        run_with(f, t, &Settings::default())
    }

    fn run_with(f: &EndpointFacts, t: &[(&str, &str)], s: &Settings) -> Result<Desired, Rejection> {
        desire(
            &Facts::Endpoint(f.clone()),
            &tags(t),
            &Catalog::builtin(),
            s,
        )
    }

    fn specs(d: Desired) -> Vec<ScalingSpec> {
        match d {
            Desired::Manage(v) => v
                .into_iter()
                .filter_map(|v| match v {
                    VariantDesire::Scale(s) => Some(s),
                    VariantDesire::Skip { .. } | VariantDesire::Detach { .. } => None,
                })
                .collect(),
            other => panic!("not managed: {other:?}"),
        }
    }

    fn problems(f: &EndpointFacts, t: &[(&str, &str)]) -> Vec<String> {
        run(f, t)
            .expect_err("rejected")
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn untagged_endpoint_is_not_opted_in() {
        let f = facts(&[("AllTraffic", instances())]);
        assert!(matches!(
            run(&f, &[("team", "ml")]),
            Ok(Desired::NotOptedIn { .. })
        ));
        match run(&f, &[("autoscaling:max-capacity", "3")]) {
            Ok(Desired::NotOptedIn { reason }) => {
                assert!(reason.contains("take effect only with it"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn default_template_on_one_variant() {
        let f = facts(&[("AllTraffic", instances())]);
        let s = specs(run(&f, &[("autoscaling:template", "default")]).unwrap());
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.unit.resource_id(), "endpoint/ep/variant/AllTraffic");
        assert_eq!(s.dimension, Dimension::InstanceCount);
        assert_eq!((s.min_capacity, s.max_capacity), (1, 4));
        assert_eq!(s.policies[0].name, "scaletag-default");
        assert_eq!(s.policies[0].config.target_value, 70.0);
        assert_eq!(s.policies[0].config.scale_out_cooldown, Some(60));
    }

    #[test]
    fn overrides_apply_variant_over_endpoint_over_template() {
        let f = facts(&[("A", instances()), ("B", instances())]);
        let s = specs(
            run(
                &f,
                &[
                    ("autoscaling:template", "default"),
                    ("autoscaling:max-capacity", "6"),
                    ("autoscaling:target-value", "120.5"),
                    ("autoscaling:scale-in-cooldown", "900"),
                    ("autoscaling:disable-scale-in", "true"),
                    ("autoscaling:variant:B:max-capacity", "2"),
                    ("autoscaling:variant:B:min-capacity", "2"),
                    ("autoscaling:variant:B:scale-out-cooldown", "0"),
                ],
            )
            .unwrap(),
        );
        assert_eq!((s[0].min_capacity, s[0].max_capacity), (1, 6));
        assert_eq!((s[1].min_capacity, s[1].max_capacity), (2, 2));
        let (a, b) = (&s[0].policies[0].config, &s[1].policies[0].config);
        assert_eq!((a.target_value, b.target_value), (120.5, 120.5));
        assert_eq!(
            (a.scale_in_cooldown, a.disable_scale_in),
            (Some(900), Some(true))
        );
        assert_eq!(
            (a.scale_out_cooldown, b.scale_out_cooldown),
            (Some(60), Some(0))
        );
    }

    #[test]
    fn variant_template_and_off() {
        let f = facts(&[("A", instances()), ("B", instances())]);
        let d = run(
            &f,
            &[
                ("autoscaling:template", "default"),
                ("autoscaling:variant:A:template", "concurrency"),
                ("autoscaling:variant:B:template", "off"),
            ],
        )
        .unwrap();
        let Desired::Manage(v) = d else { panic!() };
        match (&v[0], &v[1]) {
            (VariantDesire::Scale(a), VariantDesire::Skip { reason, .. }) => {
                assert_eq!(a.policies[0].name, "scaletag-concurrency");
                assert!(reason.contains("autoscaling:variant:B:template"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn off_detaches() {
        let f = facts(&[("A", instances())]);
        assert_eq!(
            run(&f, &[("autoscaling:template", "off")]),
            Ok(Desired::Detach)
        );
        // Even off does not hide a typo.
        assert!(
            run(
                &f,
                &[("autoscaling:template", "off"), ("autoscaling:mx", "1")]
            )
            .is_err()
        );
    }

    #[test]
    fn serverless_variants() {
        let f = facts(&[
            (
                "pc",
                VariantKind::Serverless {
                    provisioned_concurrency: Some(2),
                },
            ),
            (
                "od",
                VariantKind::Serverless {
                    provisioned_concurrency: None,
                },
            ),
        ]);
        let Desired::Manage(v) = run(&f, &[("autoscaling:template", "serverless")]).unwrap() else {
            panic!()
        };
        match (&v[0], &v[1]) {
            (VariantDesire::Scale(s), VariantDesire::Skip { reason, .. }) => {
                assert_eq!(s.dimension, Dimension::ProvisionedConcurrency);
                assert!(reason.contains("without provisioned concurrency"));
            }
            other => panic!("{other:?}"),
        }
        // An instance metric cannot drive provisioned concurrency.
        let p = problems(&f, &[("autoscaling:template", "default")]);
        assert!(
            p[0].contains("tracks a metric for instance count, but variant `pc` scales serverless"),
            "{p:?}"
        );
    }

    #[test]
    fn burstable_instances_are_skipped_with_a_reason() {
        let f = facts(&[(
            "A",
            VariantKind::Instances {
                instance_type: Some("ml.t2.medium".into()),
            },
        )]);
        let Desired::Manage(v) = run(&f, &[("autoscaling:template", "default")]).unwrap() else {
            panic!()
        };
        assert!(
            matches!(&v[0], VariantDesire::Skip { reason, .. } if reason.contains("burstable"))
        );
    }

    #[test]
    fn trainium_is_not_burstable() {
        for t in ["ml.trn1.2xlarge", "ml.trn1n.32xlarge", "ml.trn2.48xlarge"] {
            assert!(!is_burstable(t), "{t}");
            let f = facts(&[(
                "A",
                VariantKind::Instances {
                    instance_type: Some(t.into()),
                },
            )]);
            let s = specs(run(&f, &[("autoscaling:template", "default")]).unwrap());
            assert_eq!(s[0].dimension, Dimension::InstanceCount, "{t}");
        }
        for t in ["ml.t2.medium", "ml.t3.2xlarge"] {
            assert!(is_burstable(t), "{t}");
        }
        for t in ["", "ml", "ml.t", "t2.medium", "ml.tx2.large", "ml.m5.large"] {
            assert!(!is_burstable(t), "{t}");
        }
    }

    /// The rule against every hosting instance type AWS lists (the SDK's enum, generated from
    /// the SageMaker service model): exactly the T families are burstable.
    #[cfg(feature = "aws")]
    #[test]
    fn burstable_is_exactly_the_t_families_of_aws_instance_type_list() {
        use aws_sdk_sagemaker::types::ProductionVariantInstanceType as T;
        let all = T::values();
        assert!(all.len() > 100, "{}", all.len());
        let burstable: Vec<_> = all.iter().copied().filter(|t| is_burstable(t)).collect();
        assert!(
            burstable
                .iter()
                .all(|t| t.starts_with("ml.t2.") || t.starts_with("ml.t3.")),
            "{burstable:?}"
        );
        // Hosting has only the T2 family today (ml.t3 is for notebooks and training).
        assert!(burstable.contains(&"ml.t2.medium"), "{burstable:?}");
        assert!(
            all.iter().any(|t| t.starts_with("ml.trn1.")),
            "no Trainium in the list"
        );
        assert!(
            all.iter()
                .filter(|t| t.starts_with("ml.trn"))
                .all(|t| !is_burstable(t))
        );
    }

    #[test]
    fn a_variant_template_wins_over_endpoint_off() {
        let f = facts(&[("A", instances()), ("B", instances()), ("C", instances())]);
        let d = run(
            &f,
            &[
                ("autoscaling:template", "off"),
                ("autoscaling:variant:A:template", "default"),
                ("autoscaling:variant:C:template", "off"),
            ],
        )
        .unwrap();
        let Desired::Manage(v) = d else {
            panic!("{d:?}")
        };
        assert!(
            matches!(&v[0], VariantDesire::Scale(s) if s.unit.name() == "A" && s.template == "default")
        );
        assert_eq!(
            v[1],
            VariantDesire::Detach {
                variant: "B".into()
            }
        );
        assert!(
            matches!(&v[2], VariantDesire::Skip { variant, reason } if variant == "C" && reason.contains("autoscaling:variant:C:template"))
        );
        // With no variant template, `off` is a plain detach.
        assert_eq!(
            run(
                &f,
                &[
                    ("autoscaling:template", "off"),
                    ("autoscaling:variant:C:template", "off")
                ]
            ),
            Ok(Desired::Detach)
        );
    }

    #[test]
    fn placeholders_are_filled_per_variant() {
        let f = facts(&[("A", instances())]);
        let s = specs(run(&f, &[("autoscaling:template", "cpu")]).unwrap());
        let dims = s[0].policies[0]
            .config
            .customized_metric_specification
            .as_ref()
            .unwrap()
            .dimensions
            .clone()
            .unwrap();
        assert_eq!(dims[0].value, "ep");
        assert_eq!(dims[1].value, "A");
    }

    #[test]
    fn every_problem_is_reported_with_its_tag() {
        let f = facts(&[("A", instances())]);
        let p = problems(
            &f,
            &[
                ("autoscaling:template", "defualt"),
                ("autoscaling:max-capcity", "5"),
                ("autoscaling:variant:Ghost:min-capacity", "1"),
                ("autoscaling:target-value", "NaN"),
            ],
        );
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("tag `autoscaling:template` = `defualt`: no template named `defualt` (known: async-backlog, concurrency, cpu, default")));
        assert!(p.iter().any(|m| m.contains("did you mean `max-capacity`")));
        assert!(p.iter().any(|m| m.starts_with("tag `autoscaling:variant:Ghost:min-capacity` = `1`: endpoint `ep` has no variant `Ghost` (its variants: A)")));
        assert!(
            p.iter()
                .any(|m| m.starts_with("tag `autoscaling:target-value` = `NaN`"))
        );
        let msg = run(&f, &[("autoscaling:template", "nope")])
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(
                "1 problem on endpoint `ep`; nothing was changed:\n  - tag `autoscaling:template`"
            ),
            "{msg}"
        );
    }

    #[test]
    fn min_above_max_names_the_tag_at_fault() {
        let f = facts(&[("A", instances())]);
        let p = problems(
            &f,
            &[
                ("autoscaling:template", "default"),
                ("autoscaling:min-capacity", "5"),
            ],
        );
        assert_eq!(
            p,
            [
                "tag `autoscaling:min-capacity` = `5`: MinCapacity 5 on variant `A` is above MaxCapacity 4 (from template `default`)"
            ]
        );
        let p = problems(
            &f,
            &[
                ("autoscaling:template", "concurrency"),
                ("autoscaling:max-capacity", "1"),
                ("autoscaling:variant:A:min-capacity", "3"),
            ],
        );
        assert!(p[0].starts_with("tag `autoscaling:variant:A:min-capacity` = `3`: MinCapacity 3 on variant `A` is above MaxCapacity 1 (tag `autoscaling:max-capacity`)"), "{p:?}");
        let strict = Catalog::parse(r#"{"big": {"MinCapacity": 3, "MaxCapacity": 9, "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 1, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}}}"#, "t").unwrap();
        let r = desire(
            &Facts::Endpoint(f.clone()),
            &tags(&[
                ("autoscaling:template", "big"),
                ("autoscaling:max-capacity", "2"),
            ]),
            &strict,
            &Settings::default(),
        );
        assert!(r.unwrap_err().problems[0].to_string().starts_with("tag `autoscaling:max-capacity` = `2`: MaxCapacity 2 on variant `A` is below MinCapacity 3 (from template `big`)"));
    }

    /// An asynchronous endpoint's variant may go to zero instances, and then wakes on its
    /// backlog; the queue template fits it and nothing else.
    #[test]
    fn an_async_variant_scales_on_its_queue_down_to_zero() {
        let f = facts(&[(
            "AllTraffic",
            VariantKind::Asynchronous {
                instance_type: Some("ml.g5.xlarge".into()),
            },
        )]);
        let Ok(Desired::Manage(v)) = run(
            &f,
            &[
                ("autoscaling:template", "async-backlog"),
                ("autoscaling:min-capacity", "0"),
            ],
        ) else {
            panic!()
        };
        let VariantDesire::Scale(s) = &v[0] else {
            panic!("{v:?}")
        };
        assert_eq!(s.min_capacity, 0);
        assert!(matches!(s.unit, Scalable::AsyncVariant { .. }));
        let wake = s.wake.as_ref().expect("woken from zero");
        assert_eq!(wake.alarm.metric_name, "HasBacklogWithoutCapacity");
        // Above zero: no wake.
        let Ok(Desired::Manage(v)) = run(&f, &[("autoscaling:template", "async-backlog")]) else {
            panic!()
        };
        assert!(matches!(&v[0], VariantDesire::Scale(s) if s.wake.is_none()));
        // The queue template on an IC: its metric has no data there.
        let ic = Facts::Component(ComponentFacts {
            name: "llama".into(),
            endpoint: "llm".into(),
            variant: "AllTraffic".into(),
            status: "InService".into(),
            min_instances: Some(0),
        });
        let e = desire(
            &ic,
            &tags(&[("autoscaling:template", "async-backlog")]),
            &Catalog::builtin(),
            &Settings::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(
                "only asynchronous endpoints publish: inference component `llama` has no queue"
            ),
            "{e}"
        );
    }

    #[test]
    fn ceiling_and_min_zero() {
        let f = facts(&[("A", instances())]);
        let s = Settings {
            max_capacity_limit: Some(3),
            ..Settings::default()
        };
        let p = run_with(&f, &[("autoscaling:template", "default")], &s)
            .unwrap_err()
            .problems;
        assert!(p[0].to_string().contains("4 (from template `default`) on variant `A` is above the operator's ceiling MAX_CAPACITY_LIMIT=3"), "{p:?}");
        let p = run_with(
            &f,
            &[
                ("autoscaling:template", "default"),
                ("autoscaling:max-capacity", "50"),
            ],
            &s,
        )
        .unwrap_err()
        .problems;
        assert!(
            p[0].to_string()
                .starts_with("tag `autoscaling:max-capacity` = `50`")
        );
        let p = problems(
            &f,
            &[
                ("autoscaling:template", "default"),
                ("autoscaling:min-capacity", "0"),
            ],
        );
        assert!(p[0].contains("needs at least 1 instance"), "{p:?}");
        // Provisioned concurrency may go to 0.
        let sf = facts(&[(
            "S",
            VariantKind::Serverless {
                provisioned_concurrency: Some(1),
            },
        )]);
        assert!(
            run(
                &sf,
                &[
                    ("autoscaling:template", "serverless"),
                    ("autoscaling:min-capacity", "0")
                ]
            )
            .is_ok()
        );
    }

    #[test]
    fn target_value_cannot_apply_to_a_multi_policy_template() {
        let f = facts(&[("A", instances())]);
        let p = problems(
            &f,
            &[
                ("autoscaling:template", "responsive"),
                ("autoscaling:target-value", "10"),
            ],
        );
        assert!(
            p[0].contains("template `responsive` has 2 policies"),
            "{p:?}"
        );
        let s = specs(
            run(
                &f,
                &[
                    ("autoscaling:template", "responsive"),
                    ("autoscaling:scale-in-cooldown", "60"),
                ],
            )
            .unwrap(),
        );
        assert!(
            s[0].policies
                .iter()
                .all(|p| p.config.scale_in_cooldown == Some(60))
        );
    }

    #[test]
    fn deciding_is_deterministic() {
        let f = facts(&[("A", instances()), ("B", instances())]);
        let t = [("autoscaling:template", "responsive")];
        assert_eq!(run(&f, &t), run(&f, &t));
    }

    #[test]
    fn a_placeholder_the_unit_has_no_value_for_is_a_problem() {
        let catalog = Catalog::parse(
            r#"{"per-ic": {"MinCapacity": 1, "MaxCapacity": 2,
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 5.0,
                  "CustomizedMetricSpecification": {"MetricName": "X", "Namespace": "N",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": "${InferenceComponentName}"}],
                    "Statistic": "Average"}}}}"#,
            "test",
        )
        .unwrap();
        let f = facts(&[("A", instances())]);
        let e = desire(
            &Facts::Endpoint(f.clone()),
            &tags(&[("autoscaling:template", "per-ic")]),
            &catalog,
            &Settings::default(),
        )
        .unwrap_err();
        assert!(
            e.problems[0]
                .to_string()
                .contains("uses ${InferenceComponentName}, which variant `A` has no value for"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod component_tests {
    use super::*;
    use crate::decision::{Decision, Intent, Reading, decide};
    use crate::diff::{Action, Current};
    use crate::resource::Scalable;

    fn facts() -> ComponentFacts {
        ComponentFacts {
            name: "llama".into(),
            endpoint: "llm".into(),
            variant: "AllTraffic".into(),
            status: "InService".into(),
            min_instances: Some(0),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(t: &[(&str, &str)]) -> Result<Desired, Rejection> {
        desire(
            &Facts::Component(facts()),
            &tags(t),
            &Catalog::builtin(),
            &Settings::default(),
        )
    }

    fn spec(d: Desired) -> ScalingSpec {
        match d {
            Desired::Manage(mut v) => match v.remove(0) {
                VariantDesire::Scale(s) => s,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    fn problems(t: &[(&str, &str)]) -> Vec<String> {
        run(t)
            .expect_err("rejected")
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_ic_template_scales_copies() {
        let s = spec(run(&[("autoscaling:template", "ic-concurrency")]).unwrap());
        assert_eq!(s.unit.resource_id(), "inference-component/llama");
        assert_eq!(s.dimension, Dimension::CopyCount);
        assert!(s.min_capacity >= 1);
        assert_eq!(s.wake, None);
    }

    #[test]
    fn min_zero_wakes_from_zero_and_only_on_an_ic() {
        let s = spec(
            run(&[
                ("autoscaling:template", "ic-invocations"),
                ("autoscaling:min-capacity", "0"),
            ])
            .unwrap(),
        );
        assert_eq!(s.min_capacity, 0);
        let wake = s.wake.expect("woken from zero");
        assert_eq!(
            crate::wake::owner(&wake.alarm),
            Some(Scalable::Component {
                name: "llama".into()
            })
        );
    }

    #[test]
    fn variant_templates_and_variant_tags_are_errors_on_an_ic() {
        let p = problems(&[("autoscaling:template", "default")]);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("template `default`") && p[0].contains("inference component `llama`"),
            "{p:?}"
        );
        let p = problems(&[
            ("autoscaling:template", "ic-concurrency"),
            ("autoscaling:variant:AllTraffic:max-capacity", "4"),
            ("autoscaling:max-capcity", "4"),
        ]);
        assert_eq!(p.len(), 2, "every problem at once: {p:?}");
        assert!(
            p.iter()
                .any(|m| m.contains("per-variant tags are for endpoints"))
        );
        assert!(p.iter().any(|m| m.contains("did you mean `max-capacity`")));
    }

    #[test]
    fn untagged_and_off() {
        assert!(matches!(run(&[]), Ok(Desired::NotOptedIn { .. })));
        assert_eq!(run(&[("autoscaling:template", "off")]), Ok(Desired::Detach));
    }

    fn reading(t: &[(&str, &str)], current: Current) -> Reading {
        Reading {
            facts: Facts::Component(facts()),
            tags: tags(t),
            current,
        }
    }

    fn decide_actions(r: &Reading) -> (Vec<Action>, Vec<String>) {
        match decide(
            r,
            Intent::FromTags,
            &Catalog::builtin(),
            &Settings::default(),
        )
        .unwrap()
        {
            Decision::Ready(c) => (
                c.actions().cloned().collect(),
                c.variants.iter().flat_map(|v| v.warnings.clone()).collect(),
            ),
            Decision::Skip(o) => panic!("{o:?}"),
        }
    }

    #[test]
    fn zero_creates_target_policy_step_and_alarm_in_that_order() {
        let zero = [
            ("autoscaling:template", "ic-invocations"),
            ("autoscaling:min-capacity", "0"),
        ];
        let (actions, warnings) = decide_actions(&reading(&zero, Current::default()));
        let names: Vec<_> = actions.iter().map(Action::name).collect();
        assert_eq!(
            names,
            [
                "RegisterScalableTarget",
                "PutScalingPolicy",
                "PutScalingPolicy",
                "PutMetricAlarm"
            ]
        );
        assert!(matches!(
            &actions[3],
            Action::PutMetricAlarm {
                policy_from_put: true,
                ..
            }
        ));
        assert!(warnings.is_empty(), "{warnings:?}");
        // The instances cannot follow when the variant keeps instances.
        let with_floor = |min| {
            let mut f = facts();
            f.min_instances = min;
            Reading {
                facts: Facts::Component(f),
                ..reading(&zero, Current::default())
            }
        };
        let (_, warnings) = decide_actions(&with_floor(Some(1)));
        assert!(warnings[0].contains("MinInstanceCount = 1"), "{warnings:?}");
        let (_, warnings) = decide_actions(&with_floor(None));
        assert!(
            warnings[0].contains("sets no ManagedInstanceScaling"),
            "{warnings:?}"
        );
    }
}
