"""Runs parliament (duo-labs' IAM linter, pinned in requirements-dev.txt) over the inline
policies of the function's role, as CloudFormation would resolve them, and prints every finding
as one JSON object a line: {"policy", "issue", "title", "detail"}. Nothing printed: clean.

Usage: .venv/bin/python scripts/sam-transform.py template.yaml | .venv/bin/python scripts/iam-lint.py

Parliament knows, from the Service Authorization Reference, which condition keys and resource
types each action supports: a condition key on an action that ignores it means nothing, and a
statement that mixes such actions reads wider or narrower than it is.
"""
import json
import re
import sys

from parliament import analyze_policy_string

# What the pseudo parameters and the template's own parameters resolve to, for the linter
# (any real-looking values will do: only the shape of the ARNs matters).
VALUES = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "TagPrefix": "autoscaling",
}


def resolve(v):
    if isinstance(v, dict):
        if "Fn::Sub" in v:
            text = v["Fn::Sub"]
            return re.sub(r"\$\{([^}]+)\}", lambda m: VALUES.get(m.group(1), m.group(1)), text)
        if "Fn::GetAtt" in v:
            name, attribute = v["Fn::GetAtt"]
            if name.endswith("Role"):
                return f"arn:aws:iam::123456789012:role/{name}"
            return f"arn:aws:sqs:us-east-1:123456789012:{name}"
        if "Ref" in v:
            return VALUES.get(v["Ref"], v["Ref"])
        return {k: resolve(x) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x) for x in v]
    return v


def main():
    cfn = json.load(sys.stdin)
    role = cfn["Resources"]["ScaletagFunctionRole"]["Properties"]
    for policy in role.get("Policies", []):
        document = resolve(policy["PolicyDocument"])
        result = analyze_policy_string(json.dumps(document), ignore_private_auditors=True)
        for f in result.findings:
            print(json.dumps({
                "policy": policy["PolicyName"],
                "issue": f.issue,
                "title": f.title,
                "detail": f.detail,
            }, default=str))


if __name__ == "__main__":
    main()
