//! What scaletag decides for one endpoint from what the reads found: pure, synchronous, the
//! same answer every time. The shell (`reconcile`) reads, calls [`decide`], and writes what it
//! returns; a dry run prints it instead.

use crate::catalog::Catalog;
use crate::desire::{self, Desired, EndpointFacts, Rejection, Settings};
use crate::diff::{self, Action, Current, TargetKey, VariantChanges};
use crate::outcome::Outcome;

/// What decides an endpoint's desired state.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// The endpoint's own tags (the Lambda, `apply`, `sweep`).
    FromTags,
    /// These tags instead of the endpoint's (`plan --tags`): a preview before tagging.
    Tags(&'a [(String, String)]),
    /// Remove what scaletag manages, whatever the tags say (`detach`).
    Detach,
}

/// Everything the reads found about one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub facts: EndpointFacts,
    /// The tags that decide (the endpoint's own, or those of [`Intent::Tags`]).
    pub tags: Vec<(String, String)>,
    /// What Application Auto Scaling holds for the endpoint's variants.
    pub current: Current,
}

/// Every write decided for one endpoint; the shell carries them out.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointChanges {
    pub endpoint: String,
    /// The inference component these changes are for, when they are for one.
    pub component: Option<String>,
    pub detaching: bool,
    pub variants: Vec<VariantChanges>,
}

impl EndpointChanges {
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.variants.iter().flat_map(|v| &v.actions)
    }

    /// The outcome these changes have once carried out (or would have, in a dry run).
    pub fn outcome(&self) -> Outcome {
        let mut outcome = Outcome::from_changes(&self.endpoint, self.detaching, &self.variants);
        outcome.inference_component = self.component.clone();
        outcome
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
    Ready(EndpointChanges),
}

/// Whether scaletag stops before reading Application Auto Scaling: the endpoint is not opted
/// in (no `P:template` tag, and no tag problem to report). The same rule [`decide`] applies,
/// asked as soon as the endpoint's variants are known, so that an endpoint that is not opted
/// in costs no AAS call.
pub fn not_opted_in(
    facts: &EndpointFacts,
    tags: &[(String, String)],
    intent: Intent<'_>,
    catalog: &Catalog,
    settings: &Settings,
) -> Option<Outcome> {
    if matches!(intent, Intent::Detach) {
        return None;
    }
    match desire::desire(facts, tags, catalog, settings) {
        Ok(Desired::NotOptedIn { reason }) => Some(Outcome::skipped(&facts.name, reason)),
        _ => None,
    }
}

/// The writes that make Application Auto Scaling match what the tags (or the intent) ask.
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
        return Ok(Decision::Skip(Outcome::skipped(&facts.name, reason)));
    }
    Ok(Decision::Ready(EndpointChanges {
        endpoint: facts.name.clone(),
        component: None,
        detaching: desired == Desired::Detach,
        variants: diff::diff(&facts.units(), &desired, &reading.current),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desire::{VariantFacts, VariantKind};

    fn reading(tags: &[(&str, &str)]) -> Reading {
        Reading {
            facts: EndpointFacts {
                name: "ep".into(),
                variants: vec![VariantFacts {
                    name: "A".into(),
                    kind: VariantKind::Instances {
                        instance_type: Some("ml.m5.large".into()),
                    },
                }],
            },
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
            let early = not_opted_in(&r.facts, &r.tags, Intent::FromTags, &c, &s);
            assert!(early.is_some(), "{tags:?}");
            assert_eq!(
                run(&r, Intent::FromTags),
                Ok(Decision::Skip(early.unwrap()))
            );
        }
        // A tag problem is not an early exit: it is reported.
        let r = reading(&[("autoscaling:max-capcity", "3")]);
        assert!(not_opted_in(&r.facts, &r.tags, Intent::FromTags, &c, &s).is_none());
        assert!(run(&r, Intent::FromTags).is_err());
        // Detaching needs no tag at all.
        let r = reading(&[]);
        assert!(not_opted_in(&r.facts, &r.tags, Intent::Detach, &c, &s).is_none());
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
