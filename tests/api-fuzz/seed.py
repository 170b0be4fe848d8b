"""Gives the fuzzed hub something to find: a recruiter (the fuzzing user) and a candidate, their
conversation with two messages in it, an attachment, a template, a scheduled message and a
notification. Prints the access token and the real ids as JSON, for hooks.py.

Usage: seed.py BASE_URL API_KEY
"""

import datetime
import json
import sys
import urllib.request


def call(base, method, path, body=None, token=None, headers=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def register(base, email, name, role):
    body = {"email": email, "password": "correct horse", "display_name": name, "role": role}
    return call(base, "POST", "/v1/auth/register", body)


def main():
    base, api_key = sys.argv[1], sys.argv[2]
    recruiter = register(base, "fuzz-recruiter@example.test", "Fuzz Recruiter", "recruiter")
    candidate = register(base, "fuzz-candidate@example.test", "Fuzz Candidate", "candidate")
    token = recruiter["access_token"]
    conversation = call(base, "POST", "/v1/conversations", {"kind": "direct", "user_id": candidate["user"]["id"]}, token)
    status = {"candidate_email": "fuzz-candidate@example.test", "recruiter_email": "fuzz-recruiter@example.test",
              "job_title": "Rust engineer", "status": "interview"}
    message = call(base, "POST", "/v1/integrations/application-status", status, headers={"X-Api-Key": api_key})
    # Its own message for the deletions, so that the edits and reactions find theirs alive.
    deletable = call(base, "POST", "/v1/integrations/application-status", {**status, "status": "offer"},
                     headers={"X-Api-Key": api_key})
    attachment = call(base, "POST", "/v1/attachments", token=token, raw=b"a file to fetch",
                      headers={"Content-Type": "text/plain", "X-Filename": "notes.txt"})
    template = call(base, "POST", "/v1/templates", {"name": "Hello", "body": "Hello {{first_name}}"}, token)
    send_at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).isoformat()
    scheduled = call(base, "POST", "/v1/scheduled", {"conversation_id": conversation["id"], "client_msg_id": "fuzz-later",
                                                     "body": "Later", "send_at": send_at}, token)
    notification = call(base, "POST", "/v1/notifications", {"user_id": recruiter["user"]["id"], "kind": "system",
                                                            "title": "Welcome", "body": "Hello"},
                        headers={"X-Api-Key": api_key})
    print(json.dumps({
        "token": token,
        "refresh_token": candidate["refresh_token"],
        "conversation": conversation["id"],
        "message": message["id"],
        "deletable": deletable["id"],
        "attachment": attachment["id"],
        "template": template["id"],
        "scheduled": scheduled["id"],
        "notification": notification["id"],
    }))


if __name__ == "__main__":
    main()
