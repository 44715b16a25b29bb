//! The Resource Groups Tagging API: the tags of every SageMaker endpoint and inference
//! component in the account and region, 100 resources a page, for the sweep. One
//! `GetResources` page stands in for a hundred `ListTags` calls. Translation only.
//!
//! The Tagging API is eventually consistent with SageMaker's own tags (docs/aws-behaviour.md
//! §11): the sweep decides on these tags only where that writes nothing, and reads a
//! resource's own tags again before any write.

use std::collections::HashMap;

use crate::aws::{Aws, all_pages, found};
use crate::retry::{AwsError, Deadline, Op, call};

/// The resource types asked for (`service:resource`, as the Tagging API names them).
pub const RESOURCE_TYPES: [&str; 2] = ["sagemaker:endpoint", "sagemaker:inference-component"];

/// Resource ARN → its tags (key, value), for every endpoint and inference component that
/// is tagged (or ever was: those come with no tags). A resource not in it has no tags.
pub type TagsByArn = HashMap<String, Vec<(String, String)>>;

impl Aws {
    /// GetResources for [`RESOURCE_TYPES`], following `PaginationToken`.
    pub async fn tagged_resources(&self, dl: &Deadline) -> Result<TagsByArn, AwsError> {
        let pages = all_pages(|token| async move {
            let out = call(Op::GetResources, "sagemaker", dl, || {
                self.tagging()
                    .get_resources()
                    .set_resource_type_filters(Some(
                        RESOURCE_TYPES.iter().map(|t| t.to_string()).collect(),
                    ))
                    .resources_per_page(100)
                    .set_pagination_token(token.clone())
                    .send()
            })
            .await?;
            Ok(found(out).map(|out| {
                let page: Vec<(String, Vec<(String, String)>)> = out
                    .resource_tag_mapping_list()
                    .iter()
                    .filter_map(|m| {
                        let tags = m
                            .tags()
                            .iter()
                            .map(|t| (t.key().to_string(), t.value().to_string()))
                            .collect();
                        Some((m.resource_arn()?.to_string(), tags))
                    })
                    .collect();
                (page, out.pagination_token().map(str::to_string))
            }))
        })
        .await?;
        Ok(pages.unwrap_or_default().into_iter().collect())
    }
}
