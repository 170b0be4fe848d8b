"""Messages people can fix (protocol 1.1) in the app: edit, delete with undo, reactions, replies
and attachments, against the same session as test_desktop.py (it runs after it), with Carl on
rapport-cli. Each step leaves a screenshot in tests/screenshots/."""

import hashlib
import json
import struct
import zlib

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.common.keys import Keys

from conftest import wait_for

DANA = "dana@e2e.test"


def open_carl(w):
    w.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)  # closes any panel
    item = wait_for(lambda: next((e for e in w.tid("conversation-item") if "Carl Jensen" in w.text(e)), None), 30, "Carl's conversation")
    item.click()
    wait_for(lambda: w.text(w.driver.find_element("css selector", ".conversation-head h2")) == "Carl Jensen", 20, "Carl's conversation opens")


def element_of(w, key):
    return w.driver.find_element("css selector", f'[data-testid="message"][data-key="{key}"]')


def action(w, key, name):
    """Hovers a message and clicks one of its actions."""
    message = element_of(w, key)
    w.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", message)
    # Away first: a pointer that has not moved gives WebKit no hover to show the actions on.
    ActionChains(w.driver).move_to_element(w.one("composer")).move_to_element(message).perform()
    button = wait_for(lambda: message.find_element("css selector", f'[data-testid="action-{name}"]'), 10, f"no {name} action")
    button.click()


def send(w, text):
    composer = w.one("composer")
    composer.send_keys(text)
    composer.send_keys(Keys.ENTER)
    return wait_for(lambda: next((m for m in w.messages() if m["text"] == text and m["seq"]), None), 30, f"{text!r} was not sent")


def carl_history(w):
    w.cli("carl", "sync")
    return [json.loads(l) for l in w.cli("carl", "--json", "history", "--with", DANA).stdout.splitlines() if l.strip()]


def test_edit_my_last_message_with_up(world):
    w = world
    open_carl(w)
    sent = send(w, "Interview on Thursday at 10:00")
    composer = w.one("composer")
    composer.send_keys(Keys.ARROW_UP)
    bar = w.one("editing-bar")
    assert "Interview on Thursday at 10:00" in w.text(bar), "the bar quotes the message being edited"
    assert composer.get_attribute("value") == "Interview on Thursday at 10:00", "↑ puts my last message into the composer"
    w.shot("edit-in-composer")
    composer.send_keys(Keys.CONTROL, "a")
    composer.send_keys("Interview on Thursday at 11:00 (room 4)")
    composer.send_keys(Keys.ENTER)
    wait_for(lambda: any(m["key"] == sent["key"] and m["text"] == "Interview on Thursday at 11:00 (room 4)" for m in w.messages()), 20,
             "the edit shows in place")
    wait_for(lambda: element_of(w, sent["key"]).find_elements("css selector", '[data-testid="edited-marker"]'), 10, "the edited marker")
    assert not w.tid("editing-bar"), "saving ends editing"
    assert composer.get_attribute("value") == "", "the composer is empty again"
    edited = next(m for m in carl_history(w) if m["id"] == sent["key"])
    assert edited["body"] == "Interview on Thursday at 11:00 (room 4)" and edited["edited_at"], edited
    # Esc cancels an edit and leaves the message as it was.
    composer.send_keys(Keys.ARROW_UP)
    w.one("editing-bar")
    composer.send_keys(Keys.ESCAPE)
    wait_for(lambda: not w.tid("editing-bar"), 5, "Esc cancels the edit")
    assert composer.get_attribute("value") == ""
    w.shot("edited-marker")


