//! What scaletag reports: the JSON an invocation returns for one endpoint ([`Outcome`]), a
//! sweep's report ([`Report`]), and what `adopt` did ([`Adoption`]). Pure data.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diff::{Action, VariantChanges};
use crate::policy::Dimension;
use crate::resource::Subject;

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

/// Why a resource was left alone: what metrics, the status tag, the command line and the
/// sweep read, never the reason's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No `P:template` tag.
    NotOptedIn,
    /// Not InService, and not about to be (Failed, OutOfService, Deleting...).
    NotInService,
    /// Creating or Updating: a later look will find it settled.
    Settling,
    /// It no longer exists.
    Gone,
    /// Its tags cannot be applied (beside others that could, so the invocation goes on).
    Rejected,
    /// Cleaning up after it found it there after all.
    NotGone,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Who this is about: `endpoint`, and `inference_component` for an IC.
    #[serde(flatten)]
    pub subject: Subject,
    #[serde(rename = "outcome")]
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it was skipped, when it was.
    #[serde(skip)]
    pub skip: Option<Skip>,
    pub variants: Vec<VariantOutcome>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantOutcome {
    pub variant: String,
    /// A variant of an asynchronous endpoint (said only when it is one).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub asynchronous: bool,
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
    /// A resource left alone, why (typed), and the reason in words.
    pub fn skipped(subject: Subject, skip: Skip, reason: impl Into<String>) -> Outcome {
        Outcome {
            subject,
            kind: Kind::Skipped,
            reason: Some(reason.into()),
            skip: Some(skip),
            variants: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A resource that no longer exists: gone since it was named (by an event, a listing).
    pub fn gone(subject: Subject) -> Outcome {
        let reason = format!("{} no longer exists", subject.kind().noun());
        Outcome::skipped(subject, Skip::Gone, reason)
    }

    /// The outcome of carrying out `plans`; `detaching` says whether the resource was `off`.
    pub fn from_changes(subject: Subject, detaching: bool, plans: &[VariantChanges]) -> Outcome {
        let wrote = plans.iter().any(|p| !p.actions.is_empty());
        let kind = match (wrote, detaching) {
            (false, _) => Kind::Unchanged,
            (true, false) => Kind::Applied,
            (true, true) => Kind::Detached,
        };
        Outcome {
            subject,
            kind,
            reason: None,
            skip: None,
            variants: plans
                .iter()
                .map(|p| VariantOutcome {
                    variant: p.variant.clone(),
                    asynchronous: p.asynchronous,
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

    /// How it ended, carried out or (`dry_run`) only decided.
    pub fn verdict(&self, dry_run: bool) -> Verdict {
        match self.skip {
            Some(Skip::Rejected) => Verdict::Rejected,
            _ => Verdict::of(self.kind, dry_run),
        }
    }

    pub fn write_count(&self) -> usize {
        self.variants.iter().map(|v| v.actions.len()).sum()
    }
}

/// What `scaletag adopt` found and did, per scalable target of the endpoint's variants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Adoption {
    pub endpoint: String,
    /// Targets that now carry scaletag's owner tag.
    pub adopted: Vec<String>,
    /// Targets that already carried it.
    pub already_owned: Vec<String>,
    /// Targets AAS gives no ARN (registered before AAS had tags): they cannot carry a tag.
    pub untaggable: Vec<String>,
    /// Targets deregistered while adopt was at work: nothing to adopt.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<String>,
}

/// How one endpoint of a sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Applied,
    WouldApply,
    Unchanged,
    Skipped,
    Detached,
    WouldDetach,
    Rejected,
    Failed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applied => "applied",
            Verdict::WouldApply => "would-apply",
            Verdict::Unchanged => "unchanged",
            Verdict::Skipped => "skipped",
            Verdict::Detached => "detached",
            Verdict::WouldDetach => "would-detach",
            Verdict::Rejected => "rejected",
            Verdict::Failed => "failed",
        }
    }

    /// The verdict of an outcome, carried out or (`dry_run`) only decided.
    pub fn of(kind: Kind, dry_run: bool) -> Verdict {
        match (kind, dry_run) {
            (Kind::Applied, false) => Verdict::Applied,
            (Kind::Applied, true) => Verdict::WouldApply,
            (Kind::Detached, false) => Verdict::Detached,
            (Kind::Detached, true) => Verdict::WouldDetach,
            (Kind::Unchanged, _) => Verdict::Unchanged,
            (Kind::Skipped, _) => Verdict::Skipped,
        }
    }
}

/// One resource's line in a sweep's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// `endpoint`, and `inference_component` for an IC.
    #[serde(flatten)]
    pub subject: Subject,
    pub result: Verdict,
    /// The status tag the resource carried when it was read: what scaletag last did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Writes made (or, in a dry run, that would be).
    pub writes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a sweep did, endpoint by endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub endpoints: usize,
    /// Inference components reconciled, and those gone whose leftovers were cleaned up.
    pub inference_components: usize,
    pub counts: BTreeMap<&'static str, usize>,
    pub results: Vec<Entry>,
    /// Endpoints not started because the deadline was near; the next sweep covers them
    /// (the order is shuffled each time, so none is starved).
    pub not_reached: Vec<String>,
}
