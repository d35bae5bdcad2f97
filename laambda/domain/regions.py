"""The regions AWS Lambda runs in: an app's region must be one of them.

Source: "AWS Lambda endpoints and quotas" in the AWS General Reference
(https://docs.aws.amazon.com/general/latest/gr/lambda-service.html), the same list botocore
ships in its endpoint data (`botocore.session.get_session().get_available_regions("lambda",
partition_name=...)`); tests/domain/test_regions.py checks this table against the botocore
installed, so a region AWS adds shows up as a failing test rather than a refused app.
"""

from __future__ import annotations

# partition -> regions, as AWS lists them
LAMBDA_REGIONS: dict[str, frozenset[str]] = {
    "aws": frozenset(
        {
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        }
    ),
    "aws-cn": frozenset({"cn-north-1", "cn-northwest-1"}),
    "aws-us-gov": frozenset({"us-gov-east-1", "us-gov-west-1"}),
}
REGIONS: frozenset[str] = frozenset().union(*LAMBDA_REGIONS.values())


def region_problem(region: str) -> str | None:
    """Why `region` cannot hold an app's functions, or None when Lambda runs there."""
    if region in REGIONS:
        return None
    shown = region if len(region) <= 40 and region.isprintable() else f"{region[:40]!r}…"
    return (
        f"region '{shown}' is not a region AWS Lambda runs in; use one such as us-east-1, "
        "eu-west-1 or ap-southeast-2 (the list: "
        "https://docs.aws.amazon.com/general/latest/gr/lambda-service.html)"
    )
