"""Runs `sam package` (the command after `--`) against a local moto S3, so a release is packaged
and checked without an AWS account, then checks what it uploaded: the template's CodeUri, and
the Serverless Application Repository's LicenseUrl and ReadmeUrl, are S3 objects holding exactly
the release's zip, LICENSE and README.md. Called by scripts/release.

Usage: release-check.py OUT_DIR -- sam package ... --s3-bucket BUCKET
"""
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3

from lambda_local import REGION, start_moto


def main():
    out = Path(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1:]
    bucket = command[command.index("--s3-bucket") + 1]
    moto, port = start_moto()
    try:
        endpoint_url = f"http://127.0.0.1:{port}"
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint_url, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION)
        env.pop("AWS_PROFILE", None)
        s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=REGION,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=bucket)
        subprocess.run(command, env=env, check=True, stdout=sys.stderr)
        packaged = (out / "packaged.yaml").read_text()
        zip_name = next(out.glob("scaletag-*-arm64.zip")).name
        expected = {"CodeUri": out / zip_name, "LicenseUrl": out / "LICENSE",
                    "ReadmeUrl": out / "README.md"}
        problems = []
        for key, path in expected.items():
            found = re.findall(rf"^\s*{key}: (s3://{re.escape(bucket)}/\S+)$", packaged, re.M)
            if len(found) != 1:
                problems.append(f"{key}: expected one s3://{bucket}/… URI, found {found}")
                continue
            object_key = found[0].split("/", 3)[3]
            body = s3.get_object(Bucket=bucket, Key=object_key)["Body"].read()
            if hashlib.sha256(body).digest() != hashlib.sha256(path.read_bytes()).digest():
                problems.append(f"{key}: {found[0]} does not hold {path.name}")
            else:
                print(f"release: {key} → {found[0]} holds {path.name}", file=sys.stderr)
        if problems:
            sys.exit("release: sam package did not package what was built:\n  " + "\n  ".join(problems))
    finally:
        moto.stdin.close()
        moto.wait(timeout=10)


if __name__ == "__main__":
    main()
