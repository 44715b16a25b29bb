"""Transforms template.yaml into plain CloudFormation JSON, offline, as `sam package` then
CloudFormation would: the local CodeUri is replaced by an s3:// URI first. Prints the JSON.

Usage: .venv/bin/python scripts/sam-transform.py [template.yaml]
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


class NoManagedPolicies:
    """The template attaches no managed policies, so none need looking up."""

    def load(self):
        return {}


path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
with open(path) as f:
    template = yaml_parse(f.read())
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://scaletag-artifacts/scaletag.zip"
print(json.dumps(transform(template, {}, NoManagedPolicies()), indent=2, sort_keys=True))
