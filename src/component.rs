//! Inference components (ICs): from an IC's facts and its own tags to the desired scaling
//! state, and the decision. Pure, like the endpoint path it shares its rules with.
//!
//! The rule for tags: an IC opts in by its own tags, with the same contract as an endpoint
//! (`P:template`, `P:min-capacity`, ..., `off`). An endpoint's tags do not reach its ICs: the
//! endpoint's templates track variant metrics, which cannot drive an IC's copy count, and the
//! ICs on one endpoint are separate models, often of separate teams, each needing its own
//! choice. Per-variant tags (`P:variant:*`) are an error on an IC.

use crate::catalog::Catalog;
use crate::decision::{Decision, EndpointChanges, Intent};
use crate::desire::{self, Desired, Fit, Layers, Rejection, Settings, Unit, VariantDesire};
use crate::diff::{self, Current};
use crate::outcome::Outcome;
use crate::policy::Dimension;
use crate::tags::{self, Choice, Overrides, Problem};

/// What SageMaker says about one inference component (DescribeInferenceComponent, and for
/// scale to zero, DescribeEndpoint).
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentFacts {
    pub name: String,
    pub endpoint: String,
    /// The variant it runs on (optional in AWS's answer; empty when absent).
    pub variant: String,
    /// `InferenceComponentStatus`: InService, Creating, Updating, Failed, Deleting.
    pub status: String,
    /// `ManagedInstanceScaling.MinInstanceCount` of the variant it runs on, when read: with
    /// more than 0, the endpoint's instances cannot follow the IC down to zero.
    pub min_instances: Option<i32>,
}

impl ComponentFacts {
    /// Its AAS resource id (docs/aws-behaviour.md §9), with the name as given.
    pub fn resource_id(&self) -> String {
        format!("inference-component/{}", self.name)
    }

    pub fn unit(&self) -> Unit {
        Unit {
            name: self.name.clone(),
            resource_id: self.resource_id(),
        }
    }
}

/// Everything the reads found about one IC.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentReading {
    pub facts: ComponentFacts,
    pub tags: Vec<(String, String)>,
    pub current: Current,
}

/// Decides what the IC's scaling should be. Pure: every problem at once, or the desire.
pub fn desire(
    facts: &ComponentFacts,
    tags: &[(String, String)],
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Desired, Rejection> {
    let prefix = &settings.tag_prefix;
    let (parsed, mut problems) =
        tags::parse(prefix, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (variant, o) in &parsed.variants {
        for (key, raw) in desire::keys(o) {
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
    let desired = match &parsed.endpoint.template {
        None => Desired::NotOptedIn {
            reason: format!(
                "no `{prefix}:template` tag on the inference component: not opted in (an endpoint's tags do not apply to its inference components)"
            ),
        },
        Some(t) if t.value == Choice::Off => Desired::Detach,
        Some(choice) => {
            let Choice::Template(name) = &choice.value else {
                unreachable!("off is matched above")
            };
            match catalog.get(name) {
                None => {
                    problems.push(desire::unknown_template(choice, name, catalog));
                    Desired::Manage(Vec::new())
                }
                Some(template) => {
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
                    let spec = desire::spec_for(
                        &facts.unit(),
                        &on,
                        &layers,
                        &fit,
                        settings,
                        &names,
                        &mut problems,
                    );
                    Desired::Manage(
                        spec.map(|mut s| {
                            if s.min_capacity == 0 {
                                s.wake = Some(facts.name.clone());
                            }
                            VariantDesire::Scale(s)
                        })
                        .into_iter()
                        .collect(),
                    )
                }
            }
        }
    };
    Rejection::unless_problems(desired, problems, &facts.endpoint, Some(&facts.name))
}

/// Whether the IC wants scale to zero: decided from its tags alone, before any AAS read, so
/// that the endpoint's instance floor is read only when it matters.
pub fn wants_zero(desired: &Desired) -> bool {
    matches!(desired, Desired::Manage(v) if v.iter().any(|d| matches!(d, VariantDesire::Scale(s) if s.wake.is_some())))
}

/// The writes that make AAS and CloudWatch match what the IC's tags (or the intent) ask.
pub fn decide(
    reading: &ComponentReading,
    intent: Intent<'_>,
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Decision, Rejection> {
    let facts = &reading.facts;
    let desired = match intent {
        Intent::Detach => Desired::Detach,
        Intent::FromTags | Intent::Tags(_) => desire(facts, &reading.tags, catalog, settings)?,
    };
    if let Desired::NotOptedIn { reason } = &desired {
        return Ok(Decision::Skip(Outcome::skipped_component(
            &facts.endpoint,
            &facts.name,
            reason,
        )));
    }
    let mut variants = diff::diff(&[facts.unit()], &desired, &reading.current);
    if wants_zero(&desired)
        && facts.min_instances != Some(0)
        && let Some(changes) = variants.first_mut()
    {
        let keeps = match facts.min_instances {
            Some(min) => format!("keeps ManagedInstanceScaling.MinInstanceCount = {min}"),
            None => "sets no ManagedInstanceScaling.MinInstanceCount of 0".into(),
        };
        changes.warnings.push(format!(
            "inference component `{}` may scale to 0 copies, but the instances of endpoint `{}` cannot follow: \
             its variant `{}` {keeps} (set it to 0 to pay for no instance while idle)",
            facts.name, facts.endpoint, facts.variant
        ));
    }
    Ok(Decision::Ready(EndpointChanges {
        endpoint: facts.endpoint.clone(),
        component: Some(facts.name.clone()),
        detaching: desired == Desired::Detach,
        variants,
    }))
}

/// Whether an IC is worth reading AAS for: not opted in stops here, at no AAS call.
pub fn not_opted_in(
    facts: &ComponentFacts,
    tags: &[(String, String)],
    intent: Intent<'_>,
    catalog: &Catalog,
    settings: &Settings,
) -> Option<Outcome> {
    if matches!(intent, Intent::Detach) {
        return None;
    }
    match desire(facts, tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => Some(Outcome::skipped_component(
            &facts.endpoint,
            &facts.name,
            reason,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Action;

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
            &facts(),
            &tags(t),
            &Catalog::builtin(),
            &Settings::default(),
        )
    }

    fn spec(d: Desired) -> desire::ScalingSpec {
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
        assert_eq!(s.resource_id, "inference-component/llama");
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
        assert_eq!((s.min_capacity, s.wake.as_deref()), (0, Some("llama")));
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

    fn reading(t: &[(&str, &str)], current: Current) -> ComponentReading {
        ComponentReading {
            facts: facts(),
            tags: tags(t),
            current,
        }
    }

    fn decide_actions(r: &ComponentReading) -> (Vec<Action>, Vec<String>) {
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
        let mut r = reading(&zero, Current::default());
        r.facts.min_instances = Some(1);
        let (_, warnings) = decide_actions(&r);
        assert!(warnings[0].contains("MinInstanceCount = 1"), "{warnings:?}");
        r.facts.min_instances = None;
        let (_, warnings) = decide_actions(&r);
        assert!(
            warnings[0].contains("sets no ManagedInstanceScaling"),
            "{warnings:?}"
        );
    }
}
