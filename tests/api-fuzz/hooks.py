"""Schemathesis hooks: half of the generated path parameters are swapped for real ids of the
seeded hub (seed.py; RAPPORT_FUZZ_IDS names its output), so the fuzzer reaches the handlers
behind the 404s of made-up ids as well."""

import json
import os

import schemathesis
from hypothesis import strategies as st

with open(os.environ["RAPPORT_FUZZ_IDS"]) as ids_file:
    IDS = json.load(ids_file)

# Path prefix → what each parameter names there.
REAL = [
    ("/v1/conversations/", {"id": IDS["conversation"], "message_id": IDS["message"], "emoji": "👍"}),
    ("/v1/attachments/", {"id": IDS["attachment"]}),
    ("/v1/notifications/", {"id": IDS["notification"]}),
    ("/v1/templates/", {"id": IDS["template"]}),
    ("/v1/scheduled/", {"id": IDS["scheduled"]}),
]


def real_for(method, path, parameters):
    for prefix, names in REAL:
        if path.startswith(prefix):
            real = {name: value for name, value in names.items() if name in parameters}
            if method.upper() == "DELETE" and path == "/v1/conversations/{id}/messages/{message_id}":
                real["message_id"] = IDS["deletable"]
            return real
    return {}


@schemathesis.hook
def before_generate_path_parameters(context, strategy):
    method, path = context.operation.method, context.operation.path

    def maybe_real(parameters):
        if not parameters:
            return st.just(parameters)
        real = real_for(method, path, parameters)
        return st.sampled_from([parameters, {**parameters, **real}])

    return strategy.flatmap(maybe_real)


def is_http(value):
    """Whether a header value can be sent as HTTP/1.1 at all: visible ASCII, spaces and tabs."""
    return all(c == "\t" or " " <= c <= "~" for c in str(value))


@schemathesis.hook
def map_headers(context, headers):
    # A control character in a header value is not HTTP: the server's HTTP parser (hyper)
    # answers 400 with an empty body and closes the connection before the hub sees the request.
    # Such characters are taken out rather than the whole case dropped: a header with no
    # pattern of its own (X-Twilio-Signature) would otherwise hardly ever be generated at all.
    # Leading whitespace is not sendable either (the HTTP client refuses it).
    if headers is None:
        return headers
    return {name: "".join(c for c in str(value) if is_http(c)).lstrip(" \t") for name, value in headers.items()}
