//! What a sweep reads once for the whole account and region, instead of once per resource:
//! the resources (ListEndpoints, ListInferenceComponents), their tags (the Tagging API's
//! GetResources), and what Application Auto Scaling and CloudWatch hold for all of them
//! (by namespace and name prefix), each a page at a time and all in parallel. An endpoint's
//! description is read when first needed, once per sweep, and shared: by the endpoint and by
//! the inference components at zero that it hosts.
//!
//! These reads are a moment old by the time a resource is decided, and the tags may lag
//! behind SageMaker's (docs/aws-behaviour.md §11). So the sweep decides on them only where
//! that writes nothing; a resource with anything to write is read afresh first (`sweep`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::{try_join, try_join4};
use futures_util::stream;
use tokio::sync::OnceCell;

use crate::aws::Aws;
use crate::cloudwatch::AlarmQuery;
use crate::diff::Current;
use crate::resource::{ResourceKind, Scalable};
use crate::retry::{AwsError, Deadline};
use crate::sagemaker::{Described, ListedComponent};
use crate::status::Spot;
use crate::tagging::TagsByArn;
use crate::wake::{self, Alarm};

/// The account's SageMaker resources and their scaling, as the sweep's listings found them.
#[derive(Debug, Default)]
pub struct Fleet {
    /// Every InService endpoint: (name, ARN).
    pub endpoints: Vec<(String, String)>,
    /// Every inference component, whatever its status.
    pub components: Vec<ListedComponent>,
    /// The tags of every tagged endpoint and IC.
    tags: TagBook,
    /// Every SageMaker scalable target, scaling policy and scheduled action, and every wake
    /// alarm.
    pub current: Current,
    /// `current`, by resource id and alarm name, so a resource finds its part in one look.
    by_resource: HashMap<String, Current>,
    alarms: HashMap<String, Alarm>,
    described: Descriptions,
}

/// Endpoint descriptions, read at most once per sweep: an endpoint is described by whichever
/// of its users asks first, and the others wait for that read.
#[derive(Debug, Default)]
struct Descriptions(Mutex<HashMap<String, Arc<OnceCell<Option<Described>>>>>);

impl Fleet {
    /// Every listing, in parallel; a page that fails fails the sweep (nothing was decided).
    /// While AAS and CloudWatch are still being paged through, each endpoint whose tags may
    /// opt it in (a `prefix:` tag besides the status) is described, `concurrency` at a time.
    pub async fn read(
        aws: &Aws,
        prefix: &str,
        concurrency: usize,
        dl: &Deadline,
    ) -> Result<Fleet, AwsError> {
        let described = Descriptions::default();
        let sagemaker = async {
            let (endpoints, (components, tags)) = try_join(
                aws.list_in_service_endpoints(dl),
                try_join(aws.list_components(None, dl), aws.tagged_resources(dl)),
            )
            .await?;
            let tags = TagBook::new(tags);
            let candidates = endpoints.iter().filter(|(_, arn)| {
                tags.tags_of(ResourceKind::Endpoint, arn)
                    .is_some_and(|t| Spot::of(arn, &t, prefix).opted_in)
            });
            // A description that fails is left for the endpoint's own turn to read again and
            // report; it fails no listing.
            stream::iter(candidates)
                .for_each_concurrent(concurrency.max(1), |(name, _)| async {
                    let _ = described.get(aws, name, dl).await;
                })
                .await;
            Ok((endpoints, components, tags))
        };
        let scaling = try_join4(
            aws.all_targets(dl),
            aws.describe_policies(None, dl),
            aws.describe_scheduled_actions(None, dl),
            aws.describe_alarms(AlarmQuery::All, dl),
        );
        let ((endpoints, components, tags), (targets, policies, scheduled, alarms)) =
            try_join(sagemaker, scaling).await?;
        let current = Current {
            targets,
            policies,
            scheduled_actions: scheduled,
            alarms,
        };
        Ok(Fleet::with(endpoints, components, tags, current, described))
    }

