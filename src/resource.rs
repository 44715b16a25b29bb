//! The resource model: what scaletag scales, and who each outcome is about. Pure data, the
//! lowest module: every other one names resources through these types, and the kind of a
//! resource is matched, never read from a string.
//!
//! - [`Facts`]: what SageMaker says about a resource that opts in by its own tags: an endpoint
//!   (whose variants are scaled) or an inference component (IC).
//! - [`Scalable`]: one thing Application Auto Scaling scales: a variant of an endpoint, or an
//!   IC. It carries its AAS resource id and its display name.
//! - [`Subject`]: who an outcome, a rejection or a status is about.

use serde::Serialize;

/// What SageMaker says about an endpoint (DescribeEndpoint + DescribeEndpointConfig).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointFacts {
    pub name: String,
    pub variants: Vec<VariantFacts>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantFacts {
    pub name: String,
    pub kind: VariantKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VariantKind {
    /// Real-time, on instances.
    Instances { instance_type: Option<String> },
    /// On instances, behind a queue: a variant of an endpoint whose config has
    /// `AsyncInferenceConfig` (docs/aws-behaviour.md §11). It may scale to zero instances.
    Asynchronous { instance_type: Option<String> },
    /// Serverless, scaled by its provisioned concurrency when it has one.
    Serverless {
        provisioned_concurrency: Option<i32>,
    },
}

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

/// The kinds of resource that opt in by their own tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Endpoint,
    Component,
}

impl ResourceKind {
    /// How messages name the kind.
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::Endpoint => "endpoint",
            ResourceKind::Component => "inference component",
        }
    }
}

/// A resource that opts in by its own tags, as SageMaker describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Facts {
    Endpoint(EndpointFacts),
    Component(ComponentFacts),
}

impl Facts {
    pub fn subject(&self) -> Subject {
        match self {
            Facts::Endpoint(e) => Subject::endpoint(&e.name),
            Facts::Component(c) => Subject::component(&c.name, Some(&c.endpoint)),
        }
    }

    /// What it scales: an endpoint's variants, in order; an IC itself.
    pub fn units(&self) -> Vec<Scalable> {
        match self {
            Facts::Endpoint(e) => e.units(),
            Facts::Component(c) => vec![c.unit()],
        }
    }
}

impl EndpointFacts {
    /// Its variants as scalable units, each of its kind.
    pub fn units(&self) -> Vec<Scalable> {
        self.variants.iter().map(|v| self.unit(v)).collect()
    }

    /// One variant as a scalable unit.
    pub fn unit(&self, variant: &VariantFacts) -> Scalable {
        let (endpoint, name) = (self.name.clone(), variant.name.clone());
        match variant.kind {
            VariantKind::Asynchronous { .. } => Scalable::AsyncVariant {
                endpoint,
                variant: name,
            },
            VariantKind::Instances { .. } | VariantKind::Serverless { .. } => Scalable::Variant {
                endpoint,
                variant: name,
            },
        }
    }

    /// The resource ids of all its variants, in order.
    pub fn resource_ids(&self) -> Vec<String> {
        self.units().iter().map(Scalable::resource_id).collect()
    }
}

impl ComponentFacts {
    pub fn unit(&self) -> Scalable {
        Scalable::Component {
            name: self.name.clone(),
        }
    }
}

/// One thing Application Auto Scaling scales for scaletag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalable {
    /// A production (or shadow) variant of a real-time endpoint: its instances, or its
    /// provisioned concurrency.
    Variant { endpoint: String, variant: String },
    /// A variant of an asynchronous endpoint: its instances, down to zero.
    AsyncVariant { endpoint: String, variant: String },
    /// An inference component: its copies.
    Component { name: String },
}

impl Scalable {
    /// Its AAS resource id (docs/aws-behaviour.md §2, §9): every scalable resource's key comes
    /// from here and only here. Names are used as given: AAS ids are not lowercased the way
    /// ARNs are.
    pub fn resource_id(&self) -> String {
        match self {
            Scalable::Variant { endpoint, variant }
            | Scalable::AsyncVariant { endpoint, variant } => {
                format!("endpoint/{endpoint}/variant/{variant}")
            }
            Scalable::Component { name } => format!("inference-component/{name}"),
        }
    }

    /// How outcomes name it: the variant's name, or the IC's.
    pub fn name(&self) -> &str {
        match self {
            Scalable::Variant { variant, .. } | Scalable::AsyncVariant { variant, .. } => variant,
            Scalable::Component { name } => name,
        }
    }

    /// The IC it is, when it is one.
    pub fn component(&self) -> Option<&str> {
        match self {
            Scalable::Component { name } => Some(name),
            Scalable::Variant { .. } | Scalable::AsyncVariant { .. } => None,
        }
    }

    /// The endpoint it is a variant of, or (an IC) none that its identity names.
    pub fn endpoint(&self) -> Option<&str> {
        match self {
            Scalable::Variant { endpoint, .. } | Scalable::AsyncVariant { endpoint, .. } => {
                Some(endpoint)
            }
            Scalable::Component { .. } => None,
        }
    }

