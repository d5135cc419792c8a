"""Stage training pieces: per-sample randomness, SR data (downsample + paired crop), the loss, text embeddings."""

import pytest
import torch

from openimagen.cascade.config import StageConfig
from openimagen.cascade.randomness import SampleRandom
from openimagen.cascade.stage import build_stage_network, stage_loss
from openimagen.data import downsample, paired_random_crop
from openimagen.cascade.text_embedder import TextEmbedder
from cascade_helpers import WordEncoder, one_thread, perturb  # noqa: F401 - autouse fixture


def test_sample_randomness_depends_on_the_sample_not_on_how_batches_are_split():
    whole = SampleRandom(7, [0, 1, 2, 3])
    halves = SampleRandom(7, [0, 1]), SampleRandom(7, [2, 3])
    assert torch.equal(whole.normal((2, 3)), torch.cat([h.normal((2, 3)) for h in halves]))
    assert torch.equal(whole.stratified(4), torch.cat([h.stratified(4) for h in halves]))
    assert not torch.equal(SampleRandom(8, [0]).uniform(), SampleRandom(7, [0]).uniform())


def test_stratified_times_cover_the_unit_interval_once_per_group():
    t = SampleRandom(0, range(8)).stratified(8)
    assert torch.equal((t * 8).floor().sort().values, torch.arange(8.0))


def test_paired_crop_takes_the_same_region_of_the_high_and_low_res_images():
    hi = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    lo = hi[:, :, ::2, ::2]   # a "downsample" whose pixels we can trace
    crop_hi, crop_lo = paired_random_crop(hi, lo, 8, SampleRandom(3, [0, 1]).generators)
    assert crop_hi.shape == (2, 3, 8, 8) and crop_lo.shape == (2, 3, 4, 4)
    assert torch.equal(crop_hi[:, :, ::2, ::2], crop_lo)
    again_hi, _ = paired_random_crop(hi[1:], lo[1:], 8, SampleRandom(3, [1]).generators)
    assert torch.equal(again_hi, crop_hi[1:])   # a sample's crop depends on its own key only


def test_sr_stage_loss_depends_on_the_lowres_image_and_its_aug_level():
    stage = StageConfig(resolution=16, network="tiny-test-sr")
    torch.manual_seed(0)
    network = perturb(build_stage_network(stage, 32, super_resolution=True))   # a fresh one outputs 0 for anything
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    emb, mask = torch.randn(2, 3, 32), torch.ones(2, 3, dtype=torch.bool)
    seen = []

    def spy(z, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None):
        seen.append({"z": z, "log_snr": log_snr, "lowres": lowres, "aug_log_snr": aug_log_snr})
        return network(z, log_snr, text_emb, text_mask, lowres=lowres, aug_log_snr=aug_log_snr)

    lowres = downsample(images, 8)
    loss = stage_loss(spy, stage, images, emb, mask, SampleRandom(0, [0, 1]), lowres=lowres)
    assert loss.shape == (2,) and torch.isfinite(loss).all()
    assert torch.equal(loss, stage_loss(network, stage, images, emb, mask, SampleRandom(0, [0, 1]), lowres=lowres))
    other = stage_loss(network, stage, images, emb, mask, SampleRandom(0, [0, 1]), lowres=lowres.flip(0))
    assert not torch.allclose(loss, other)                    # the low-res image reaches the network
    call = seen[0]
    assert call["aug_log_snr"].shape == (2,) and not torch.equal(call["lowres"], lowres)   # augmented, level told
    args = (call["z"], call["log_snr"], emb, mask)
    with torch.no_grad():
        told = network(*args, lowres=call["lowres"], aug_log_snr=call["aug_log_snr"])
        other_level = network(*args, lowres=call["lowres"], aug_log_snr=call["aug_log_snr"] + 3.0)
    assert not torch.allclose(told, other_level)              # and so does its aug level


def test_text_embedder_uses_zero_tokens_for_the_empty_prompt_and_encodes_the_rest():
    embedder = TextEmbedder(encoder=WordEncoder())
    emb, mask = embedder(["red circle", "", "blue"])
    assert emb.shape == (3, 2, 32) and mask.tolist() == [[True, True], [False, False], [True, False]]
    assert torch.all(emb[1] == 0) and embedder.encoder_forwards == 2


def test_text_embedder_reads_cached_captions_without_loading_the_encoder(tmp_path):
    from openimagen.text import EmbeddingCache, encode_captions

    encode_captions(["red circle", "blue"], WordEncoder(), tmp_path / "cache")
    def never():
        raise AssertionError("the encoder must not be loaded when every caption is cached")
    embedder = TextEmbedder(load_encoder=never, cache=EmbeddingCache(tmp_path / "cache"))
    emb, mask = embedder(["blue", "", "red circle"])
    reference, ref_mask = WordEncoder().encode(["blue", "", "red circle"])
    assert torch.equal(mask, ref_mask) and torch.allclose(emb, reference, atol=1e-2)  # the cache stores fp16


