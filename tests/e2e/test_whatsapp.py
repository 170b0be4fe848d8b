"""A candidate who answers on WhatsApp (issue 11): Twilio posts the signed webhook to the hub, the
message shows up live in the recruiter's app with the WhatsApp marker and the number, her answer
goes out through (the fake) Twilio's Messages API, and Twilio's signed "read" report comes back
as the message's read receipt. Runs last: Dana signs in again on the same app."""

import urllib.parse
import urllib.request

from selenium.webdriver.common.keys import Keys

from conftest import PASSWORD, wait_for
from fake_twilio import ACCOUNT_SID, signature

DANA = "dana@e2e.test"
DANA_NUMBER = "+14155550100"
PHONE = "+4915112345678"


def twilio_posts(w, path, params):
    """What Twilio does: a form POST to the public URL, signed over that URL and the form."""
    url = f"{w.url}{path}"
    req = urllib.request.Request(url, method="POST", data=urllib.parse.urlencode(params).encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "X-Twilio-Signature": signature(url, params)})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read().decode()


def test_a_whatsapp_message_arrives_live_and_the_answer_goes_out_through_twilio(world):
    w = world
    token = w.rest("POST", "/v1/auth/login", {"email": DANA, "password": PASSWORD})["access_token"]
    claimed = w.rest("POST", "/v1/bridges/twilio/numbers", {"number": DANA_NUMBER}, token)
    assert claimed["number"] == DANA_NUMBER, f"Dana receives WhatsApp messages on her Twilio number: {claimed}"
    w.switch_user(DANA)

    text = "Hallo Dana, is the Rust role still open? I can start in March."
    status, twiml = twilio_posts(w, "/v1/bridges/twilio/inbound", {
        "MessageSid": "SMe2e0000000000000000000000000001", "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{PHONE}", "To": f"whatsapp:{DANA_NUMBER}", "Body": text, "NumMedia": "0"})
    assert (status, "<Response></Response>" in twiml) == (200, True), f"Twilio gets empty TwiML: {status} {twiml}"

    item = wait_for(lambda: next((e for e in w.tid("conversation-item") if w.tid("channel-badge", e)), None), 30,
                    "the WhatsApp conversation appears live in the list")
    badge = w.tid("channel-badge", item)[0]
    assert (badge.get_attribute("data-channel"), w.text(badge)) == ("whatsapp", "WhatsApp"), w.text(item)
    assert text[:20] in w.text(item), f"the list previews the message: {w.text(item)}"
    item.click()
    w.wait_message(text)
    line = w.text(w.one("bridge-line"))
    assert PHONE in line and DANA_NUMBER in line and "WhatsApp" in line, f"the header names the network and both numbers: {line}"

    answer = "Hi! Yes, it is. Could you send me your CV?"
    box = w.one("composer")
    box.send_keys(answer)
    box.send_keys(Keys.ENTER)
    sent = wait_for(lambda: next((m for m in w.twilio.messages() if m.get("Body") == answer), None), 30,
                    "the answer reaches Twilio's Messages API")
    assert (sent["To"], sent["From"]) == (f"whatsapp:{PHONE}", f"whatsapp:{DANA_NUMBER}"), f"from her number to the phone: {sent}"
    assert sent.get("StatusCallback", "").endswith("/v1/bridges/twilio/status"), sent
    assert [m["Body"] for m in w.twilio.messages()].count(answer) == 1, "sent once"

    status, _ = twilio_posts(w, "/v1/bridges/twilio/status", {"MessageSid": sent["sid"], "MessageStatus": "read", "AccountSid": ACCOUNT_SID})
    assert status == 200
    wait_for(lambda: next((m for m in w.messages() if m["text"] == answer and m["state"] == "read"), None), 30,
             "Twilio's read report shows as the answer's read receipt")
    w.shot("whatsapp-conversation")