def test_react_and_see_who_reacted(world):
    w = world
    w.cli("carl", "send", "--to", DANA, "I have sent my portfolio over.")
    m = w.wait_message("I have sent my portfolio over.")
    wait_for(lambda: next(x for x in w.messages() if x["text"] == m["text"])["seq"], 20, "stored")
    key = next(x for x in w.messages() if x["text"] == m["text"])["key"]
    action(w, key, "react")
    picker = w.one("emoji-picker")
    w.shot("emoji-picker")
    picker.find_element("css selector", '[data-emoji="👍"]').click()
    chip = lambda: element_of(w, key).find_element("css selector", '[data-testid="reaction"][data-emoji="👍"]')
    count = lambda: int(w.text(chip().find_element("css selector", ".reaction-count")))
    wait_for(lambda: count() == 1 and "mine" in chip().get_attribute("class"), 20, "my reaction shows, highlighted")
    w.cli("carl", "react", key, "👍")
    wait_for(lambda: count() == 2, 30, "Carl's reaction arrives")
    assert chip().get_attribute("data-tip") == "You and Carl Jensen reacted with 👍", chip().get_attribute("data-tip")
    ActionChains(w.driver).move_to_element(chip()).perform()
    w.shot("reactions-with-tooltip")
    chip().click()
    wait_for(lambda: count() == 1 and "mine" not in chip().get_attribute("class"), 20, "a click takes my reaction back")
    assert chip().get_attribute("data-tip") == "Carl Jensen reacted with 👍"
    left = lambda: next(x for x in carl_history(w) if x["id"] == key)["reactions"]
    wait_for(lambda: [(r["emoji"], len(r["user_ids"])) for r in left()] == [("👍", 1)], 30, "the hub has only Carl's reaction left")


def test_reply_quotes_and_leads_to_the_original(world):
    w = world
    original = next(x for x in w.messages() if x["text"] == "I have sent my portfolio over.")
    action(w, original["key"], "reply")
    bar = w.one("reply-bar")
    assert "Replying to Carl Jensen" in w.text(bar) and "portfolio" in w.text(bar), w.text(bar)
    w.one("composer").send_keys(Keys.ESCAPE)
    wait_for(lambda: not w.tid("reply-bar"), 5, "Esc cancels the reply")
    action(w, original["key"], "reply")
    w.one("reply-bar")
    w.shot("reply-in-composer")
    reply = send(w, "Thanks, I will review it tonight.")
    assert not w.tid("reply-bar"), "sending ends the reply"
    quote = element_of(w, reply["key"]).find_element("css selector", '[data-testid="message-quote"]')
    assert "Carl Jensen" in w.text(quote) and "I have sent my portfolio over." in w.text(quote), w.text(quote)
    hub_copy = next(x for x in carl_history(w) if x["id"] == reply["key"])
    assert hub_copy["reply_to"] == original["key"], hub_copy
    w.driver.execute_script("document.querySelector('[data-testid=message-list]').scrollTop = 0")
    quote.click()
    flashed = "return document.querySelector(`[data-testid=message][data-key='${arguments[0]}']`).classList.contains('flash')"
    wait_for(lambda: w.driver.execute_script(flashed, original["key"]), 10, "a click on the quote highlights the original")
    w.shot("reply-in-thread")


def test_delete_with_undo(world):
    w = world
    m = send(w, "Sorry, that was meant for another candidate")
    action(w, m["key"], "delete")
    toast = w.one("undo-toast")
    assert "Message deleted" in w.text(toast)
    assert not any(x["key"] == m["key"] for x in w.messages()), "the message is hidden while undo is possible"
    w.shot("delete-undo-toast")
    w.one("undo-button").click()
    wait_for(lambda: any(x["key"] == m["key"] and not x["deleted"] for x in w.messages()), 5, "Undo brings it back")
    assert not next(x for x in carl_history(w) if x["id"] == m["key"]).get("deleted_at"), "nothing was deleted at the hub"
    action(w, m["key"], "delete")
    w.one("undo-toast")
    wait_for(lambda: any(x["key"] == m["key"] and x["deleted"] for x in w.messages()), 30, "after the undo period it is a tombstone")
    assert w.text(element_of(w, m["key"]).find_element("css selector", '[data-testid="tombstone"]')).startswith("Message deleted")
    wait_for(lambda: next(x for x in carl_history(w) if x["id"] == m["key"]).get("deleted_at"), 30, "the hub deleted it")
    assert next(x for x in carl_history(w) if x["id"] == m["key"])["body"] == ""
    w.shot("message-deleted-tombstone")


