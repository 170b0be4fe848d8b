"""The recruiter's workflow in the desktop app (issue 10): a job card shared from the composer and
answered by the candidate, an application-status badge appearing live when the ATS calls the
integration route, a template with variables, and a message scheduled for later. Runs after the
other files in the same app session, signed in as Dana (a recruiter), Carl's conversation known."""

import json
import urllib.error
import urllib.request

from selenium.webdriver.common.keys import Keys

from conftest import wait_for

DANA = "dana@e2e.test"
CARL = "carl@e2e.test"
ROLE = "Senior Rust engineer"


def item_of(w, name):
    return wait_for(lambda: next((e for e in w.tid("conversation-item") if name in w.text(e)), None), 30,
                    f"{name}'s conversation is not in the list")


def invoke(w, command, args):
    result = w.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]).then((ok) => done({ ok }), (error) => done({ error }));",
        command, args)
    assert "error" not in result, f"{command} failed: {result}"
    return result["ok"]


def open_carl(w):
    w.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    item_of(w, "Carl Jensen").click()
    return w.one("composer")


def dark_shot(w, name):
    """A screenshot in the dark theme: the stylesheet's dark variables applied to the page for a moment
    (the X server under test has no dark system setting to follow)."""
    w.driver.execute_script(
        "for (const sheet of document.styleSheets) for (const rule of sheet.cssRules) {"
        "  if (rule.media && rule.media.mediaText.includes('dark')) for (const inner of rule.cssRules) {"
        "    for (const prop of inner.style) document.documentElement.style.setProperty(prop, inner.style.getPropertyValue(prop)); } }")
    try:
        return w.shot(name)
    finally:
        w.driver.execute_script("document.documentElement.removeAttribute('style')")


def post_status(w, status, external_id):
    body = {"candidate_email": CARL, "recruiter_email": DANA, "job_title": ROLE, "status": status,
            "note": "Panel with the platform team on Thursday", "external_id": external_id}
    req = urllib.request.Request(f"{w.url}/v1/integrations/application-status", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "X-Api-Key": "e2e-key"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_job_card_shared_and_answered(world):
    w = world
    open_carl(w)
    w.one("share-job-button").click()
    w.one("job-form-share").click()
    assert "needs a title" in w.text(w.one("job-form-error")), "an empty form is refused with the reason"
    w.one("job-form-title").send_keys(ROLE)
    w.one("job-form-company").send_keys("Ferrous Systems")
    w.one("job-form-location").send_keys("Berlin · hybrid")
    w.one("job-form-salary").send_keys("€95–110k")
    w.one("job-form-url").send_keys("https://jobs.example.com/rust-42")
    w.one("job-form-description").send_keys("Build the async runtime behind our embedded tooling.")
    w.one("job-form-share").click()
    card = wait_for(lambda: next((c for c in w.tid("job-card") if ROLE in w.text(c)), None), 20, "the job card shows in the thread")
    text = w.text(card)
    for part in ("Ferrous Systems", "Berlin · hybrid", "€95–110k", "Build the async runtime", "jobs.example.com"):
        assert part in text, f"the card shows {part!r}: {text}"
    assert not w.tid("card-interested", card), "the recruiter gets no quick replies on their own card"
    message = w.driver.execute_script("return arguments[0].closest('[data-testid=message]')", card)
    wait_for(lambda: message.get_attribute("data-seq"), 20, "the card was sent")
    card_id = wait_for(lambda: next((m["key"] for m in w.messages() if m["seq"] == message.get_attribute("data-seq")), None), 10, "its id")
    w.one("job-link").click()
    wait_for(lambda: (w.tmp / "opened.txt").exists() and "https://jobs.example.com/rust-42" in (w.tmp / "opened.txt").read_text(), 10,
             "the posting opens in the system browser")
    assert "Job: Senior Rust engineer at Ferrous Systems" in w.text(item_of(w, "Carl Jensen")), "the list shows the card in one line"
    w.shot("job-card")

    # Carl answers with the quick reply a candidate's app sends: a normal message quoting the card.
    w.cli("carl", "send", "--to", DANA, "--reply-to", card_id, "Interested in Senior Rust engineer at Ferrous Systems")
    reply = w.wait_message("Interested in Senior Rust engineer at Ferrous Systems")
    quote = wait_for(lambda: next((q for q in w.tid("message-quote") if "Job: Senior Rust engineer" in w.text(q)), None), 10,
                     "the answer quotes the card by its summary")
    assert reply and quote
    w.shot("job-card-answered")
    dark_shot(w, "job-card-answered-dark")


def test_status_badge_appears_live_and_filters(world):
    w = world
    open_carl(w)
    assert not w.tid("stage-badge", item_of(w, "Carl Jensen")), "no stage before the ATS says anything"
    status, first = post_status(w, "interview", "ats-e2e-1")
    assert status == 201, status
    badge = wait_for(lambda: next(iter(w.tid("stage-badge", item_of(w, "Carl Jensen"))), None), 20, "the stage badge appears live")
    assert badge.get_attribute("data-status") == "interview" and w.text(badge) == "Interview"
    card = wait_for(lambda: next(iter(w.tid("status-card")), None), 20, "the status card shows in the open thread")
    assert ROLE in w.text(card) and "Panel with the platform team" in w.text(card)
    status, again = post_status(w, "interview", "ats-e2e-1")
    assert again["id"] == first["id"], "the same external_id is the same message"
    wait_for(lambda: len(w.tid("status-card")) == 1, 5, "a retry posts nothing new")
    w.one("stage-filter-interview").click()
    shown = wait_for(lambda: [w.text(e) for e in w.tid("conversation-item")], 10, "the filtered list")
    assert len(shown) == 1 and "Carl Jensen" in shown[0], f"only those at the interview stage: {shown}"
    w.shot("stage-badge-filtered")
    dark_shot(w, "stage-badge-filtered-dark")
    w.one("stage-filter-interview").click()
    wait_for(lambda: len(w.tid("conversation-item")) > 1, 10, "choosing the stage again shows everyone")


def test_template_with_variables(world):
    w = world
    open_carl(w)
    w.one("presence-menu").click()
    wait_for(lambda: next((e for e in w.driver.find_elements("css selector", '[role="menuitem"]') if "Settings" in w.text(e)), None),
             10, "the Settings entry").click()
    section = w.one("template-settings")
    w.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", section)
    w.one("template-add").click()
    w.one("template-name").send_keys("Intro call")
    w.one("template-body").send_keys("Hi {{first_name}}, shall we talk about the {{job_title}} role this week? {{my_name}}")
    w.one("template-save").click()
    wait_for(lambda: any("Intro call" in w.text(r) for r in w.tid("template-row")), 10, "the template is listed")
    w.shot("settings-templates")
    box = open_carl(w)
    box.send_keys("/intro")
    option = wait_for(lambda: next(iter(w.tid("template-option")), None), 10, "the picker offers the template")
    assert "Intro call" in w.text(option)
    w.shot("template-picker")
    dark_shot(w, "template-picker-dark")
    box.send_keys(Keys.ENTER)
    filled = "Hi Carl, shall we talk about the Senior Rust engineer role this week? Dana Whitfield"
    wait_for(lambda: box.get_attribute("value") == filled, 10, "the variables are filled from the conversation")
    box.send_keys(Keys.ENTER)
    w.wait_message(filled)

    count = len(w.messages())
    box.send_keys("Hi {{nickname}}!")
    box.send_keys(Keys.ENTER)
    error = w.one("template-error")
    assert "nickname" in w.text(error), f"the unknown variable is named: {w.text(error)}"
    assert box.get_attribute("value") == "Hi {{nickname}}!" and len(w.messages()) == count, "nothing was sent"
    w.shot("template-unknown-variable")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)


