"""AWS adapters for running code: Lambda functions, versions and aliases (lambda_.py and
its parts), event sources (triggers.py), logs and metrics (observe.py), the release gate
(gate.py), and the boto3 client factory (aws.py). Lambda's refusals become failure nouns
here (laambda.errors); S3's reach objectstore.py's callers as botocore's exceptions.

Owns every boto3 call but S3's (laambda/objectstore.py). May import: laambda.deploy, the
foundation (errors, config, crypto, trace, fleet), laambda.domain, laambda.objectstore.
Never db/, services/ or anything above: deploys get data, not rows.
"""
