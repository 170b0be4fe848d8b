"""A local stand-in for Twilio (the e2e hub's `--twilio-api-url`): the Messages API the hub sends
WhatsApp and SMS replies through, checking its basic auth and recording each message; and the
signing of the webhooks Twilio would post to the hub, as Twilio documents it."""

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SID = "AC00000000000000000000000000e2e"
AUTH_TOKEN = "e2e-twilio-auth-token"


def signature(url, params):
    """X-Twilio-Signature: base64 of HMAC-SHA1, keyed by the auth token, over the URL and every
    parameter's name and value, sorted by name."""
    data = url + "".join(name + value for name, value in sorted(params.items()))
    return base64.b64encode(hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


class FakeTwilio:
    def __init__(self):
        self.sent = []  # the form of each message the hub had Twilio send
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.headers.get("Authorization") != expected:
                    return self.answer(401, {"code": 20003, "message": "Authenticate"})
                if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    return self.answer(404, {"code": 20404, "message": "not found"})
                with fake.lock:
                    sid = f"SM{len(fake.sent):032d}"
                    fake.sent.append(dict(form, sid=sid))
                self.answer(201, {"sid": sid, "status": "queued"})

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self):
        with self.lock:
            return list(self.sent)

    def close(self):
        self.server.shutdown()
