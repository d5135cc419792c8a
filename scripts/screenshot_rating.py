"""Screenshots of the rating app for the docs: the rating page of two run folders and the report of a votes database.

    python scripts/screenshot_rating.py RUN_A RUN_B --db auto.sqlite --out docs/images

Needs Debian's chromium + chromium-driver and selenium (the test extra). Serves on a free loopback port, stops itself.
"""

import argparse
import shutil
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from openimagen.rate.app import create_app
from openimagen.rate.pairing import open_pair
from openimagen.rate.server import make_rating_server
from openimagen.rate.store import VoteStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    parser.add_argument("--db", required=True, help="votes database for the report (its runs must be RUN_A RUN_B)")
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--rater", default="demo")
    args = parser.parse_args()
    names = {"run_a": str(Path(args.run_a).resolve()), "run_b": str(Path(args.run_b).resolve())}
    server = make_rating_server(create_app(open_pair(args.run_a, args.run_b), VoteStore(args.db, names)), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1150,820"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    base, out = f"http://127.0.0.1:{server.server_port}", Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for page, name in ((f"/rate?rater={args.rater}", "rating-page.png"), ("/results", "rating-report.png")):
            driver.get(base + page)
            time.sleep(1)
            driver.save_screenshot(str(out / name))
            print("wrote", out / name)
    finally:
        driver.quit()
        server.shutdown()


if __name__ == "__main__":
    main()
