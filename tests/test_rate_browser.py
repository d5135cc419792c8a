"""End to end in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven by Selenium): a rater
enters a name, votes with the mouse and with the keyboard, and the SQLite rows and the report show exactly those
votes. Skipped where Chromium or its driver is not installed (`.ci/run` installs them).

Set OPENIMAGEN_SCREENSHOTS=DIR to save the rating page and the report as PNGs (docs/images/ has them)."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from openimagen.rate.app import create_app
from openimagen.rate.pairing import left_run, open_pair
from openimagen.rate.server import make_rating_server
from openimagen.rate.store import VoteStore
from rate_helpers import PROMPTS, make_run

CHROMIUM, DRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Chromium and chromedriver are not installed "
                                "(apt-get install chromium chromium-driver)")


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")      # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1150,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def app_server(tmp_path):
    runs = make_run(tmp_path / "run-a", "#d33", size=32), make_run(tmp_path / "run-b", "#36c", size=32)
    store = VoteStore(tmp_path / "votes.sqlite", {"run_a": str(runs[0]), "run_b": str(runs[1])})
    server = make_rating_server(create_app(open_pair(*runs), store), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", store
    server.shutdown()
    thread.join(timeout=10)


def wait_for_text(driver, element_id, text, timeout=60):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.ID, element_id).text)


def current_prompt(driver):
    from selenium.webdriver.common.by import By

    caption = driver.find_element(By.ID, "caption").text
    return next(i for i, (prompt, _) in enumerate(PROMPTS) if prompt == caption)


def other(run):
    return "B" if run == "A" else "A"


def test_a_rater_votes_with_mouse_and_keyboard_and_the_rows_and_report_show_it(browser, app_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    base, store = app_server
    shots = os.environ.get("OPENIMAGEN_SCREENSHOTS")
    browser.get(base + "/")
    browser.find_element(By.ID, "rater").send_keys("alice")
    browser.find_element(By.ID, "start").click()
    wait_for_text(browser, "rater-name", "alice")
    assert browser.execute_script("return document.getElementById('left-1').naturalWidth") == 32
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(shots) / "rating-page.png"))

    first = current_prompt(browser)                                   # the mouse: click the answers, then Submit
    browser.find_element(By.ID, "quality-left").click()
    browser.find_element(By.ID, "alignment-right").click()
    browser.find_element(By.ID, "submit").click()
    wait_for_text(browser, "saved", "saved")

    second = current_prompt(browser)                                  # the keyboard: D (quality: right), J, Enter
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("d")
    body.send_keys("j")
    body.send_keys(Keys.ENTER)
    WebDriverWait(browser, 60).until(lambda d: current_prompt(d) != second)

    third = current_prompt(browser)                                   # one answer only: Enter must not submit
    browser.find_element(By.TAG_NAME, "body").send_keys("a", Keys.ENTER)
    time.sleep(1)                                                     # time enough for a submission to land
    assert current_prompt(browser) == third

    left1, left2 = (left_run(store.salt, "alice", p) for p in (first, second))
    got = {(v["prompt_index"], v["question"]): (v["answer"], v["left_run"], v["rater"]) for v in store.votes()}
    assert got == {(first, "quality"): (left1, left1, "alice"), (first, "alignment"): (other(left1), left1, "alice"),
                   (second, "quality"): (other(left2), left2, "alice"), (second, "alignment"): (left2, left2, "alice")}

    browser.get(base + "/results")
    table = browser.find_element(By.ID, "table").text
    assert "overall" in table and browser.find_elements(By.CSS_SELECTOR, "svg rect")
    if shots:
        browser.save_screenshot(str(Path(shots) / "rating-report.png"))
