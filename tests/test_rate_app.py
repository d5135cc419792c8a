"""The rating app through Flask's test client: blinding, votes as de-blinded rows, resume, duplicates, bad input,
broken images, runs that do not match, and the statistics of the report."""

import sqlite3

import pytest

from openimagen.rate.app import answer_for, create_app
from openimagen.rate.pairing import PairingError, left_run, open_pair, prompt_order
from openimagen.rate.stats import preference_table, wilson
from openimagen.rate.store import StoreError, VoteStore
from rate_helpers import PROMPTS, make_run


@pytest.fixture
def runs(tmp_path):
    return make_run(tmp_path / "run-red", "red"), make_run(tmp_path / "run-blue", "blue")


@pytest.fixture
def store(tmp_path, runs):
    return VoteStore(tmp_path / "votes.sqlite", {"run_a": str(runs[0]), "run_b": str(runs[1])})


@pytest.fixture
def client(runs, store):
    return create_app(open_pair(*runs), store).test_client()


def rows(store):
    return [(v["rater"], v["prompt_index"], v["question"], v["answer"], v["left_run"]) for v in store.votes()]


def next_prompt(client, rater):
    page = client.get("/rate", query_string={"rater": rater}).get_data(as_text=True)
    return next(i for i, (prompt, _) in enumerate(PROMPTS) if f'id="caption">{prompt}<' in page)


def test_a_click_on_a_side_is_stored_as_a_preference_for_the_run_shown_there():
    assert [answer_for(click, "A") for click in ("left", "same", "right")] == ["A", "indifferent", "B"]
    assert [answer_for(click, "B") for click in ("left", "same", "right")] == ["B", "indifferent", "A"]


def test_sides_are_a_fair_coin_per_rater_and_prompt_and_orders_differ_between_raters():
    lefts = [left_run("salt", "alice", i) for i in range(400)]
    assert 150 < lefts.count("A") < 250 and lefts == [left_run("salt", "alice", i) for i in range(400)]
    assert lefts != [left_run("salt", "bob", i) for i in range(400)]
    assert sorted(prompt_order("salt", "alice", 50)) == list(range(50))
    assert prompt_order("salt", "alice", 50) != prompt_order("salt", "bob", 50)


def test_a_vote_stores_one_row_per_question_with_the_sides_and_moves_on(client, store):
    index = next_prompt(client, "alice")
    response = client.post("/vote", data={"rater": "alice", "prompt": index, "quality": "left", "alignment": "same"})
    assert response.status_code == 303 and "saved=1" in response.headers["Location"]
    left = left_run(store.salt, "alice", index)
    assert rows(store) == [("alice", index, "quality", left, left), ("alice", index, "alignment", "indifferent", left)]
    assert next_prompt(client, "alice") != index


def test_a_rater_resumes_where_they_left_off_and_finishes(client, store):
    seen = []
    for _ in PROMPTS:
        index = next_prompt(client, "bob")
        seen.append(index)
        client.post("/vote", data={"rater": "bob", "prompt": index, "quality": "right", "alignment": "right"})
    assert sorted(seen) == [0, 1, 2]
    assert 'id="done"' in client.get("/rate?rater=bob").get_data(as_text=True)
    assert next_prompt(client, "carol") in (0, 1, 2)                   # another rater starts afresh


def test_a_repeated_submission_is_not_counted_twice(client, store):
    form = {"rater": "alice", "prompt": 1, "quality": "left", "alignment": "left"}
    client.post("/vote", data=form)
    client.post("/vote", data={**form, "quality": "right"})
    assert len(store.votes()) == 2 and store.votes()[0]["answer"] == left_run(store.salt, "alice", 1)


@pytest.mark.parametrize("form, phrase", [
    ({"rater": "alice", "prompt": "0", "quality": "left"}, "better represents the text caption"),
    ({"rater": "alice", "prompt": "0", "quality": "up", "alignment": "left"}, "left, same, right"),
    ({"rater": "alice", "prompt": "9", "quality": "left", "alignment": "left"}, "unknown prompt"),
    ({"rater": "<script>", "prompt": "0", "quality": "left", "alignment": "left"}, "rater name"),
])
def test_bad_form_input_is_a_400_with_a_message_and_stores_nothing(client, store, form, phrase):
    response = client.post("/vote", data=form)
    assert response.status_code == 400 and phrase in response.get_data(as_text=True)
    assert store.votes() == []


def test_a_missing_or_unreadable_image_shows_a_placeholder_and_a_message(client, runs, store):
    for run in runs:
        for index in range(len(PROMPTS)):
            (run / "images" / f"{index:04d}-1.png").write_bytes(b"broken")
            (run / "images" / f"{index:04d}-0.png").unlink()
    page = client.get("/rate?rater=dora")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Image 1 of the left set is missing" in text and "Image 2 of the right set is unreadable" in text
    image = client.get(f"/img/left/{next_prompt(client, 'dora')}/1?rater=dora")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml" and b"unreadable" in image.data


def test_images_are_served_by_side_so_urls_do_not_name_the_run(client, runs, store):
    index = next_prompt(client, "erin")
    left = left_run(store.salt, "erin", index)
    image = client.get(f"/img/left/{index}/0?rater=erin")
    folder = runs[0] if left == "A" else runs[1]
    assert image.data == (folder / "images" / f"{index:04d}-0.png").read_bytes()
    assert str(folder.name) not in client.get("/rate?rater=erin").get_data(as_text=True).split("<body>")[1]


def test_runs_of_different_prompts_are_refused_naming_the_difference(tmp_path):
    a = make_run(tmp_path / "a", "red")
    b = make_run(tmp_path / "b", "blue", prompts=[PROMPTS[0], ("two red squares", "count"), PROMPTS[2]])
    with pytest.raises(PairingError, match="prompt 1 is 'two blue squares'.*'two red squares'"):
        open_pair(a, b)
    c = make_run(tmp_path / "c", "blue", prompts=PROMPTS[:2])
    with pytest.raises(PairingError, match="has 3, RUN_B .* has 2"):
        open_pair(a, c)


def test_a_database_of_other_runs_is_refused(tmp_path, runs, store):
    with pytest.raises(StoreError, match="other runs"):
        VoteStore(store.path, {"run_a": str(runs[1]), "run_b": str(runs[0])})


def test_the_database_is_in_wal_mode_and_answers_are_constrained(store):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO votes (rater, prompt_index, prompt, category, question, answer, left_run, created) "
                   "VALUES ('x', 0, 'p', 'c', 'quality', 'maybe', 'A', 'now')")


def test_wilson_intervals_match_known_values():
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_table_has_rates_summing_to_one_per_category_and_overall():
    votes = [{"question": "quality", "category": c, "answer": a}
             for c, a in [("x", "A"), ("x", "A"), ("x", "B"), ("y", "indifferent")]]
    table = {(r["question"], r["category"]): r for r in preference_table(votes)}
    assert set(table) == {("quality", "x"), ("quality", "y"), ("quality", "overall")}
    overall = table["quality", "overall"]
    assert (overall["A"], overall["indifferent"], overall["B"], overall["votes"]) == (2, 1, 1, 4)
    assert overall["A_rate"] + overall["indifferent_rate"] + overall["B_rate"] == pytest.approx(1)
    assert overall["A_low"] < overall["A_rate"] < overall["A_high"]


def test_the_results_page_escapes_prompts_and_categories(tmp_path):
    from openimagen.rate.report import results_html

    votes = [{"rater": "x", "question": "quality", "category": "<b>bold</b>", "answer": "A"}]
    html = results_html(votes, "<run-a>", "run-b")
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "&lt;run-a&gt;" in html
