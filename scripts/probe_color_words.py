"""How much color meaning a frozen text encoder gives words the training captions never say (issue 13, wording).

A linear probe (7-way logistic regression) is fit on the encoder's embeddings of every *training* color word of the
caption grammar (common + rare synonyms, in a few caption frames) and tested on the *held-out* color words of the
wording split. It is an upper bound of sorts for what a network with linear text projections (cross-attention keys
and values) can read from the frozen tokens without having seen the word. `--nearest` adds what a network that
only smooths around its training vectors (e.g. trained with noise on the text tokens) would read: the label of the
nearest training word (cosine). `--family shapes` probes the shape nouns instead. Usage:
    python scripts/probe_color_words.py [--encoder minilm] [--extra-words] [--family shapes] [--layers 0,-1] [--nearest]
"""

from __future__ import annotations

import argparse

import torch

from openimagen.data.shapes.synonyms import COLORS, SHAPES
from openimagen.text import load_encoder

FRAMES = {"colors": ("a {} circle", "two {} squares", "a small {} triangle on the left",
                     "a {} square above a blue circle", "a big {} disc"),
          "shapes": ("a red {}", "one blue {}", "a small green {} on the left", "a yellow {} above a blue circle",
                     "a big purple {}")}


def word_features(encoder, word: str, frames: tuple[str, ...]) -> list[torch.Tensor]:
    """Per frame: [mean of the word's tokens, mean of the sentence's tokens] (2 x dim)."""
    features = []
    for frame in frames:
        emb, mask = encoder.encode([frame.format(word)])
        start = 1 + len(encoder.tokenizer.tokenize(frame.split("{}")[0]))      # after [CLS] and the frame's prefix
        length = len(encoder.tokenizer.tokenize(word))
        features.append(torch.cat([emb[0, start:start + length].mean(0), emb[0, :int(mask[0].sum())].mean(0)]))
    return features


def fit_probe(x: torch.Tensor, y: torch.Tensor, classes: int, weight_decay: float = 1e-2):
    w = torch.zeros(x.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=300)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ w + b, y) + weight_decay * w.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return lambda z: (z @ w + b).argmax(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--extra-words", action="store_true", help="train the probe on grammar v2's extra words too")
    parser.add_argument("--family", choices=("colors", "shapes"), default="colors")
    parser.add_argument("--layers", default="-1", help="encoder layers per token, e.g. 0,-1 (the shipped model's)")
    parser.add_argument("--nearest", action="store_true", help="also report the nearest training word's label")
    args = parser.parse_args()
    encoder = load_encoder(args.encoder, max_length=32, layers=[int(x) for x in args.layers.split(",")])
    table, frames = (COLORS if args.family == "colors" else SHAPES), FRAMES[args.family]
    names = list(table)
    train, test = [], []
    for label, words in enumerate(table.values()):
        known = words.common + words.rare + (words.extra if args.extra_words else ())
        train += [(f, label) for word in known for f in word_features(encoder, word, frames)]
        test += [(word, f, label) for word in words.held_out for f in word_features(encoder, word, frames)]
    x, y = torch.stack([f for f, _ in train]), torch.tensor([label for _, label in train])
    dim = x.shape[1] // 2
    for part, columns in (("word tokens", slice(0, dim)), ("sentence mean", slice(dim, 2 * dim))):
        mean, std = x[:, columns].mean(0), x[:, columns].std(0) + 1e-6
        z = torch.stack([f for _, f, _ in test])[:, columns]
        probe = fit_probe((x[:, columns] - mean) / std, y, len(names))
        report(f"{part}, probe", probe((z - mean) / std).tolist(), test, names, table)
        if args.nearest:
            report(f"{part}, nearest", nearest_label(x[:, columns], y, z).tolist(), test, names, table)


def nearest_label(known: torch.Tensor, labels: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """The label of each query's nearest known vector by cosine similarity."""
    similarity = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(known, dim=1).T
    return labels[similarity.argmax(1)]


def report(title: str, guesses: list[int], test: list, names: list[str], table: dict) -> None:
    right = sum(g == label for g, (_, _, label) in zip(guesses, test))
    per_word = {}
    for g, (word, _, label) in zip(guesses, test):
        per_word.setdefault(word, []).append(names[g])
    print(f"{title}: held-out accuracy {right / len(test):.0%} ({right}/{len(test)}; chance {1 / len(names):.0%})")
    for word, guess in per_word.items():
        truth = next(n for n, w in table.items() if word in w.held_out)
        print(f"  {word:14s} ({truth}): {', '.join(guess)}")


if __name__ == "__main__":
    main()
