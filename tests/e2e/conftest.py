"""The world the desktop end-to-end tests run in: a real hub (its Twilio bridge talking to a local
fake Twilio), `rapport-cli` participants, dunst, and the built app driven through tauri-driver + WebKitWebDriver. Expects to run under Xvfb and
dbus-run-session (scripts/test-desktop does both)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions

from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
APP = Path(os.environ.get("RAPPORT_E2E_APP", TARGET / "debug" / "rapport"))
HUB = Path(os.environ.get("RAPPORT_E2E_HUB", TARGET / "debug" / "rapport-hub"))
CLI = Path(os.environ.get("RAPPORT_E2E_CLI", TARGET / "debug" / "rapport-cli"))
SHOTS = ROOT / "tests" / "screenshots"
PASSWORD = "correct-horse-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, timeout, message, interval=0.2):
    """Polls `what()` until it returns something truthy; fails with `message` and the last error."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = what()
            if value:
                return value
        except Exception as error:  # the DOM changes under us; try again
            last = error
        time.sleep(interval)
    raise AssertionError(f"{message} (waited {timeout}s; last error: {last!r})")


class World:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub = None
        self.twilio = FakeTwilio()
        self.procs = []
        self.driver = None
        self.shot_index = 0

    # --- hub and CLI -------------------------------------------------------------------------
    def start_hub(self):
        log = open(self.tmp / "hub.log", "ab")
        self.hub = subprocess.Popen(
            [str(HUB), "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.tmp / "hub"),
             "--api-key", "e2e-key", "--presence-grace", "1", "--heartbeat-ms", "5000",
             # The WhatsApp/SMS bridge, with Twilio played by a local fake.
             "--twilio-auth-token", AUTH_TOKEN, "--twilio-account-sid", ACCOUNT_SID,
             "--public-url", self.url, "--twilio-api-url", self.twilio.url],
            stdout=log, stderr=log)
        wait_for(lambda: urllib.request.urlopen(f"{self.url}/healthz", timeout=1).status == 200, 20, "the hub did not start")

    def kill_hub(self):
        self.hub.send_signal(signal.SIGKILL)
        self.hub.wait(10)

    def cli(self, who, *args, check=True, timeout=40):
        result = subprocess.run(
            [str(CLI), "--hub", self.url, "--profile", str(self.tmp / f"cli-{who}"), *args],
            capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"rapport-cli {' '.join(args)} exited {result.returncode}: {result.stderr}")
        return result

    def rest(self, method, path, body=None, token=None):
        """One REST call to the hub; its JSON answer (None when empty). An error status raises."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", method=method, data=data, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def spawn(self, argv, name, **kw):
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=log, **kw)
        self.procs.append(proc)
        return proc

    def notify_api(self, email, kind, title, body):
        req = urllib.request.Request(f"{self.url}/v1/notifications", method="POST",
                                     data=json.dumps({"email": email, "kind": kind, "title": title, "body": body}).encode(),
                                     headers={"Content-Type": "application/json", "X-Api-Key": "e2e-key"})
        return urllib.request.urlopen(req, timeout=5).status

    # --- the app -----------------------------------------------------------------------------
    def start_app(self):
        home = self.tmp / "home"
        home.mkdir()
        # What the app hands to the system opener lands in `opened.txt` (nothing is opened).
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        opener = bin_dir / "xdg-open"
        opener.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{self.tmp / "opened.txt"}"\n')
        opener.chmod(0o755)
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
                   XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
                   RAPPORT_HUB=self.url, RAPPORT_LOG="info,rapport=debug",
                   PATH=f"{bin_dir}:{os.environ.get('PATH', '')}")
        port, native = free_port(), free_port()
        self.spawn(["tauri-driver", "--port", str(port), "--native-port", str(native)], "tauri-driver", env=env)
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1), 20, "tauri-driver did not start")
        options = ArgOptions()
        options.set_capability("browserName", "wry")
        options.set_capability("tauri:options", {"application": str(APP)})
        self.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        self.driver.implicitly_wait(0)

    def switch_user(self, email):
        """Signs the app out (from the presence menu) and in again as `email`."""
        self.driver.find_element(By.CSS_SELECTOR, "body").send_keys(Keys.ESCAPE)
        self.one("presence-menu").click()
        self.one("sign-out").click()
        self.one("login-email", timeout=30).send_keys(email)
        self.one("login-password").send_keys(PASSWORD)
        self.one("login-submit").click()
        self.one("conversation-list", timeout=30)

    def tid(self, name, within=None):
        return (within or self.driver).find_elements(By.CSS_SELECTOR, f'[data-testid="{name}"]')

    def text(self, element):
        """The element's text (textContent: WebKitWebDriver's own text getter is unreliable)."""
        return " ".join(self.driver.execute_script("return arguments[0].textContent", element).split())

    def one(self, name, timeout=20):
        return wait_for(lambda: next((e for e in self.tid(name) if e.is_displayed()), None), timeout, f"no visible {name}")

    def messages(self):
        return self.driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=message]')].map(e => ({"
            " text: e.querySelector('.body')?.textContent ?? '', seq: e.dataset.seq, state: e.dataset.state,"
            " key: e.dataset.key, deleted: e.dataset.deleted === 'true',"
            " imgs: e.querySelectorAll('img').length }))")

    def wait_message(self, text, timeout=30):
        return wait_for(lambda: next((m for m in self.messages() if m["text"] == text), None), timeout,
                        f"message {text!r} never showed up")

    def shot(self, name):
        self.shot_index += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.shot_index:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def screen(self, name):
        """The whole X screen (notifications included), not just the web view."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.shot_index += 1
        path = SHOTS / f"{self.shot_index:02d}-{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=False, timeout=30)
        return path

    def close(self):
        if self.driver:
            try:
                self.driver.quit()
            except Exception:
                pass
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.hub and self.hub.poll() is None:
            self.hub.terminate()
            self.hub.wait(15)
        self.twilio.close()


@pytest.fixture(scope="session")
def world():
    for tool in ("tauri-driver", "WebKitWebDriver", "dunst", "dunstctl"):
        assert shutil.which(tool), f"{tool} is not installed (scripts/test-desktop installs it)"
    for binary in (APP, HUB, CLI):
        assert binary.exists(), f"{binary} is missing: build it first (scripts/test-desktop)"
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    tmp = Path(tempfile.mkdtemp(prefix="rapport-e2e-"))
    w = World(tmp)
    try:
        w.spawn(["dunst"], "dunst")
        w.start_hub()
        w.cli("dana", "register", "--email", "dana@e2e.test", "--password", PASSWORD, "--name", "Dana Whitfield", "--role", "recruiter")
        w.cli("carl", "register", "--email", "carl@e2e.test", "--password", PASSWORD, "--name", "Carl Jensen", "--role", "candidate")
        w.cli("carl", "send", "--to", "dana@e2e.test", "Hi Dana! Thanks for getting in touch about the Rust role.")
        w.start_app()
        yield w
    finally:
        w.close()
        print(f"\nlogs of this run: {tmp}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed step leaves a screenshot and the page's HTML next to the others."""
    outcome = yield
    report = outcome.get_result()
    w = item.funcargs.get("world")
    if report.when == "call" and report.failed and w is not None and w.driver is not None:
        try:
            SHOTS.mkdir(parents=True, exist_ok=True)
            w.driver.save_screenshot(str(SHOTS / f"FAILED-{item.name}.png"))
            (SHOTS / f"FAILED-{item.name}.html").write_text(w.driver.page_source)
        except Exception:
            pass