    pub fn new(
        endpoints: Vec<(String, String)>,
        components: Vec<ListedComponent>,
        tags: TagsByArn,
        current: Current,
    ) -> Fleet {
        let tags = TagBook::new(tags);
        Fleet::with(
            endpoints,
            components,
            tags,
            current,
            Descriptions::default(),
        )
    }

    fn with(
        endpoints: Vec<(String, String)>,
        components: Vec<ListedComponent>,
        tags: TagBook,
        current: Current,
        described: Descriptions,
    ) -> Fleet {
        let mut by_resource: HashMap<String, Current> = HashMap::new();
        for t in &current.targets {
            let entry = by_resource.entry(t.key.resource_id.clone()).or_default();
            entry.targets.push(t.clone());
        }
        for p in &current.policies {
            let entry = by_resource.entry(p.key.resource_id.clone()).or_default();
            entry.policies.push(p.clone());
        }
        for a in &current.scheduled_actions {
            let entry = by_resource.entry(a.0.resource_id.clone()).or_default();
            entry.scheduled_actions.push(a.clone());
        }
        let alarms = current
            .alarms
            .iter()
            .map(|a| (a.alarm_name.clone(), a.clone()))
            .collect();
        Fleet {
            endpoints,
            components,
            tags,
            current,
            by_resource,
            alarms,
            described,
        }
    }

    /// A resource's tags as the Tagging API listed them ([`TagBook::tags_of`]).
    pub fn tags_of(&self, kind: ResourceKind, arn: &str) -> Option<Vec<(String, String)>> {
        self.tags.tags_of(kind, arn)
    }

    /// What the bulk reads hold for `units`: the same as reading them one by one, at the
    /// moment of the listings.
    pub fn current_for(&self, units: &[Scalable]) -> Current {
        let mut out = Current::default();
        for unit in units {
            if let Some(c) = self.by_resource.get(&unit.resource_id()) {
                out.targets.extend(c.targets.iter().cloned());
                out.policies.extend(c.policies.iter().cloned());
                out.scheduled_actions
                    .extend(c.scheduled_actions.iter().cloned());
            }
            let alarm = wake::alarm_name(unit).and_then(|name| self.alarms.get(&name));
            out.alarms.extend(alarm.cloned());
        }
        out
    }

    /// DescribeEndpoint, once per sweep for each endpoint; `None` when it does not exist.
    pub async fn endpoint(
        &self,
        aws: &Aws,
        name: &str,
        dl: &Deadline,
    ) -> Result<Option<Described>, AwsError> {
        self.described.get(aws, name, dl).await
    }
}

impl Descriptions {
    async fn get(
        &self,
        aws: &Aws,
        name: &str,
        dl: &Deadline,
    ) -> Result<Option<Described>, AwsError> {
        let cell = {
            let mut cells = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cells.entry(name.to_string()).or_default().clone()
        };
        // A read that failed leaves the cell empty: the next user tries again.
        let described = cell
            .get_or_try_init(|| aws.describe_endpoint(name, dl))
            .await?;
        Ok(described.clone())
    }
}

/// The Tagging API's answer: tags by lower-cased ARN, and the kinds it listed any resource of.
#[derive(Debug, Default)]
struct TagBook {
    tags: TagsByArn,
    listed_kinds: Vec<ResourceKind>,
}

impl TagBook {
    fn new(tags: TagsByArn) -> TagBook {
        let tags: TagsByArn = tags
            .into_iter()
            .map(|(arn, t)| (arn.to_ascii_lowercase(), t))
            .collect();
        let listed_kinds = [ResourceKind::Endpoint, ResourceKind::Component]
            .into_iter()
            .filter(|kind| tags.keys().any(|arn| kind_of(arn) == Some(*kind)))
            .collect();
        TagBook { tags, listed_kinds }
    }

    /// A resource's tags as the Tagging API listed them: none when it is not listed (the
    /// Tagging API lists every resource that is tagged). `None` when the Tagging API listed no
    /// resource of its kind at all, while the listings found some: AWS documents no support
    /// for inference components there (docs/aws-behaviour.md §11), so those are read one by
    /// one rather than taken for untagged.
    fn tags_of(&self, kind: ResourceKind, arn: &str) -> Option<Vec<(String, String)>> {
        match self.tags.get(&arn.to_ascii_lowercase()) {
            Some(tags) => Some(tags.clone()),
            None if self.listed_kinds.contains(&kind) => Some(Vec::new()),
            None => None,
        }
    }
}