    /// The unit a scalable target is for: its dimension says the kind, its resource id (as
    /// [`Scalable::resource_id`] writes it) the names. `None` for an id of another shape. A
    /// target does not say whether its endpoint is asynchronous: a variant's is `Variant`.
    pub fn of_target(resource_id: &str, dimension: crate::policy::Dimension) -> Option<Scalable> {
        use crate::policy::Dimension;
        match dimension {
            Dimension::CopyCount => resource_id
                .strip_prefix("inference-component/")
                .map(|name| Scalable::Component {
                    name: name.to_string(),
                }),
            Dimension::InstanceCount | Dimension::ProvisionedConcurrency => {
                let (endpoint, variant) = resource_id
                    .strip_prefix("endpoint/")?
                    .split_once("/variant/")?;
                Some(Scalable::Variant {
                    endpoint: endpoint.to_string(),
                    variant: variant.to_string(),
                })
            }
        }
    }

    /// The dimension its kind scales when nothing else says: an IC's copies, a variant's
    /// instances (a serverless variant's is known only from its description).
    pub fn default_dimension(&self) -> crate::policy::Dimension {
        match self {
            Scalable::Component { .. } => crate::policy::Dimension::CopyCount,
            Scalable::Variant { .. } | Scalable::AsyncVariant { .. } => {
                crate::policy::Dimension::InstanceCount
            }
        }
    }
}

/// Who an outcome, a rejection or a status is about: an endpoint, or an inference component
/// (with its endpoint, when known).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Endpoint {
        name: String,
    },
    Component {
        name: String,
        endpoint: Option<String>,
    },
}

impl Subject {
    pub fn endpoint(name: &str) -> Subject {
        Subject::Endpoint {
            name: name.to_string(),
        }
    }

    /// An IC; an empty endpoint name means it is not known.
    pub fn component(name: &str, endpoint: Option<&str>) -> Subject {
        Subject::Component {
            name: name.to_string(),
            endpoint: endpoint.filter(|e| !e.is_empty()).map(str::to_string),
        }
    }

    /// The endpoint it is, or the one the IC runs on, when known.
    pub fn endpoint_name(&self) -> Option<&str> {
        match self {
            Subject::Endpoint { name } => Some(name),
            Subject::Component { endpoint, .. } => endpoint.as_deref(),
        }
    }

    /// The IC it is, when it is one.
    pub fn component_name(&self) -> Option<&str> {
        match self {
            Subject::Component { name, .. } => Some(name),
            Subject::Endpoint { .. } => None,
        }
    }

    /// Which kind of resource it is.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Subject::Endpoint { .. } => ResourceKind::Endpoint,
            Subject::Component { .. } => ResourceKind::Component,
        }
    }

    /// Its own name: the endpoint's, or the IC's.
    pub fn name(&self) -> &str {
        match self {
            Subject::Endpoint { name } | Subject::Component { name, .. } => name,
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Endpoint { name } => write!(f, "endpoint `{name}`"),
            Subject::Component {
                name,
                endpoint: Some(e),
            } => write!(f, "inference component `{name}` (endpoint `{e}`)"),
            Subject::Component {
                name,
                endpoint: None,
            } => write!(f, "inference component `{name}`"),
        }
    }
}

/// As reports have always shown it: `endpoint` (empty when an IC's is not known) and, for an
/// IC, `inference_component`.
impl Serialize for Subject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Subject", 2)?;
        out.serialize_field("endpoint", self.endpoint_name().unwrap_or_default())?;
        if let Some(c) = self.component_name() {
            out.serialize_field("inference_component", c)?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_come_from_the_kind() {
        let v = Scalable::Variant {
            endpoint: "Ep".into(),
            variant: "AllTraffic".into(),
        };
        assert_eq!(v.resource_id(), "endpoint/Ep/variant/AllTraffic");
        assert_eq!(v.name(), "AllTraffic");
        let c = Scalable::Component {
            name: "llama-ic".into(),
        };
        assert_eq!(c.resource_id(), "inference-component/llama-ic");
        assert_eq!(c.component(), Some("llama-ic"));
        use crate::policy::Dimension;
        for (unit, dimension) in [(&v, Dimension::InstanceCount), (&c, Dimension::CopyCount)] {
            assert_eq!(
                Scalable::of_target(&unit.resource_id(), dimension).as_ref(),
                Some(unit)
            );
        }
        assert_eq!(
            Scalable::of_target("endpoint/x/variant/y", Dimension::CopyCount),
            None
        );
    }

    #[test]
    fn subjects_read_and_serialize_as_reports_show_them() {
        let e = Subject::endpoint("churn");
        assert_eq!(e.to_string(), "endpoint `churn`");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"endpoint": "churn"})
        );
        let c = Subject::component("llama-ic", Some("llm"));
        assert_eq!(
            c.to_string(),
            "inference component `llama-ic` (endpoint `llm`)"
        );
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"endpoint": "llm", "inference_component": "llama-ic"})
        );
        let unknown = Subject::component("gone-ic", Some(""));
        assert_eq!(unknown.endpoint_name(), None);
        assert_eq!(
            serde_json::to_value(&unknown).unwrap(),
            serde_json::json!({"endpoint": "", "inference_component": "gone-ic"})
        );
    }
}
