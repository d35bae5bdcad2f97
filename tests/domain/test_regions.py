from __future__ import annotations

import botocore.session
import pytest

from laambda.domain.regions import LAMBDA_REGIONS, region_problem


@pytest.mark.parametrize("partition", sorted(LAMBDA_REGIONS))
def test_table_matches_botocores_endpoint_data(partition: str) -> None:
    """The table is AWS's list: the regions botocore's endpoint data names for Lambda."""
    session = botocore.session.get_session()
    known = set(session.get_available_regions("lambda", partition_name=partition))
    assert known == set(LAMBDA_REGIONS[partition])


def test_lambda_regions_pass_and_others_are_refused() -> None:
    assert region_problem("us-east-1") is None
    assert region_problem("eu-central-2") is None
    assert region_problem("cn-north-1") is None
    problem = region_problem("zz-nowhere-9")
    assert problem is not None
    assert problem.startswith("region 'zz-nowhere-9' is not a region AWS Lambda runs in")
    assert "\x00" not in (region_problem("us-east-1\x00") or "")
