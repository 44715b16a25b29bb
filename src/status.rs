//! The status tag: what scaletag last did to an endpoint or inference component, written back
//! onto it as one tag (`P:status`), where the SageMaker console and `aws sagemaker list-tags`
//! show it. AWS's Instance Scheduler does the same for the instances it manages.
//!
//! Pure: which value an outcome gets, and whether it must be written. The value is short,
//! within the tag-value character set, and changes only when the result does, so steady state
//! writes nothing; the log has the detail. scaletag reads every other `P:` tag and ignores this
//! one (`tags::parse`).

use crate::decision::Changes;
use crate::desire::Rejection;

pub use crate::tags::{STATUS_SETTING as SETTING, status_key as key};

/// The status of a resource whose tags no longer opt it in.
pub const NOT_MANAGED: &str = "not managed";

/// Where a status can be written, found by the reads: the resource's ARN, its status tag now,
/// and whether it opted in at all (a resource with no `P:` tag gets none).
#[derive(Debug, Clone, PartialEq)]
pub struct Spot {
    pub arn: String,
    pub current: Option<String>,
    pub opted_in: bool,
}

impl Spot {
    /// From the resource's tags as read.
    pub fn of(arn: &str, tags: &[(String, String)], prefix: &str) -> Spot {
        let key = key(prefix);
        let lead = format!("{prefix}:");
        Spot {
            arn: arn.to_string(),
            current: tags.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()),
            opted_in: tags.iter().any(|(k, _)| k.starts_with(&lead) && *k != key),
        }
    }

    /// The value to write now, when it differs from the one there.
    pub fn write(&self, wanted: Option<String>) -> Option<String> {
        wanted.filter(|w| self.opted_in && self.current.as_deref() != Some(w.as_str()))
    }

    /// For a resource that no longer opts in but still carries a status from when it did:
    /// `not managed`, once, so the tag never claims `ok` for what scaletag left. A resource that
    /// never opted in has no status tag and gets none.
    pub fn write_unmanaged(&self) -> Option<String> {
        self.current
            .as_deref()
            .filter(|c| *c != NOT_MANAGED)
            .map(|_| NOT_MANAGED.to_string())
    }
}

/// The status of changes carried out: `ok` when scaletag manages the resource as its tags
/// say, `detached` once `off` took effect (and while it stays so). A resource left alone (not
/// opted in, not InService, gone) has no decided changes and gets no status.
pub fn of_changes(changes: &Changes) -> String {
    if changes.detaching {
        "detached".into()
    } else {
        "ok".into()
    }
}

/// `rejected N problems`: the tags cannot be applied; the log lists them.
pub fn of_rejection(r: &Rejection) -> String {
    match r.problems.len() {
        1 => "rejected 1 problem".into(),
        n => format!("rejected {n} problems"),
    }
}

/// `failed <operation>`: AWS refused or did not answer; the log has the error.
pub fn of_failure(operation: &str) -> String {
    let op: String = operation
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .collect();
    format!("failed {op}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn written_only_on_change_and_only_where_opted_in() {
        let spot = Spot::of(
            "arn",
            &tags(&[
                ("autoscaling:template", "default"),
                ("autoscaling:status", "ok"),
            ]),
            "autoscaling",
        );
        assert_eq!(spot.write(Some("ok".into())), None, "steady state");
        assert_eq!(
            spot.write(Some("rejected 1 problem".into())).as_deref(),
            Some("rejected 1 problem")
        );
        assert_eq!(spot.write(None), None);
        let untagged = Spot::of("arn", &tags(&[("team", "ml")]), "autoscaling");
        assert_eq!(untagged.write(Some("ok".into())), None);
        assert_eq!(
            untagged.write_unmanaged(),
            None,
            "never opted in: no tag at all"
        );
        // A status tag alone is not opting in.
        let only_status = Spot::of("arn", &tags(&[("autoscaling:status", "ok")]), "autoscaling");
        assert!(!only_status.opted_in);
        // Opted out since: said once.
        assert_eq!(only_status.write_unmanaged().as_deref(), Some(NOT_MANAGED));
        let said = Spot::of(
            "arn",
            &tags(&[("autoscaling:status", NOT_MANAGED)]),
            "autoscaling",
        );
        assert_eq!(said.write_unmanaged(), None);
    }

    #[test]
    fn values_are_short_tag_values() {
        for v in [
            of_failure("PutScalingPolicy"),
            of_failure("x\u{0}y!".repeat(40).as_str()),
        ] {
            assert!(v.len() <= 256);
            assert!(
                v.chars()
                    .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c)),
                "{v}"
            );
        }
    }
}
