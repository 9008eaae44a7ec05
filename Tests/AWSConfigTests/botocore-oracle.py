"""What botocore (the AWS CLI's library) resolves for one configuration: the expected values of
Tests/AWSConfigTests/BotocoreParityTests.swift.

Reads, on standard input, a JSON list of cases, each the whole environment (AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE, AWS_* variables, HOME, PATH) and the command-line flags:
    [{"env": {...}, "flags": {"profile": "dev" | null, "region": "eu-west-1" | null,
                              "endpoint_url": "http://…" | null, "buckets": ["my-bucket", …]}}, …]
Prints a JSON list with one answer per case, in order:
    {"credentials": "keys(AKID, token)" | "assume-role(ROLE, <source>[, ExternalId=…][, DurationSeconds=…])"
                    | "web-identity(ROLE, TOKEN)"
                    | "none" | null,
     "region": "us-east-1", "urls": {"my-bucket": "https://my-bucket.s3.amazonaws.com/k"},
     "error": null | "ProfileNotFound" | …}
One process answers every case (botocore reads os.environ when it resolves, so each case
replaces it): importing botocore once instead of once per case.

Nothing is sent: each HeadObject stops before sending, its URL kept; botocore resolves the source credentials of a role eagerly but calls STS only
when the credentials are used, so a role is described by its ARN and the credentials that would
sign the AssumeRole call.
"""
import json
import os
import sys

import botocore.session


class Sent(Exception):
    def __init__(self, url):
        super().__init__(url)
        self.url = url


def stop_before_sending(request, **kwargs):
    raise Sent(request.url)


def describe(credentials):
    if credentials is None:
        return "none"
    if credentials.method == "assume-role":
        fetcher = credentials._refresh_using.__self__
        extras = "".join(
            f", {name}={fetcher._assume_kwargs[name]}"
            for name in ("ExternalId", "DurationSeconds")
            if name in fetcher._assume_kwargs
        )
        return f"assume-role({fetcher._role_arn}, {describe(fetcher._source_credentials)}{extras})"
    if credentials.method == "assume-role-with-web-identity":
        fetcher = credentials._refresh_using.__self__
        path = fetcher._web_identity_token_loader._web_identity_token_path
        with open(path) as token:
            return f"web-identity({fetcher._role_arn}, {token.read().strip()})"
    frozen = credentials.get_frozen_credentials()
    return f"keys({frozen.access_key}, {'token' if frozen.token else 'no token'})"


def resolve(env, flags):
    os.environ.clear()
    os.environ.update(env)
    result = {"credentials": None, "region": None, "urls": {}, "error": None}
    try:
        session = botocore.session.Session()
        # The AWS CLI sets these session variables for --profile and --region.
        if flags.get("profile"):
            session.set_config_variable("profile", flags["profile"])
        if flags.get("region"):
            session.set_config_variable("region", flags["region"])
        elif os.environ.get("AWS_REGION"):
            # AWS CLI v2 and the SDKs read AWS_REGION before AWS_DEFAULT_REGION (documented in the
            # CLI v2 user guide); botocore 1.x reads AWS_DEFAULT_REGION only.
            session.set_config_variable("region", os.environ["AWS_REGION"])
        result["credentials"] = describe(session.get_credentials())
        # Fixed keys: the URL does not depend on them, and signing needs some.
        client = session.create_client(
            "s3", endpoint_url=flags.get("endpoint_url"), aws_access_key_id="AKIDURL", aws_secret_access_key="url"
        )
        result["region"] = client.meta.region_name
        client.meta.events.register("before-send", stop_before_sending)
        for bucket in flags.get("buckets", []):
            try:
                client.head_object(Bucket=bucket, Key="k")
            except Sent as sent:
                result["urls"][bucket] = sent.url
    except Exception as error:  # noqa: BLE001 — the class name is the answer
        result["error"] = type(error).__name__
    return result


json.dump([resolve(case["env"], case["flags"]) for case in json.load(sys.stdin)], sys.stdout)
