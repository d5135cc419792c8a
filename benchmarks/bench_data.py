"""Data-loader throughput (images/s) from a folder and from WebDataset shards (issue 5, Measure).

    /work/venv/bin/python benchmarks/bench_data.py --count 512 --resolution 64 --workers 0 2

Writes synthetic JPEG photos (smooth gradient + noise, `--source-size` px) to a temporary folder and to
img2dataset-style shards, then times one full epoch through `make_loader` (decode, RGB, resize, crop,
tensor, collate), including worker start-up. Prints one JSON line per run and a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from openimagen.data import build_dataset, make_loader
from openimagen.data.synthetic import write_folder, write_shards


def time_epoch(source: str, resolution: int, batch_size: int, num_workers: int, random_crop: bool) -> tuple[int, float]:
    dataset = build_dataset(source, resolution, random_crop=random_crop, epochs=1)
    start = time.perf_counter()
    count = sum(len(batch["key"]) for batch in make_loader(dataset, batch_size, num_workers=num_workers))
    return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=512, help="images in the synthetic dataset")
    parser.add_argument("--source-size", type=int, nargs=2, default=(384, 256), metavar=("W", "H"))
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--repeats", type=int, default=2, help="best of this many epochs per setting")
    parser.add_argument("--random-crop", action="store_true")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(os.path.join(tmp, "folder"), args.count, tuple(args.source_size))
        write_shards(os.path.join(tmp, "shards"), args.shards, args.count // args.shards, tuple(args.source_size))
        sources = {"folder": os.path.join(tmp, "folder"),
                   "shards": os.path.join(tmp, "shards", "{00000..%05d}.tar" % (args.shards - 1))}
        for name, source in sources.items():
            for workers in args.workers:
                runs = [time_epoch(source, args.resolution, args.batch_size, workers, args.random_crop)
                        for _ in range(args.repeats)]
                count, seconds = min(runs, key=lambda r: r[1])
                row = {"source": name, "workers": workers, "images": count, "seconds": round(seconds, 3),
                       "images_per_s": round(count / seconds, 1), "resolution": args.resolution,
                       "source_size": list(args.source_size), "batch_size": args.batch_size}
                print(json.dumps(row), flush=True)
                rows.append(row)
    print(f"\n| source | workers | images/s ({args.source_size[0]}x{args.source_size[1]} JPEG -> {args.resolution} px) |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['source']} | {row['workers']} | {row['images_per_s']} |")


if __name__ == "__main__":
    main()
