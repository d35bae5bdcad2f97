"""AWS adapters for running code: Lambda functions, versions and aliases (lambda_.py and
its parts), event sources (triggers.py), logs and metrics (observe.py), the release gate
(gate.py), and the boto3 client factory (aws.py). Vendor errors become failure nouns here.

Owns every boto3 call but S3's (laambda/objectstore.py). May import: laambda.deploy, the
foundation (errors, config, crypto, trace, fleet), laambda.domain, laambda.objectstore.
Never db/, services/ or anything above: deploys get data, not rows.
"""
