//! The JSON an invocation returns: what scaletag decided and did for one endpoint.

use serde::Serialize;

use crate::diff::{Action, VariantPlan};
use crate::policy::Dimension;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Writes were made to match the template.
    Applied,
    /// Everything already matched: no write at all.
    Unchanged,
    /// Not scaletag's to act on (not opted in, not InService, gone).
    Skipped,
    /// `off`: scaletag's policies were removed.
    Detached,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub endpoint: String,
    pub outcome: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub variants: Vec<VariantOutcome>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantOutcome {
    pub variant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The scheduled actions that own the target's capacity bounds; scaletag leaves them be.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounds_held_by: Vec<String>,
    pub actions: Vec<Action>,
}

impl Outcome {
    pub fn skipped(endpoint: &str, reason: impl Into<String>) -> Outcome {
        Outcome {
            endpoint: endpoint.to_string(),
            outcome: Kind::Skipped,
            reason: Some(reason.into()),
            variants: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The outcome of carrying out `plans`; `detaching` says whether the endpoint was `off`.
    pub fn from_plans(endpoint: &str, detaching: bool, plans: &[VariantPlan]) -> Outcome {
        let wrote = plans.iter().any(|p| !p.actions.is_empty());
        let outcome = match (wrote, detaching) {
            (false, _) => Kind::Unchanged,
            (true, false) => Kind::Applied,
            (true, true) => Kind::Detached,
        };
        Outcome {
            endpoint: endpoint.to_string(),
            outcome,
            reason: None,
            variants: plans
                .iter()
                .map(|p| VariantOutcome {
                    variant: p.variant.clone(),
                    resource_id: p.key.as_ref().map(|k| k.resource_id.clone()),
                    dimension: p.key.as_ref().map(|k| k.dimension),
                    template: p.template.clone(),
                    skipped: p.skipped.clone(),
                    bounds_held_by: p.bounds_held_by.clone(),
                    actions: p.actions.clone(),
                })
                .collect(),
            warnings: plans.iter().flat_map(|p| p.warnings.clone()).collect(),
        }
    }

    pub fn write_count(&self) -> usize {
        self.variants.iter().map(|v| v.actions.len()).sum()
    }
}
