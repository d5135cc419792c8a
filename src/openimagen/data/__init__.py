"""Datasets (folder, manifest, WebDataset shards, shapes world) behind one protocol, and preprocessing.

```python
from openimagen.data import build_dataset, make_loader, downsample, paired_random_crop
ds = build_dataset("photos/", 64, random_crop=True, rank=rank, world_size=world, seed=0)
loader = make_loader(ds, batch_size=32, num_workers=2)
for batch in loader:            # {"image": [b, 3, 64, 64] in [-1, 1], "caption": [...], "key": [...]}
    ...
state = ds.state_dict(); ds.load_state_dict(state)   # exact data position
print(ds.skip_report.summary())
```
"""
from .build import build_dataset, source_type
from .errors import DataSourceError
from .folder import scan_folder
from .indexed import IndexedStream, Sample
from .loader import Loader, collate, make_loader
from .manifest import ManifestError, read_manifest
from .masks import random_masks
from .preprocess import Preprocess, image_to_tensor, open_image, resize_and_crop, to_rgb
from .shards import ShardStream, expand_shards
from .skips import DataError, SkipReport, SkipSample
from .sr import downsample, paired_random_crop
from .stream import ImageTextStream, Record

__all__ = [
    "build_dataset", "source_type", "make_loader", "Loader", "collate", "DataError", "SkipReport", "SkipSample",
    "downsample", "paired_random_crop", "random_masks", "Preprocess", "open_image", "to_rgb", "resize_and_crop",
    "image_to_tensor", "ImageTextStream", "IndexedStream", "ShardStream", "Record", "Sample",
    "scan_folder", "read_manifest", "ManifestError", "DataSourceError", "expand_shards",
]
