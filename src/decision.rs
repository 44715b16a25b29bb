//! What scaletag decides for one resource from what the reads found: pure, synchronous, the
//! same answer every time, for every kind of resource. The shell (`reconcile`) reads, calls
//! [`decide`], and writes what it returns; a dry run prints it instead.

use crate::catalog::Catalog;
use crate::desire::{self, Desired, Rejection, Settings};
use crate::diff::{self, Action, Current, TargetKey, VariantChanges};
use crate::outcome::{Outcome, Skip};
use crate::resource::{ComponentFacts, Facts, Subject};

/// What decides a resource's desired state.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// The resource's own tags (the Lambda, `apply`, `sweep`).
    FromTags,
    /// These tags instead of the resource's (`plan --tags`): a preview before tagging.
    Tags(&'a [(String, String)]),
    /// Remove what scaletag manages, whatever the tags say (`detach`, clean-up).
    Detach,
}

/// Everything the reads found about one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub facts: Facts,
    /// The tags that decide (the resource's own, or those of [`Intent::Tags`]).
    pub tags: Vec<(String, String)>,
    /// What Application Auto Scaling (and CloudWatch) hold for its units.
    pub current: Current,
}

/// Every write decided for one resource; the shell carries them out.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub subject: Subject,
    pub detaching: bool,
    pub variants: Vec<VariantChanges>,
}

impl Changes {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.variants.iter().flat_map(|v| &v.actions)
    }

    /// The outcome these changes have once carried out (or would have, in a dry run).
    pub fn outcome(&self) -> Outcome {
        Outcome::from_changes(self.subject.clone(), self.detaching, &self.variants)
    }

    /// The targets whose ownership the decision depends on but the reads did not establish:
    /// read their tags, fill in [`crate::diff::CurrentTarget::owned`], and decide again.
    pub fn owner_unknown(&self) -> Vec<TargetKey> {
        self.variants
            .iter()
            .filter_map(|v| v.owner_unknown.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing to change: not opted in, not InService, gone.
    Skip(Outcome),
    Ready(Changes),
}

/// What the tags say before Application Auto Scaling is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Early {
    /// Not opted in (no `P:template` tag, and no tag problem to report): stop here, so that a
    /// resource not opted in costs no AAS call. The same rule [`decide`] applies.
    NotOptedIn(Outcome),
    /// Read on; `wants_zero` when the tags ask for scale to zero, so that what only that
    /// needs is read only then.
    Read { wants_zero: bool },
}

/// [`Early`], asked as soon as the resource is known.
pub fn early(
    facts: &Facts,
    tags: &[(String, String)],
    intent: Intent<'_>,
    catalog: &Catalog,
    settings: &Settings,
) -> Early {
    if matches!(intent, Intent::Detach) {
        return Early::Read { wants_zero: false };
    }
    match desire::desire(facts, tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => {
            Early::NotOptedIn(Outcome::skipped(facts.subject(), Skip::NotOptedIn, reason))
        }
        Ok(desired) => Early::Read {
            wants_zero: desired.wants_zero(),
        },
        Err(_) => Early::Read { wants_zero: false },
    }
}

/// The writes that make AAS (and CloudWatch) match what the tags (or the intent) ask.
pub fn decide(
    reading: &Reading,
    intent: Intent<'_>,
    catalog: &Catalog,
    settings: &Settings,
) -> Result<Decision, Rejection> {
    let facts = &reading.facts;
    let desired = match intent {
        Intent::Detach => Desired::Detach,
        Intent::FromTags | Intent::Tags(_) => {
            desire::desire(facts, &reading.tags, catalog, settings)?
        }
    };
    if let Desired::NotOptedIn { reason } = desired {
        return Ok(Decision::Skip(Outcome::skipped(
            facts.subject(),
            Skip::NotOptedIn,
            reason,
        )));
    }
    let mut variants = diff::diff(&facts.units(), &desired, &reading.current);
    if let Facts::Component(c) = facts
        && desired.wants_zero()
        && let (Some(warning), Some(changes)) = (zero_warning(c), variants.first_mut())
    {
        changes.warnings.push(warning);
    }
    Ok(Decision::Ready(Changes {
        subject: facts.subject(),
        detaching: desired == Desired::Detach,
        variants,
    }))
}

/// When the IC may go to 0 copies but its endpoint keeps instances: what the user should know.
fn zero_warning(facts: &ComponentFacts) -> Option<String> {
    let keeps = match facts.min_instances {
        Some(0) => return None,
        Some(min) => format!("keeps ManagedInstanceScaling.MinInstanceCount = {min}"),
        None => "sets no ManagedInstanceScaling.MinInstanceCount of 0".into(),
    };
    Some(format!(
        "inference component `{}` may scale to 0 copies, but the instances of endpoint `{}` cannot follow: \
         its variant `{}` {keeps} (set it to 0 to pay for no instance while idle)",
        facts.name, facts.endpoint, facts.variant
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{EndpointFacts, VariantFacts, VariantKind};

    fn reading(tags: &[(&str, &str)]) -> Reading {
        Reading {
            facts: Facts::Endpoint(EndpointFacts {
                name: "ep".into(),
                variants: vec![VariantFacts {
                    name: "A".into(),
                    kind: VariantKind::Instances {
                        instance_type: Some("ml.m5.large".into()),
                    },
                }],
            }),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            current: Current::default(),
        }
    }

    fn run(r: &Reading, intent: Intent<'_>) -> Result<Decision, Rejection> {
        decide(r, intent, &Catalog::builtin(), &Settings::default())
    }

    #[test]
    fn the_early_exit_is_the_decision_not_opted_in() {
        let c = Catalog::builtin();
        let s = Settings::default();
        for tags in [
            vec![],
            vec![("team", "ml")],
            vec![("autoscaling:max-capacity", "3")],
        ] {
            let r = reading(&tags);
            let Early::NotOptedIn(skip) = early(&r.facts, &r.tags, Intent::FromTags, &c, &s) else {
                panic!("{tags:?}")
            };
            assert_eq!(run(&r, Intent::FromTags), Ok(Decision::Skip(skip)));
        }
        // A tag problem is not an early exit: it is reported.
        let r = reading(&[("autoscaling:max-capcity", "3")]);
        assert!(matches!(
            early(&r.facts, &r.tags, Intent::FromTags, &c, &s),
            Early::Read { .. }
        ));
        assert!(run(&r, Intent::FromTags).is_err());
        // Detaching needs no tag at all.
        let r = reading(&[]);
        assert!(matches!(
            early(&r.facts, &r.tags, Intent::Detach, &c, &s),
            Early::Read { .. }
        ));
    }

    #[test]
    fn an_opted_in_endpoint_gets_its_writes() {
        let r = reading(&[("autoscaling:template", "default")]);
        let Ok(Decision::Ready(changes)) = run(&r, Intent::FromTags) else {
            panic!("not ready")
        };
        assert!(!changes.detaching);
        assert_eq!(changes.actions().count(), 2);
        assert!(changes.owner_unknown().is_empty());
        let Ok(Decision::Ready(changes)) = run(&r, Intent::Detach) else {
            panic!("not ready")
        };
        assert!(changes.detaching);
    }
}
