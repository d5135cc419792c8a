"""`openimagen eval clip-score` with a tiny randomly initialised CLIP built here (no downloads): the score is
100 x max(cos, 0) of CLIP's embeddings, captions come from .txt files or a manifest, and missing weights are
one line."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

from openimagen.eval.clip_score import ClipScorer, _image_processor
from cascade_helpers import one_thread  # noqa: F401 - autouse fixture
from cli_helpers import assert_one_line_error, cli


def byte_level_vocab():
    """CLIP's byte-to-unicode alphabet, each symbol alone and word-final: a tokenizer with no merges."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    symbols, extra = [], 0
    for byte in range(256):
        symbols.append(chr(byte) if byte in printable else chr(256 + extra))
        extra += byte not in printable
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    torch.manual_seed(0)
    config = CLIPConfig(text_config=dict(vocab_size=520, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, max_position_embeddings=32),
                        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                           num_attention_heads=2, image_size=224, patch_size=32),
                        projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    # from files, as transformers 4.x (vocab_file, merges_file) and 5.x (vocab, merges) both take them positionally
    (folder / "vocab.json").write_text(json.dumps(byte_level_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    _image_processor(folder).save_pretrained(folder)
    return folder


def captioned_folder(folder, captions):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k, caption in enumerate(captions):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"{k}.png")
        (folder / f"{k}.txt").write_text(caption)
    return folder


def test_score_is_100_times_the_clamped_cosine_of_clips_embeddings(clip_folder):
    scorer = ClipScorer.load(clip_folder)
    images = [Image.new("RGB", (50, 40), color) for color in ("red", "blue", "white")]
    captions = ["a red circle", "blue", "nothing at all"]
    scores = scorer(images, captions)
    pixels = scorer.image_processor(images=images, return_tensors="pt")["pixel_values"]
    tokens = scorer.tokenizer(captions, padding=True, return_tensors="pt")
    with torch.no_grad():
        image_embeds = scorer.model.get_image_features(pixel_values=pixels)
        text_embeds = scorer.model.get_text_features(**tokens)
    image_embeds = getattr(image_embeds, "pooler_output", image_embeds)
    text_embeds = getattr(text_embeds, "pooler_output", text_embeds)
    cosine = torch.nn.functional.cosine_similarity(image_embeds, text_embeds).numpy()
    assert scores == pytest.approx(100 * np.maximum(cosine, 0), abs=1e-4)
    assert scores[1] == pytest.approx(scorer(images[1:2], captions[1:2])[0], abs=1e-4)   # batch-independent


def test_command_averages_over_txt_captions_and_a_manifest_alike(tmp_path, clip_folder):
    images = captioned_folder(tmp_path / "images", ["a red circle", "two blue squares", "a green star"])
    manifest = tmp_path / "captions.jsonl"
    manifest.write_text("".join(json.dumps({"path": f"{k}.png", "caption": (images / f"{k}.txt").read_text()}) + "\n"
                                for k in range(3)))
    by_txt = cli("eval", "clip-score", images, "--weights", clip_folder, "--out", tmp_path / "a.json")
    by_manifest = cli("eval", "clip-score", images, manifest, "--weights", clip_folder, "--out", tmp_path / "b.json")
    assert by_txt.exit_code == 0 and by_manifest.exit_code == 0, by_txt.output + by_manifest.output
    a, b = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    scorer = ClipScorer.load(clip_folder)
    expected = scorer([Image.open(images / f"{k}.png") for k in range(3)],
                      [(images / f"{k}.txt").read_text() for k in range(3)]).mean()
    assert a["clip_score"] == pytest.approx(expected, abs=1e-4) and b["clip_score"] == pytest.approx(expected, abs=1e-4)
    assert a["num_images"] == 3 and by_txt.stdout.startswith("CLIP score ")


def test_missing_clip_weights_offline_is_one_line_naming_the_model_and_the_option(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    images = captioned_folder(tmp_path / "images", ["a red circle"])
    result = cli("eval", "clip-score", images, "--weights", "someone/no-such-clip")
    assert_one_line_error(result, "someone/no-such-clip")
    assert "--weights" in result.stderr


def test_images_without_captions_are_refused_with_the_way_out(tmp_path, clip_folder):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "0.png")
    assert_one_line_error(cli("eval", "clip-score", folder, "--weights", clip_folder), "CAPTIONS manifest")


def test_a_drawbench_run_folder_supplies_its_prompts_as_captions(tmp_path):
    from openimagen.eval.image_sets import captioned_images
    from rate_helpers import PROMPTS, make_run

    run = make_run(tmp_path / "run", "red", images_per_prompt=2)
    pairs = captioned_images(run)
    assert [(path.name, caption) for path, caption in pairs][:3] == [
        ("0000-0.png", PROMPTS[0][0]), ("0000-1.png", PROMPTS[0][0]), ("0001-0.png", PROMPTS[1][0])]
    assert len(pairs) == 2 * len(PROMPTS)


def test_an_image_without_a_usable_caption_is_refused_naming_it_and_the_count(tmp_path, clip_folder):
    """Not a mean over the captioned subset: the first such image, how many and why."""
    images = captioned_folder(tmp_path / "images", ["a red circle", "two blue squares", "a green star"])
    (images / "1.txt").unlink()
    result = cli("eval", "clip-score", images, "--weights", clip_folder)
    assert_one_line_error(result, f"{images}: 1 of 3 images cannot be scored (1 with no .txt caption); "
                                  f"the first: {images / '1.png'} (expected 1.txt beside it)")


def test_captions_that_are_not_utf8_are_named_as_such_not_as_missing(tmp_path, clip_folder):
    images = captioned_folder(tmp_path / "images", ["a red circle", "two blue squares"])
    for k in range(2):
        (images / f"{k}.txt").write_bytes("caf\u00e9".encode("latin-1"))
    result = cli("eval", "clip-score", images, "--weights", clip_folder)
    assert_one_line_error(result, "2 of 2 images cannot be scored (2 with a caption that is not UTF-8); the "
                                  f"first: {images / '0.png'} ({images / '0.txt'} line 1: not UTF-8 text (byte 0xe9)")
    assert "beside it" not in result.stderr


@pytest.mark.parametrize("weights", ["nope_dir", "nope_dir/", "./nope/dir", "a/b/c"])
def test_weights_that_name_a_missing_folder_are_no_such_folder_without_a_hub_lookup(tmp_path, monkeypatch, weights):
    import huggingface_hub

    def no_lookup(*_args, **_kwargs):
        raise AssertionError("asked the Hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_lookup)
    monkeypatch.chdir(tmp_path)
    images = captioned_folder(tmp_path / "images", ["a red circle"])
    assert_one_line_error(cli("eval", "clip-score", images, "--weights", weights),
                          f"--weights {weights}: no such folder; pass a saved CLIP folder or a hub name")


def test_a_link_loop_scores_each_image_once_and_is_not_called_uncaptioned(tmp_path):
    from openimagen.eval.image_sets import captioned_images

    images = captioned_folder(tmp_path / "images", ["a red circle", "two blue squares"])
    (images / "again").symlink_to(images, target_is_directory=True)
    pairs = captioned_images(images)
    assert sorted(caption for _, caption in pairs) == ["a red circle", "two blue squares"]