def test_text_embedder_refuses_a_cache_written_by_another_encoder(tmp_path):
    from openimagen.text import EmbeddingCache, encode_captions

    encode_captions(["red circle"], WordEncoder(), tmp_path / "cache", progress=False)

    class OtherEncoder(WordEncoder):
        id = "another-encoder"
    embedder = TextEmbedder(load_encoder=OtherEncoder, cache=EmbeddingCache(tmp_path / "cache"))
    assert embedder(["red circle"])[0].shape == (1, 2, 32)   # cached: no encoder needed
    with pytest.raises(ValueError, match="was written by word-encoder.*another-encoder"):
        embedder(["not cached"])


def test_a_crop_the_network_cannot_downsample_is_a_config_error():
    from openimagen.config import ConfigError

    stage = StageConfig(resolution=16, network="tiny-test-sr", crop_size=6)   # Efficient U-Net: factor 4
    with pytest.raises(ConfigError, match="crop_size=6 is not divisible by 4"):
        build_stage_network(stage, 32, super_resolution=True)


def test_sr_training_draws_aug_levels_from_the_stage_train_aug_range():
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, z, log_snr, text_emb, text_mask, lowres=None, aug_log_snr=None):
            seen.append(aug_log_snr)
            return torch.zeros_like(z)

    images = torch.rand(64, 3, 8, 8) * 2 - 1
    emb, mask = torch.randn(64, 2, 4), torch.ones(64, 2, dtype=torch.bool)
    for lo_hi in [(0.0, 1.0), (0.0, 0.25), (0.5, 0.5)]:
        stage = StageConfig(resolution=8, network="tiny-test-sr", train_aug_range=lo_hi)
        stage_loss(Spy(), stage, images, emb, mask, SampleRandom(1, range(64)), lowres=downsample(images, 4))
    schedule = stage.diffusion_config.get_schedule()
    levels = [schedule.t_from_log_snr(log_snr) for log_snr in seen]
    assert levels[0].max() > 0.8 and levels[0].min() < 0.2             # the paper's U(0, 1)
    assert levels[1].max() <= 0.25 + 1e-4 and levels[1].max() > 0.2    # U(0, 0.25)
    assert torch.allclose(levels[2], torch.full((64,), 0.5), atol=1e-4)


def test_train_aug_range_must_be_an_ordered_pair_inside_the_unit_interval():
    from openimagen.config import ConfigError

    for bad in [(0.5, 0.2), (0.0, 1.5), (0.0, 0.0), (0.1,)]:
        with pytest.raises(ConfigError, match="train_aug_range"):
            StageConfig(resolution=16, network="tiny-test-sr", train_aug_range=bad)


def test_text_noise_moves_real_tokens_by_their_scale_and_leaves_padding_alone():
    from openimagen.train.stage_run import noisy_text

    emb = torch.randn(2, 4, 64) * torch.tensor([1.0, 5.0])[:, None, None]
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    noise = torch.randn(2, 4, 64)
    noisy = noisy_text(emb, mask, 0.1, noise)
    assert torch.equal(noisy[0, 2:], emb[0, 2:])                           # padding untouched
    moved = (noisy - emb).norm(dim=-1) / emb.norm(dim=-1)
    assert torch.allclose(moved[mask], torch.full_like(moved[mask], 0.1), rtol=0.3)   # ~10% of each token's size
    assert torch.equal(noisy_text(emb, mask, 0.0, noise), emb)


@pytest.mark.parametrize("captions, error, message", [
    ("a red circle", TypeError, r"captions must be a list of str, got a str; wrap it: \['a red circle'\]"),
    (None, TypeError, "captions must be a str or a list of str, got NoneType"),
    (["red", None], TypeError, "got a list item of type NoneType"),
    ([], ValueError, "captions is an empty list"),
])
def test_the_embedder_names_captions_that_are_not_a_list_of_str(captions, error, message):
    with pytest.raises(error, match=message):
        TextEmbedder(encoder=WordEncoder())(captions)


def test_a_prompt_holding_a_lone_surrogate_is_named_not_a_tokenizer_type_error():
    with pytest.raises(ValueError, match=r"captions\[1\] is not text: it holds the lone surrogate '\\udc80' at "
                                         "character 4"):
        TextEmbedder(encoder=WordEncoder())(["red", "blue\udc80"])
