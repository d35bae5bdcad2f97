from __future__ import annotations

import pytest

from laambda.domain.event_source import SourceSpec, parse_source
from laambda.errors import InvalidInput

QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
DYNAMO = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000"


class TestStreams:
    def test_sqs_gets_lambdas_default_batch_size(self) -> None:
        assert parse_source(QUEUE) == SourceSpec("sqs", QUEUE, arn=QUEUE, batch_size=10)

    def test_batch_size_is_kept(self) -> None:
        assert parse_source(STREAM, batch_size=500).batch_size == 500
        assert parse_source(DYNAMO).kind == "dynamodb"
        assert parse_source(DYNAMO).batch_size == 100

    def test_fifo_queue_batch_size_is_at_most_ten(self) -> None:
        with pytest.raises(InvalidInput, match="between 1 and 10, not 11"):
            parse_source(QUEUE + ".fifo", batch_size=11)

    def test_batch_size_out_of_range(self) -> None:
        with pytest.raises(InvalidInput, match="between 1 and 10000, not 0"):
            parse_source(QUEUE, batch_size=0)

    def test_unsupported_service_is_named(self) -> None:
        with pytest.raises(InvalidInput, match="^s3 ARNs are not supported as event sources"):
            parse_source("arn:aws:s3:::photos", batch_size=None)

    def test_sns_is_unsupported_too(self) -> None:
        with pytest.raises(InvalidInput, match="sns ARNs are not supported"):
            parse_source("arn:aws:sns:us-east-1:123456789012:topic")

    def test_table_instead_of_stream_says_how_to_fix_it(self) -> None:
        with pytest.raises(InvalidInput, match="is a DynamoDB table, not its stream"):
            parse_source("arn:aws:dynamodb:us-east-1:123456789012:table/orders")

    @pytest.mark.parametrize(
        "source",
        [
            "arn:aws:sqs:us-east-1:jobs",
            "arn:aws:sqs:us-east-1:12345:jobs",
            "arn:aws:kinesis:us-east-1:123456789012:clicks",
            "arn:aws:sqs:us-east-1:123456789012:bad/name",
        ],
    )
    def test_malformed_arns(self, source: str) -> None:
        with pytest.raises(InvalidInput, match=r"well-formed ARN|does not name"):
            parse_source(source)


class TestSchedules:
    @pytest.mark.parametrize(
        ("text", "expression"),
        [
            ("schedule:rate(5 minutes)", "rate(5 minutes)"),
            ("schedule:rate(1 hour)", "rate(1 hour)"),
            ("schedule:cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
            ("schedule:cron(0  18 ? * MON-FRI *)", "cron(0 18 ? * MON-FRI *)"),
        ],
    )
    def test_valid(self, text: str, expression: str) -> None:
        parsed = parse_source(text)
        assert (parsed.kind, parsed.expression, parsed.source) == (
            "schedule",
            expression,
            f"schedule:{expression}",
        )

    def test_singular_unit_for_one(self) -> None:
        with pytest.raises(InvalidInput, match=r"write rate\(1 minute\)"):
            parse_source("schedule:rate(1 minutes)")

    def test_plural_unit_for_more(self) -> None:
        with pytest.raises(InvalidInput, match=r"write rate\(5 minutes\)"):
            parse_source("schedule:rate(5 minute)")

    def test_cron_needs_six_fields(self) -> None:
        with pytest.raises(InvalidInput, match="cron needs 6 fields"):
            parse_source("schedule:cron(0 12 * * *)")

    def test_cron_needs_a_question_mark(self) -> None:
        with pytest.raises(InvalidInput, match=r"needs \? in day-of-month or day-of-week"):
            parse_source("schedule:cron(0 12 * * * *)")

    def test_not_a_schedule(self) -> None:
        with pytest.raises(InvalidInput, match="is not a schedule"):
            parse_source("schedule:every 5 minutes")

    def test_batch_size_refused(self) -> None:
        with pytest.raises(InvalidInput, match="batch size applies to SQS"):
            parse_source("schedule:rate(5 minutes)", batch_size=10)


class TestHttp:
    def test_public(self) -> None:
        assert parse_source("http") == SourceSpec("http", "http", auth="NONE")

    def test_iam(self) -> None:
        assert parse_source("http:AWS_IAM") == SourceSpec("http", "http:aws_iam", auth="AWS_IAM")

    def test_unknown_auth(self) -> None:
        with pytest.raises(InvalidInput, match="unknown auth 'basic'"):
            parse_source("http:basic")


@pytest.mark.parametrize("text", ["", "  ", "sqs://jobs", "https://example.com"])
def test_not_a_source(text: str) -> None:
    with pytest.raises(InvalidInput, match="event source"):
        parse_source(text)
