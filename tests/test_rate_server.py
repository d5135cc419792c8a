"""The rating server over real HTTP on loopback: concurrent raters never lose or duplicate a vote, and kill -9 of the
server process loses no acknowledged vote. Every request goes to 127.0.0.1 and every server stops by itself."""

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import pytest

from openimagen.rate.app import create_app
from openimagen.rate.pairing import open_pair
from openimagen.rate.server import make_rating_server
from openimagen.rate.store import VoteStore
from rate_helpers import PROMPTS, make_run


def post_vote(base, rater, prompt, quality="left", alignment="right"):
    """POST /vote and return the status of the answer (303 = acknowledged), without following the redirect."""
    data = urllib.parse.urlencode({"rater": rater, "prompt": prompt, "quality": quality,
                                   "alignment": alignment}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(base + "/vote", data=data, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def runs(tmp_path):
    return make_run(tmp_path / "run-a", "red"), make_run(tmp_path / "run-b", "blue")


def test_concurrent_raters_and_repeated_submissions_store_each_answer_exactly_once(tmp_path, runs):
    store = VoteStore(tmp_path / "votes.sqlite", {"run_a": str(runs[0]), "run_b": str(runs[1])})
    server = make_rating_server(create_app(open_pair(*runs), store), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    statuses = []

    def rater(name):
        for index in range(len(PROMPTS)):
            statuses.append(post_vote(base, name, index))

    try:
        workers = [threading.Thread(target=rater, args=(name,)) for name in ("ann", "ann", "ben", "ben")]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert statuses == [303] * 12
    votes = store.votes()
    keys = [(v["rater"], v["prompt_index"], v["question"]) for v in votes]
    assert len(keys) == len(set(keys)) == 2 * len(PROMPTS) * 2


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_kill_9_of_the_server_loses_no_acknowledged_vote(tmp_path, runs):
    db, port = tmp_path / "votes.sqlite", free_port()
    command = [sys.executable, "-c", "from openimagen.cli import run; run()", "rate", str(runs[0]), str(runs[1]),
               "--db", str(db), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        banner = server.stdout.readline()                  # printed once the socket listens
        assert f"http://127.0.0.1:{port}/" in banner, banner
        acknowledged = [index for index in range(len(PROMPTS)) if post_vote(f"http://127.0.0.1:{port}", "kim", index) == 303]
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert server.returncode == -signal.SIGKILL and acknowledged == [0, 1, 2]
    store = VoteStore(db, {})
    assert sorted({v["prompt_index"] for v in store.votes()}) == acknowledged and len(store.votes()) == 6