def png(width, height):
    """A real PNG: a gradient, so the preview shows something."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 200)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_attachments_upload_preview_and_open(world):
    w = world
    image = w.tmp / "office-floorplan.png"
    image.write_bytes(png(640, 400))
    doc = w.tmp / "Offer letter.pdf"
    doc.write_bytes(b"%PDF-1.4\n% the offer\n" + bytes(range(256)) * 200)
    w.driver.file_detector = UselessFileDetector()
    w.tid("file-input")[0].send_keys(f"{image}\n{doc}")
    wait_for(lambda: len(w.tid("staged-file")) == 2, 20, "both files wait in the composer")
    assert "office-floorplan.png" in w.text(w.tid("staged-file")[0])
    w.shot("files-in-composer")
    w.one("composer").send_keys("The floor plan and your offer")
    w.one("composer").send_keys(Keys.ENTER)
    sent = wait_for(lambda: next((m for m in w.messages() if m["text"] == "The floor plan and your offer" and m["seq"]), None), 60, "the files were sent")
    assert not w.tid("staged-file"), "sent files leave the composer"
    loaded = "const i = document.querySelector(`[data-key='${arguments[0]}'] [data-testid=image-preview]`); return !!i && i.complete && i.naturalWidth"
    width = wait_for(lambda: w.driver.execute_script(loaded, sent["key"]), 30, "the image preview shows (the hub's thumbnail)")
    assert width == 320, f"the hub's thumbnail is at most 320 px wide: {width}"
    card = element_of(w, sent["key"]).find_element("css selector", '[data-testid="file-card"]')
    assert "Offer letter.pdf" in w.text(card) and "KB" in w.text(card), w.text(card)
    # Carl downloads exactly what was sent.
    hub_copy = next(x for x in carl_history(w) if x["id"] == sent["key"])
    names = {a["filename"]: a for a in hub_copy["attachments"]}
    assert set(names) == {"office-floorplan.png", "Offer letter.pdf"}, names
    out = w.tmp / "carl-downloads"
    out.mkdir()
    w.cli("carl", "download", sent["key"], "--out", str(out))
    assert (out / "Offer letter.pdf").read_bytes() == doc.read_bytes()
    assert (out / "office-floorplan.png").read_bytes() == image.read_bytes()
    w.shot("attachments-sent")

    # Carl sends a file back: a card whose Open downloads it and hands it to the system opener.
    cv = w.tmp / "Carl Jensen CV.pdf"
    cv.write_bytes(b"%PDF-1.4\n% Carl's CV\n" + hashlib.sha256(b"cv").digest() * 500)
    w.cli("carl", "send", "--to", DANA, "--attach", str(cv), "Here is my CV")
    got = w.wait_message("Here is my CV")
    wait_for(lambda: next(x for x in w.messages() if x["text"] == "Here is my CV")["seq"], 20, "stored")
    key = next(x for x in w.messages() if x["text"] == "Here is my CV")["key"]
    card = wait_for(lambda: element_of(w, key).find_element("css selector", '[data-testid="file-card"]'), 20, "Carl's file shows as a card")
    card.find_element("css selector", '[data-testid="file-open"]').click()
    opened = w.tmp / "opened.txt"
    path = wait_for(lambda: opened.exists() and opened.read_text().strip().splitlines()[-1], 30, "the file went to the system opener")
    assert open(path, "rb").read() == cv.read_bytes(), "the opened file is Carl's, whole (downloaded and verified by the engine)"
    assert "/rapport-e2e-" in path and path.endswith("Carl Jensen CV.pdf"), f"kept in the profile under its own name: {path}"
    assert got
    w.shot("attachment-received-card")
