"""The desktop app end to end, in the order a user lives it. Each step leaves a screenshot in
tests/screenshots/. The tests share one app session (see conftest.py) and run in file order."""

import json
import re
import signal
import subprocess
import time

import websocket

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.keys import Keys

from conftest import PASSWORD, wait_for

DANA = "dana@e2e.test"


def carl_item(w):
    return wait_for(lambda: next((e for e in w.tid("conversation-item") if "Carl Jensen" in w.text(e)), None), 30,
                    "Carl's conversation is not in the list")


def header_status(w):
    dots = w.driver.find_elements("css selector", '.conversation-head [data-testid="presence-dot"]')
    return dots[0].get_attribute("data-status") if dots else None


def test_sign_in(world):
    w = world
    hub = w.one("login-hub", timeout=60)
    assert hub.get_attribute("value") == w.url, "the hub URL is prefilled from RAPPORT_HUB"
    hub.clear()
    hub.send_keys(w.url)
    w.one("login-email").send_keys(DANA)
    w.one("login-password").send_keys(PASSWORD)
    fell_back = "no OS keyring answers" in (w.tmp / "tauri-driver.log").read_text(errors="replace")
    expected = "private file" if fell_back else "system keyring"
    assert expected in w.text(w.one("sign-in-footer")), f"the footer says where the login is really kept ({expected})"
    w.shot("sign-in")
    w.one("login-submit").click()
    w.one("conversation-list", timeout=30)


def test_conversation_list(world):
    w = world
    item = carl_item(w)
    assert item.get_attribute("data-conversation-id"), "items carry their conversation id"
    badge = w.tid("unread-badge", item)
    assert badge and w.text(badge[0]) == "1", "Carl's first message is unread"
    w.shot("conversation-list")
    item.click()
    w.wait_message("Hi Dana! Thanks for getting in touch about the Rust role.")
    wait_for(lambda: not w.tid("unread-badge", carl_item(w)), 10, "opening the conversation marks it read")
    w.shot("conversation-open")


def test_receive_live(world):
    w = world
    w.cli("carl", "send", "--to", DANA, "Are you free for a quick call this week?")
    m = w.wait_message("Are you free for a quick call this week?")
    assert m["seq"] == "2", f"the second message of the conversation has seq 2: {m}"
    w.shot("received-live")


def test_typing_indicator_and_reply(world):
    w = world
    w.bot = w.spawn([str(__import__("conftest").CLI), "--hub", w.url, "--profile", str(w.tmp / "cli-carl"),
                     "--json", "bot", "--reply-delay-ms", "4000"], "bot")
    wait_for(lambda: header_status(w) == "online", 30, "Carl shows online once his bot connects")
    time.sleep(1.5)  # the bot answers only messages that arrive after its first catch-up
    composer = w.one("composer")
    composer.send_keys("Could we schedule an interview on Thursday?")
    composer.send_keys(Keys.ENTER)
    mine = w.wait_message("Could we schedule an interview on Thursday?", timeout=10)
    assert mine["state"] in ("pending", "sent", "delivered", "read"), mine
    assert composer.get_attribute("value") == "", "Enter sends and clears the composer"
    typing = w.one("typing-indicator", timeout=20)
    assert "Carl is typing" in w.text(typing), w.text(typing)
    w.shot("typing-indicator")
    reply = wait_for(lambda: next((m for m in w.messages() if "Tuesday or Thursday" in m["text"]), None), 30,
                     "the bot's reply never arrived")
    assert reply["state"] in ("sent", "delivered", "read"), reply
    wait_for(lambda: not [e for e in w.tid("typing-indicator") if e.is_displayed()], 10, "typing stops with the reply")
    wait_for(lambda: next(m for m in w.messages() if m["text"].startswith("Could we schedule"))["state"] == "read", 20,
             "the bot read our message, so it shows read")
    w.shot("reply-received")