def test_scheduled_message_listed_and_cancelled(world):
    w = world
    box = open_carl(w)
    text = "Good morning Carl, the offer letter is on its way"
    box.send_keys(text)
    w.one("send-later-button").click()
    w.one("send-tomorrow").click()
    item = wait_for(lambda: next((e for e in w.tid("scheduled-item") if text in w.text(e)), None), 15, "the scheduled message is listed")
    assert "Tomorrow" in w.text(item), w.text(item)
    assert box.get_attribute("value") == "", "the composer is empty again"
    on_hub = invoke(w, "scheduled", {})
    assert [s["body"] for s in on_hub] == [text], f"the hub keeps it: {on_hub}"
    assert text not in [m["text"] for m in w.messages()], "nothing is in the thread yet"
    w.shot("scheduled-message")
    w.tid("scheduled-cancel", item)[0].click()
    wait_for(lambda: not w.tid("scheduled-item"), 10, "cancelled: gone from the list")
    assert invoke(w, "scheduled", {}) == [], "and from the hub"


def test_candidate_answers_a_card_with_a_quick_reply(world):
    """Last of all, as the candidate: Dana signs out, Carl signs in on the same app, and the card's
    quick reply goes out as a normal message that quotes the card."""
    w = world
    w.switch_user(CARL)
    item_of(w, "Dana Whitfield").click()
    card = wait_for(lambda: next((c for c in w.tid("job-card") if ROLE in w.text(c)), None), 30, "Dana's card shows for Carl too")
    card_key = w.driver.execute_script("return arguments[0].closest('[data-testid=message]').dataset.key", card)
    w.shot("job-card-candidate")
    w.tid("card-not-for-me", card)[0].click()
    answer = f"Not for me: {ROLE} at Ferrous Systems"
    reply = w.wait_message(answer)
    wait_for(lambda: next((m for m in w.messages() if m["text"] == answer and m["seq"]), None), 20, "the answer was sent")
    assert reply
    w.cli("dana", "sync")
    history = [json.loads(line) for line in w.cli("dana", "--json", "history", "--with", CARL).stdout.splitlines()]
    sent = next((m for m in history if m["body"] == answer), None)
    assert sent, f"Dana has the answer: {[m['body'] for m in history]}"
    assert sent["reply_to"] == card_key, f"the answer quotes the card: {sent}"
