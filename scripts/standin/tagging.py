"""The Resource Groups Tagging API's GetResources, as AWS answers it, where moto 5.2.5 does not.

1. Page size (Resource Groups Tagging API Reference, GetResources: `ResourcesPerPage`, "a
   minimum of 1 and a maximum value of 100"; `TagsPerPage`, "AWS recommends using
   ResourcesPerPage instead of this parameter", 100 to 500). moto applies a limit of 100 tags a
   page even when the caller sets only `ResourcesPerPage`, and closes a page one tag early, so a
   page of resources with three tags each holds 33 of them, not 100. Here `TagsPerPage` limits a
   page only when the caller sends it; `ResourcesPerPage` (1 to 100, 50 when not sent) always
   does.
2. Inference components (GetResources: "support[s] all resource types"; an inference
   component's ARN is `arn:aws:sagemaker:<region>:<account>:inference-component/<name>`, so
   its type is `sagemaker:inference-component`). moto's SageMaker backend lists endpoints and
   other SageMaker resources to the Tagging API, but moto has no inference components; those of
   this stand-in (components.py) are listed here with their tags.

Not covered: AWS also returns resources that were tagged once and have no tags now (with
`"Tags": []`); moto, like here, lists only resources that have tags. Errors keep moto's form:
HTTP 400, {"__type": "InvalidParameterException", "Message": "..."}.
"""

from moto.core.responses import ActionResult
from moto.resourcegroupstaggingapi import responses
from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError

# A page limit no request reaches: "no limit on tags" for moto's backend.
_NO_TAG_LIMIT = 1 << 30


def _get_resources(self):
    resources_per_page = self._get_int_param("ResourcesPerPage", 50)
    tags_per_page = self._get_int_param("TagsPerPage", None)
    if resources_per_page not in range(1, 101):
        raise ResourceGroupsTaggingAPIError(
            "InvalidParameterException", "ResourcesPerPage must be between 1 and 100"
        )
    if tags_per_page is not None and tags_per_page not in range(100, 501):
        raise ResourceGroupsTaggingAPIError(
            "InvalidParameterException", "TagsPerPage must be between 100 and 500"
        )
    token, mappings = self.backend.get_resources(
        pagination_token=self._get_param("PaginationToken"),
        tag_filters=self._get_param("TagFilters", []),
        resources_per_page=resources_per_page,
        # moto closes a page when the next resource would bring it to the limit: one more
        # than the limit lets a page hold exactly TagsPerPage tags, as AWS's does.
        tags_per_page=_NO_TAG_LIMIT if tags_per_page is None else tags_per_page + 1,
        resource_type_filters=self._get_param("ResourceTypeFilters", []),
        resource_arn_list=self._get_param("ResourceARNList", []),
    )
    return ActionResult(
        {
            "ResourceTagMappingList": [
                {
                    "ResourceARN": r.arn,
                    "Tags": [{"Key": k, "Value": v} for k, v in r.tags.items()],
                }
                for r in mappings
            ],
            "PaginationToken": token or "",
        }
    )


def install():
    responses.ResourceGroupsTaggingAPIResponse.get_resources = _get_resources
