"""The rating web app (Flask): `/` asks the rater's name, `/rate` shows the next prompt's two image sets blinded,
`POST /vote` stores both answers, `/img/...` serves an image by side (never by run, so URLs do not unblind),
`/results` shows the report, `/results.csv` and `/votes.csv` export it."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

from flask import Flask, Response, redirect, render_template_string, request, send_file

from openimagen.rate import pages
from openimagen.rate.pairing import RunPair, image_problem, left_run, prompt_order
from openimagen.rate.report import results_html
from openimagen.rate.stats import preference_table, table_csv, votes_csv
from openimagen.rate.store import VoteStore

RATER_NAME = re.compile(r"^[\w .@-]{1,40}$")
CLICKS = ("left", "same", "right")
QUESTION_TEXT = (("quality", "Which set of images is of higher quality?", "asd"),
                 ("alignment", "Which set of images better represents the text caption?", "jkl"))
logger = logging.getLogger("openimagen.rate")


class BadRequest(Exception):
    """A form or URL the app cannot act on: answered with 400 and the message."""


def answer_for(click: str, left: str) -> str:
    """The clicked side ('left' | 'same' | 'right') as a preference for a run ('A' | 'indifferent' | 'B')."""
    if click == "same":
        return "indifferent"
    right = "B" if left == "A" else "A"
    return left if click == "left" else right


def create_app(pair: RunPair, store: VoteStore) -> Flask:
    app = Flask("openimagen.rate")

    @app.errorhandler(BadRequest)
    def bad_request(error):
        return render_template_string(pages.ERROR, title="Bad request", message=str(error)), 400

    def rater_name(value: str | None) -> str:
        name = (value or "").strip()
        if not RATER_NAME.match(name):
            raise BadRequest("the rater name must be 1-40 letters, digits, spaces or . @ - _")
        return name

    def prompt_index(value: str | None) -> int:
        if value is None or not value.isdigit() or int(value) >= len(pair.prompts):
            raise BadRequest(f"unknown prompt {value!r}; prompts are 0..{len(pair.prompts) - 1}")
        return int(value)

    @app.get("/")
    def index():
        return render_template_string(pages.INDEX, title="Rating", per_set=pair.images_per_prompt["A"])

    @app.get("/rate")
    def rate():
        rater = rater_name(request.args.get("rater"))
        done = store.rated_prompts(rater)
        remaining = [i for i in prompt_order(store.salt, rater, len(pair.prompts)) if i not in done]
        if not remaining:
            return render_template_string(pages.DONE, title="Done", rater=rater, total=len(pair.prompts))
        prompt = pair.prompts[remaining[0]]
        left = left_run(store.salt, rater, prompt.index)
        sides = {"left": left, "right": "B" if left == "A" else "A"}
        problems = []
        for side, run in sides.items():
            for k, path in enumerate(pair.images(run, prompt.index)):
                problem = image_problem(path)
                if problem:
                    logger.warning("prompt %d, run %s: %s is %s", prompt.index, run, path, problem)
                    problems.append(f"Image {k + 1} of the {side} set is {problem}: it is shown as a placeholder. "
                                    "Rate what you can see, or tell the organiser.")
        return render_template_string(pages.RATE, title="Rating", rater=rater, prompt=prompt, done=len(done),
                                      total=len(pair.prompts), problems=problems, questions=QUESTION_TEXT,
                                      counts={s: pair.images_per_prompt[r] for s, r in sides.items()},
                                      saved=request.args.get("saved") == "1")

    @app.post("/vote")
    def vote():
        rater = rater_name(request.form.get("rater"))
        index = prompt_index(request.form.get("prompt"))
        clicks = {}
        for question, text, _ in QUESTION_TEXT:
            click = request.form.get(question)
            if click not in CLICKS:
                raise BadRequest(f"answer the question {text!r} with one of {', '.join(CLICKS)} (got {click!r})")
            clicks[question] = click
        left = left_run(store.salt, rater, index)
        prompt = pair.prompts[index]
        store.record(rater, index, prompt.prompt, prompt.category, left,
                     {question: answer_for(click, left) for question, click in clicks.items()})
        return redirect("/rate?" + urlencode({"rater": rater, "saved": 1}), code=303)

    @app.get("/img/<side>/<int:index>/<int:k>")
    def image(side: str, index: int, k: int):
        rater = rater_name(request.args.get("rater"))
        if side not in ("left", "right"):
            raise BadRequest(f"side must be left or right, got {side!r}")
        index = prompt_index(str(index))
        left = left_run(store.salt, rater, index)
        run = left if side == "left" else ("B" if left == "A" else "A")
        paths = pair.images(run, index)
        problem = image_problem(paths[k]) if k < len(paths) else "missing"
        if problem:
            return Response(pages.PLACEHOLDER_SVG.format(reason=problem), mimetype="image/svg+xml",
                            headers={"X-Image-Problem": problem, "Cache-Control": "no-store"})
        return send_file(paths[k].resolve(), mimetype="image/png", max_age=0)

    @app.get("/results")
    def results():
        return results_html(store.votes(), pair.run_a, pair.run_b)

    @app.get("/results.csv")
    def results_csv():
        return Response(table_csv(preference_table(store.votes())), mimetype="text/csv")

    @app.get("/votes.csv")
    def all_votes_csv():
        return Response(votes_csv(store.votes()), mimetype="text/csv")

    return app
