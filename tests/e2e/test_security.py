"""Hostile content rendered in the real app (issue 13): a recruiter named with markup sends
message bodies, a group title, a job card and a file name built to run script. Every payload,
had it run, would count itself in `window.__xss` and try the IPC (`sign_out`): none may run,
each shows as the text it is, and the app stays signed in. Runs last, signed in as Carl."""


from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.keys import Keys

from conftest import PASSWORD, wait_for

CARL = "carl@e2e.test"
MALLORY = "mallory@e2e.test"
RUN = "window.__xss=(window.__xss||0)+1;window.__TAURI_INTERNALS__&&window.__TAURI_INTERNALS__.invoke('sign_out')"

CORPUS = [
    f"<img src=x onerror=\"{RUN}\">",
    f"<script>{RUN}</script>",
    f"<svg/onload=\"{RUN}\">",
    f"\"><iframe srcdoc=\"<script>parent.{RUN}</script>\"></iframe>",
    f"<a href=\"javascript:{RUN}\">click me</a>",
    f"[link](javascript:{RUN})",
    f"{{{{constructor.constructor('{RUN}')()}}}}",
    f"<details open ontoggle=\"{RUN}\">",
    f"<style>@import 'http://evil.test/x.css';</style><b onmouseover=\"{RUN}\">hover</b>",
]
# Names and titles are at most 100 characters: a payload that only counts itself.
COUNT = "window.__xss=(window.__xss||0)+1"
NAME = f"<img src=x onerror={COUNT}>Mallory"
TITLE = f"</title><svg onload={COUNT}>Team"
FILE = "\"><img src=x onerror=alert(1)>.txt"


def ran(w):
    return w.driver.execute_script("return window.__xss || 0")


def no_markup_elements(w):
    """Elements that only markup in content could have made: the app renders no script, frame,
    object, <details> or <style> in the page's body, sets no inline on… handler (Svelte adds
    listeners) and links no javascript: URL."""
    return w.driver.execute_script(
        "return [...document.body.querySelectorAll('*')].filter(e =>"
        "  ['SCRIPT', 'IFRAME', 'OBJECT', 'EMBED', 'DETAILS', 'STYLE'].includes(e.tagName)"
        "  || [...e.attributes].some(a => a.name.startsWith('on'))"
        "  || (e.getAttribute('href') || '').trim().toLowerCase().startsWith('javascript')"
        "  || e.getAttribute('src') === 'x').map(e => e.outerHTML.slice(0, 200))")


def assert_nothing_ran(w, where):
    assert ran(w) == 0, f"{where}: a payload ran ({ran(w)} times)"
    assert no_markup_elements(w) == [], f"{where}: content became elements: {no_markup_elements(w)}"
    try:
        w.driver.switch_to.alert
        raise AssertionError(f"{where}: an alert opened")
    except NoAlertPresentException:
        pass
    assert w.tid("conversation-list"), f"{where}: still signed in (no IPC call from content signed Carl out)"


def test_hostile_names_titles_bodies_cards_and_file_names_render_as_text(world):
    w = world
    w.cli("mallory", "register", "--email", MALLORY, "--password", PASSWORD, "--name", NAME, "--role", "recruiter")
    mallory = w.rest("POST", "/v1/auth/login", {"email": MALLORY, "password": PASSWORD})
    carl = w.rest("GET", f"/v1/users?q={CARL}", token=mallory["access_token"])["users"][0]
    group = w.rest("POST", "/v1/conversations", {"kind": "group", "title": TITLE, "member_ids": [carl["id"]]}, token=mallory["access_token"])
    for body in CORPUS:
        w.cli("mallory", "send", "--to", CARL, body)
    w.cli("mallory", "send", "--conversation", group["id"], CORPUS[0])
    w.cli("mallory", "card", "job", "--to", CARL, "--title", CORPUS[0], "--company", CORPUS[2], "--location", CORPUS[1],
          "--salary", CORPUS[7], "--description", CORPUS[3], "--link", "https://jobs.example.com/<script>")
    evil_file = w.tmp / FILE
    evil_file.write_text("just text\n")
    w.cli("mallory", "send", "--to", CARL, "--attach", str(evil_file), "the file")

    w.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    item = wait_for(lambda: next((e for e in w.tid("conversation-item") if "Mallory" in w.text(e) and "Team" not in w.text(e)), None), 30,
                    "Mallory's conversation is listed")
    assert NAME in w.text(item), f"the display name shows as the text it is: {w.text(item)}"
    group_item = wait_for(lambda: next((e for e in w.tid("conversation-item") if "Team" in w.text(e)), None), 30, "the group is listed")
    assert TITLE in w.text(group_item), f"the title shows as the text it is: {w.text(group_item)}"
    assert_nothing_ran(w, "the conversation list")

    item.click()
    for body in CORPUS:
        w.wait_message(body)
    card = wait_for(lambda: next((c for c in w.tid("job-card") if CORPUS[2] in w.text(c)), None), 30, "the card shows")
    for field in (CORPUS[0], CORPUS[2], CORPUS[1], CORPUS[7], CORPUS[3]):
        assert field in w.text(card), f"the card shows {field!r} as text: {w.text(card)}"
    # The engine keeps the name with the characters some file systems refuse (<>:"|?*) made _.
    wait_for(lambda: any("img src=x onerror=alert(1)" in w.text(a) for a in w.tid("file-card")), 30, "the file name shows as text")
    w.driver.execute_script("for (const e of document.querySelectorAll('[data-testid=message-list] *')) e.dispatchEvent(new MouseEvent('mouseover'))")
    assert_nothing_ran(w, "Mallory's thread")
    w.shot("hostile-content-as-text")

    group_item.click()
    w.wait_message(CORPUS[0])
    head = w.driver.find_element("css selector", ".conversation-head h2")
    assert TITLE in w.text(head), f"the header shows the title as text: {w.text(head)}"
    assert_nothing_ran(w, "the group")
