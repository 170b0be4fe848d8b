"""Quiet hours in the desktop app: the settings section, and a pause during which no native
notification reaches dunst while the unread badge still counts, ending with one digest. Runs
after test_desktop.py in the same app session (conftest.py)."""

import json
import subprocess
import time

from selenium.webdriver.common.keys import Keys

from conftest import PASSWORD, wait_for

DANA = "dana@e2e.test"
PAUSE_SECONDS = 15


def carl_item(w):
    return wait_for(lambda: next((e for e in w.tid("conversation-item") if "Carl Jensen" in w.text(e)), None), 30,
                    "Carl's conversation is not in the list")


def unread(w, item):
    badge = w.tid("unread-badge", item)
    return int(w.text(badge[0])) if badge else 0


def invoke(w, command, args):
    """Calls a shell command the way the UI does (through Tauri's IPC), from the page."""
    result = w.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then((ok) => done({ ok }), (error) => done({ error }));",
        command, args)
    assert "error" not in result, f"{command} failed: {result}"
    return result["ok"]


def dunst_history():
    return subprocess.run(["dunstctl", "history"], capture_output=True, text=True).stdout


def open_settings(w):
    w.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    w.one("presence-menu").click()
    item = wait_for(lambda: next((e for e in w.driver.find_elements("css selector", '[role="menuitem"]') if "Settings" in w.text(e)), None),
                    10, "the Settings entry of the menu")
    item.click()
    return w.one("quiet-settings")


def test_quiet_hours_settings_section(world):
    w = world
    section = open_settings(w)
    assert w.text(w.one("quiet-status")).startswith("Notifications are on"), w.text(w.one("quiet-status"))
    w.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", section)
    enabled = w.one("quiet-enabled")
    if not enabled.is_selected():
        enabled.click()
    wait_for(lambda: "off" not in (w.driver.find_element("css selector", ".quiet-schedule").get_attribute("class") or ""), 10,
             "switching quiet hours on enables the schedule")
    days = [d.get_attribute("data-day") for d in w.tid("quiet-day") if d.get_attribute("aria-pressed") == "true"]
    assert len(days) == 7, f"every night by default: {days}"
    zone = w.one("quiet-zone")
    assert "This computer's" in (zone.get_attribute("placeholder") or ""), "an empty time zone is the system's"
    zone.send_keys("Mars/Olympus_Mons")
    zone.send_keys(Keys.TAB)
    toast = wait_for(lambda: next((e for e in w.driver.find_elements("css selector", ".toast") if "unknown time zone" in w.text(e)), None),
                     10, "an unknown time zone is refused with the reason")
    assert "Mars/Olympus_Mons" in w.text(toast)
    saved = invoke(w, "get_settings", {})
    assert saved["quiet_hours"]["time_zone"] == "", f"nothing half-saved: {saved['quiet_hours']}"
    zone.clear()
    zone.send_keys(Keys.TAB)
    # Off again before the pause: at night the schedule itself would keep notifications quiet
    # after the resume (and silence the rest of the run); the run's clock is the machine's.
    enabled = w.one("quiet-enabled")
    if enabled.is_selected():
        enabled.click()
    wait_for(lambda: not invoke(w, "get_settings", {})["quiet_hours"]["enabled"], 10, "quiet hours off again")
    w.one("pause-hour").click()
    status = wait_for(lambda: w.text(w.one("quiet-status")) if "paused until" in w.text(w.one("quiet-status")) else None, 10,
                      "pausing for an hour shows until when")
    assert "Resume" in status
    assert "paused" in w.text(w.one("my-status")), "the status line under the name says notifications are paused"
    wait_for(lambda: not w.driver.find_elements("css selector", ".toast"), 10, "the error toast goes away by itself")
    w.shot("settings-quiet-hours-paused")
    w.one("quiet-resume").click()
    wait_for(lambda: w.text(w.one("quiet-status")).startswith("Notifications are on"), 10, "resume turns notifications back on")
    w.shot("settings-quiet-hours")
    w.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)


def test_no_native_notification_while_paused_and_one_digest_after(world):
    w = world
    w.cli("nina", "register", "--email", "nina@e2e.test", "--password", PASSWORD, "--name", "Nina Park", "--role", "candidate")
    other = w.spawn(["xmessage", "-geometry", "+0+0", "Another application"], "xmessage-quiet")
    wid = wait_for(lambda: subprocess.run(["xdotool", "search", "--name", "^xmessage$"], capture_output=True, text=True).stdout.split(),
                   10, "xmessage window")[-1]
    subprocess.run(["xdotool", "windowfocus", "--sync", wid], check=False, timeout=10)
    wait_for(lambda: w.driver.execute_script("return !document.hasFocus()"), 10, "the app lost focus to another window")
    before = unread(w, carl_item(w))

    status = invoke(w, "pause_notifications", {"pause": {"kind": "for", "seconds": PAUSE_SECONDS}})
    paused_at = time.monotonic()
    assert status["quiet"] and status["reason"] == "paused", status
    texts = ["Quiet-hours ping one", "Quiet-hours ping two"]
    for text in texts:
        w.cli("carl", "send", "--to", DANA, text)
    w.cli("nina", "send", "--to", DANA, "Quiet-hours hello from Nina")
    wait_for(lambda: unread(w, carl_item(w)) == before + 2, 20, "the unread badge still counts while paused")
    nina = wait_for(lambda: next((e for e in w.tid("conversation-item") if "Nina Park" in w.text(e)), None), 20, "Nina's conversation")
    assert unread(w, nina) == 1
    assert time.monotonic() - paused_at < PAUSE_SECONDS, "the messages arrived within the pause (else this test proves nothing)"
    assert w.driver.find_element("css selector", '[data-testid="my-status"]').get_attribute("data-quiet") == "true"
    w.screen("paused-badge-counts")

    def digest():
        out = dunst_history()
        return "3 messages from 2 candidates" in out and out
    history = wait_for(digest, PAUSE_SECONDS + 20, "the digest never reached dunst when the pause ended")
    assert time.monotonic() - paused_at >= PAUSE_SECONDS - 1, "the digest comes when the pause ends, not before"
    for text in texts + ["Quiet-hours hello from Nina"]:
        assert text not in history, f"{text!r} reached dunst during the pause"
    entries = json.loads(history)["data"][0]
    assert sum("3 messages from 2 candidates" in json.dumps(e) for e in entries) == 1, "exactly one digest"
    assert "While notifications were paused" in history
    mine = w.driver.find_element("css selector", '[data-testid="my-status"]')
    wait_for(lambda: mine.get_attribute("data-quiet") == "false" and "paused" not in w.text(mine), 10,
             "the status under the name drops 'paused' when the pause ends")
    # The web view itself: an X screenshot of the unfocused window can show a stale frame, and
    # the digest's popup has left the screen by the time dunst lists it in its history.
    w.shot("after-the-pause-badges-kept")
    other.terminate()