/// The kind of a SageMaker ARN (`...:endpoint/name`, `...:inference-component/name`).
fn kind_of(arn: &str) -> Option<ResourceKind> {
    let resource = arn.splitn(6, ':').nth(5)?;
    match resource.split_once('/')?.0 {
        "endpoint" => Some(ResourceKind::Endpoint),
        "inference-component" => Some(ResourceKind::Component),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(tagged: &[&str]) -> Fleet {
        let tags = tagged
            .iter()
            .map(|arn| {
                (
                    arn.to_string(),
                    vec![("team".to_string(), "ml".to_string())],
                )
            })
            .collect();
        Fleet::new(Vec::new(), Vec::new(), tags, Current::default())
    }

    const EP: &str = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-1";
    const IC: &str = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic-1";

    #[test]
    fn a_listed_resource_has_its_tags_whatever_the_case_of_its_arn() {
        let f = fleet(&[EP]);
        let upper = EP.replace("ep-1", "EP-1");
        assert_eq!(
            f.tags_of(ResourceKind::Endpoint, &upper).map(|t| t.len()),
            Some(1)
        );
    }

    #[test]
    fn absent_from_a_kind_that_was_listed_means_untagged() {
        let f = fleet(&[EP, IC]);
        let other = EP.replace("ep-1", "ep-2");
        assert_eq!(f.tags_of(ResourceKind::Endpoint, &other), Some(Vec::new()));
        let other = IC.replace("ic-1", "ic-2");
        assert_eq!(f.tags_of(ResourceKind::Component, &other), Some(Vec::new()));
    }

    #[test]
    fn a_kind_the_tagging_api_never_listed_is_read_one_by_one() {
        let f = fleet(&[EP]);
        assert_eq!(f.tags_of(ResourceKind::Component, IC), None);
    }

    #[test]
    fn a_unit_finds_its_own_part_of_the_bulk_reads_and_nothing_else() {
        use crate::diff::{CurrentTarget, TargetKey};
        use crate::policy::Dimension;
        let target = |id: &str, dimension| CurrentTarget {
            key: TargetKey {
                resource_id: id.to_string(),
                dimension,
            },
            min_capacity: 0,
            max_capacity: 4,
            suspended: false,
            arn: None,
            owned: None,
        };
        let ic = Scalable::Component {
            name: "ic-1".into(),
        };
        let variant = Scalable::Variant {
            endpoint: "ep-1".into(),
            variant: "AllTraffic".into(),
        };
        let current = Current {
            targets: vec![
                target("inference-component/ic-1", Dimension::CopyCount),
                target("inference-component/ic-10", Dimension::CopyCount),
                target("endpoint/ep-1/variant/AllTraffic", Dimension::InstanceCount),
            ],
            scheduled_actions: vec![(
                target("inference-component/ic-1", Dimension::CopyCount).key,
                "nightly".into(),
            )],
            ..Current::default()
        };
        let f = Fleet::new(Vec::new(), Vec::new(), TagsByArn::new(), current);
        let mine = f.current_for(std::slice::from_ref(&ic));
        assert_eq!(mine.targets.len(), 1);
        assert_eq!(mine.targets[0].key.resource_id, "inference-component/ic-1");
        assert_eq!(mine.scheduled_actions.len(), 1);
        let both = f.current_for(&[ic, variant]);
        assert_eq!(both.targets.len(), 2);
        let none = f.current_for(&[Scalable::Component {
            name: "ic-2".into(),
        }]);
        assert_eq!(none, Current::default());
    }

    #[test]
    fn kinds_come_from_the_arn() {
        assert_eq!(kind_of(EP), Some(ResourceKind::Endpoint));
        assert_eq!(kind_of(IC), Some(ResourceKind::Component));
        assert_eq!(
            kind_of("arn:aws:sagemaker:us-east-1:1:endpoint-config/x"),
            None
        );
        assert_eq!(kind_of("not an arn"), None);
    }
}