def test_presence_changes_when_the_cli_goes_away(world):
    w = world
    assert header_status(w) == "online"
    w.bot.send_signal(signal.SIGINT)
    w.bot.wait(15)
    wait_for(lambda: header_status(w) == "offline", 20, "Carl turns offline after the grace period")
    status = w.text(w.one("conversation-status"))
    assert "last seen" in status, status
    w.shot("presence-offline")


def test_the_cli_received_the_reply(world):
    w = world
    w.cli("carl", "sync")
    lines = [json.loads(l) for l in w.cli("carl", "--json", "history", "--with", DANA).stdout.splitlines() if l.strip()]
    bodies = [l["body"] for l in lines]
    assert "Could we schedule an interview on Thursday?" in bodies, bodies


def test_markup_is_shown_as_text(world):
    w = world
    evil = "<img src=x onerror=alert(1)>"
    w.cli("carl", "send", "--to", DANA, evil)
    m = w.wait_message(evil)
    assert m["imgs"] == 0, "no element was created from message text"
    assert not w.driver.find_elements("css selector", '[data-testid="message-list"] img'), "no <img> in the message list"
    try:
        w.driver.switch_to.alert
        raise AssertionError("an alert opened: message text ran as HTML")
    except NoAlertPresentException:
        pass
    w.shot("markup-as-text")


