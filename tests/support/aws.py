"""AWS as the tests' moto server holds it: the IAM role every test function runs as."""

from __future__ import annotations

from botocore.exceptions import ClientError

from laambda.config import Settings
from laambda.deploy import aws

ROLE = "arn:aws:iam::123456789012:role/lambda-basic"


def ensure_role(settings: Settings) -> str:
    """Create the `lambda-basic` role in the IAM of `settings` unless it exists (moto's Lambda
    refuses a role IAM does not know, as AWS does); returns its ARN. Raises botocore's
    ClientError for any other refusal."""
    iam = aws.client("iam", settings)
    try:
        iam.create_role(RoleName="lambda-basic", AssumeRolePolicyDocument="{}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return ROLE