def send_over_gateway(w, token, conversation_id, bodies):
    """Sends messages the way any client does: a gateway session, one message.send per body,
    every ack awaited."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{w.port}/v1/gateway", timeout=20)
    try:
        assert json.loads(ws.recv())["op"] == "hello"
        ws.send(json.dumps({"op": "identify", "ref": 0, "data": {"token": token, "presence": "online"}}))
        while json.loads(ws.recv())["op"] != "ready":
            pass
        for i, body in enumerate(bodies, start=1):
            ws.send(json.dumps({"op": "message.send", "ref": i,
                                "data": {"conversation_id": conversation_id, "client_msg_id": f"e2e-far-back-{i}", "body": body}}))
        acked = set()
        while len(acked) < len(bodies):
            frame = json.loads(ws.recv())
            if frame["op"] in ("ack", "error"):
                assert frame["op"] == "ack", frame
                acked.add(frame["ref"])
    finally:
        ws.close()


def test_search_hit_far_back_opens_in_its_conversation(world):
    w = world
    carl = w.rest("POST", "/v1/auth/login", {"email": "carl@e2e.test", "password": PASSWORD})
    dana = w.rest("GET", f"/v1/users?q={DANA}", token=carl["access_token"])["users"][0]
    group = w.rest("POST", "/v1/conversations", {"kind": "group", "title": "Interview panel", "member_ids": [dana["id"]]},
                 token=carl["access_token"])
    # The hit is older than the newest page (50 messages) of a conversation the app never opened.
    needle = "Portfolio: https://example.test/zebracrossing (case studies inside)"
    send_over_gateway(w, carl["access_token"], group["id"], [needle] + [f"Panel note {i}" for i in range(1, 61)])
    wait_for(lambda: next((e for e in w.tid("conversation-item") if "Interview panel" in w.text(e)), None), 30,
             "the new group is in the list")
    box = w.one("search-input")
    box.send_keys("zebracrossing")
    hit = wait_for(lambda: next((e for e in w.tid("search-result") if "zebracrossing" in w.text(e)), None), 30,
                   "the search finds the old message")
    hit.click()
    title = lambda: w.text(w.driver.find_element("css selector", ".conversation-head h2"))
    wait_for(lambda: title() == "Interview panel", 20, "the hit's conversation opens")
    # Shown only after older pages were loaded; highlighted for 2.5 s once it is.
    # One script call per poll: element-by-element WebDriver calls could outlast the highlight.
    flashed = "return [...document.querySelectorAll('[data-testid=message].flash')].some(e => e.textContent.includes(arguments[0]))"
    wait_for(lambda: w.driver.execute_script(flashed, needle), 30, "older pages are loaded until the hit is shown, highlighted")
    seqs = [int(m["seq"]) for m in w.messages() if m["seq"]]
    assert seqs == list(range(1, 62)), f"every message from the hit to the newest, once each: {seqs[:5]}…{seqs[-5:]}"
    w.shot("search-hit-far-back")
    box.send_keys(Keys.ESCAPE)
    carl_item(w).click()  # back to the conversation the next steps use
    wait_for(lambda: title() == "Carl Jensen", 20, "Carl's conversation opens again")


def test_banner_when_the_hub_dies_and_missed_messages_after(world):
    w = world
    w.kill_hub()
    banner = wait_for(lambda: next((e for e in w.tid("connection-banner") if e.is_displayed()
                                    and e.get_attribute("data-state") in ("reconnecting", "connecting")), None), 30,
                      "the banner shows while the hub is down")
    wait_for(lambda: re.search(r"Reconnecting in \d+ s \(attempt \d+\)", w.text(banner)), 30, f"banner text: {w.text(banner)}")
    assert "Retry now" in w.text(banner)
    dots = w.driver.find_elements("css selector", '[data-testid="presence-dot"]')
    assert dots and all(d.get_attribute("data-live") == "false" for d in dots), "presence is only last known while offline"
    assert "when last connected" in w.text(w.one("conversation-status")), "the header says the presence is not live"
    w.shot("banner-hub-down")
    queued = w.cli("carl", "send", "--timeout", "2", "--to", DANA, "Sent while you were away (1)", check=False)
    assert queued.returncode == 3, f"the CLI queues while the hub is down: {queued.returncode} {queued.stderr}"
    w.start_hub()
    w.cli("carl", "send", "--to", DANA, "Sent while you were away (2)")
    wait_for(lambda: not [e for e in w.tid("connection-banner") if e.is_displayed() and e.get_attribute("data-state") != "synced"],
             60, "the banner goes away once the hub is back")
    w.wait_message("Sent while you were away (1)", timeout=30)
    w.wait_message("Sent while you were away (2)", timeout=30)
    wait_for(lambda: all(d.get_attribute("data-live") == "true" for d in w.driver.find_elements("css selector", '[data-testid="presence-dot"]')),
             10, "presence is live again once connected")
    seqs = [int(m["seq"]) for m in w.messages() if m["seq"]]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), f"no gap, no duplicate: {seqs}"
    w.shot("reconnected-with-missed-messages")


def test_native_notification_when_not_focused(world):
    w = world
    subprocess.run(["dunstctl", "history-clear"], check=False)
    other = w.spawn(["xmessage", "-geometry", "+0+0", "Another application"], "xmessage")
    wid = wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "^xmessage$"], capture_output=True, text=True).stdout.split(),
                   10, "xmessage window")[0]
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], check=False, timeout=10)
    time.sleep(0.5)
    w.cli("carl", "send", "--to", DANA, "Ping while you look elsewhere")

    def in_history():
        out = subprocess.run(["dunstctl", "history"], capture_output=True, text=True).stdout
        return "Ping while you look elsewhere" in out and out
    history = wait_for(in_history, 20, "the notification never reached dunst")
    assert "Carl" in history, "the notification names the sender"
    wait_for(lambda: w.tid("unread-badge", carl_item(w)), 10, "unseen while unfocused: the unread badge shows")
    w.screen("native-notification")
    other.terminate()


def test_job_alert_in_notifications_panel(world):
    w = world
    assert w.notify_api(DANA, "job_alert", "New role: Staff Rust Engineer", "Berlin · hybrid · 95–110k") == 201
    w.one("notifications-button").click()
    item = wait_for(lambda: next((e for e in w.tid("notification-item") if "Staff Rust Engineer" in w.text(e)), None), 20,
                    "the job alert is in the panel")
    w.shot("notifications-panel")
    item.click()
