"""`openimagen info`: what a saved cascade is (stages, sizes, parameters, text encoder, sampling defaults,
provenance) from its folder alone: config.json, the safetensors files (headers; tensors checked for NaN/inf), and
provenance.json / metrics.json / README.md when the folder has them (save_pretrained writes none of these; whoever
trains the model may)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from openimagen.cli import UserError
from openimagen.cli.command import Command
from openimagen.cli.model_folder import is_shipped, model_fingerprint, read_saved_config, resolve_model

PROVENANCE_FILES = ("provenance.json", "metrics.json")   # JSON records of how the model was made / scores

EXAMPLES = """
\b
Examples:
  openimagen info                                  # the model shipped with openimagen
  openimagen info --model runs/shapes/cascade      # a cascade written by `openimagen train`
  openimagen info --verbose                        # also the whole training record and metrics
  openimagen info --model runs/shapes/cascade --json
"""


def stage_summary(folder: Path, number: int, record: dict, stage: dict, lowres: int | None) -> dict:
    """One stage: resolutions, network, parameter count (network built on the meta device), weights file."""
    import torch
    from safetensors import safe_open

    from openimagen.cascade import StageConfig
    from openimagen.cascade.saved_folder import check_file_is_finite, check_tensor_shapes, header_shapes
    from openimagen.nn import build_network, config_from_dict, count_parameters
    from openimagen.config import from_dict

    network_config = config_from_dict(record["network"])
    config = from_dict(StageConfig, stage)                  # fills in the defaults of fields the file leaves out
    with torch.device("meta"):
        network = build_network(network_config)
    params = count_parameters(network)
    weights = folder / record["weights"]
    check_tensor_shapes(weights, number, {k: v.shape for k, v in network.state_dict().items()}, header_shapes(weights))
    check_file_is_finite(weights)                           # bytes overwritten in place decode as NaN
    with safe_open(str(weights), "pt") as handle:
        dtypes = sorted({handle.get_slice(key).get_dtype() for key in handle.keys()})
    return {"stage": number, "input": lowres, "resolution": stage["resolution"],
            "network": stage["network"] if isinstance(stage["network"], str) else record["network"]["kind"],
            "params": params, "text_dim": network_config.text_dim, "self_condition": network_config.self_condition,
            "attn_every_res_block": getattr(network_config, "attn_every_res_block", False),   # Efficient U-Nets only
            "weights": record["weights"],
            "weights_mb": round(weights.stat().st_size / 1e6, 2), "weights_dtype": "/".join(dtypes),
            "text_layers": config.text_encoder_layers, "crop_size": config.crop_size,
            "diffusion": config.diffusion_config.to_dict(),
            "sampling": config.sampling_defaults()}


def model_summary(folder: Path) -> dict:
    """Everything `openimagen info` prints, as a JSON-ready dict."""
    from openimagen.cascade.saved_folder import ModelFolderError
    from openimagen.text.loading import MINILM_NAME

    saved = read_saved_config(folder)
    cascade = saved["cascade"]
    stages, lowres = [], None
    try:
        for number, (record, stage) in enumerate(zip(saved["stages"], cascade["stages"]), start=1):
            stages.append(stage_summary(folder, number, record, stage, lowres))
            lowres = stage["resolution"]
    except ModelFolderError as error:                     # the message names the file
        raise UserError(str(error)) from error
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise UserError(f"--model {folder}: stage {len(stages) + 1} is unreadable ({error})") from error
    provenance = {}
    for name in PROVENANCE_FILES:
        if (folder / name).is_file():
            try:
                provenance[name] = json.loads((folder / name).read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                raise UserError(f"{folder / name}: not valid JSON ({error})") from error
    encoder = cascade.get("text_encoder")
    return {"model": str(folder.resolve()), "shipped": is_shipped(folder),
            "fingerprint": model_fingerprint(folder, saved),
            "text_encoder": encoder or f"{MINILM_NAME} (offline default)",
            "max_text_tokens": cascade["max_text_length"], "text_layers": cascade.get("text_encoder_layers", [-1]),
            "channels": cascade.get("channels", 3), "stages": stages, "total_params": sum(s["params"] for s in stages),
            "provenance": provenance, "files": sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))}


HEADLINE_METRICS = ("alignment", "fd", "fid", "clip_score")   # leaf names shown by default (at any depth <= 3)
SHORT_VALUE = 80                                                   # provenance values up to this long are shown


def headline_metrics(metrics, prefix: str = "", depth: int = 0) -> list[str]:
    """`eval.alignment 0.239`, `eval.fd_shapes.fd 181.4`, ...: the numbers a reader looks for first."""
    if not isinstance(metrics, dict) or depth > 2:
        return []
    found = []
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key in HEADLINE_METRICS:
            found.append(f"{prefix}{key} {value:.4g}")
        elif isinstance(value, dict):
            found += headline_metrics(value, f"{prefix}{key}.", depth + 1)
    return found


def format_summary(summary: dict, verbose: bool = False) -> list[str]:
    """The human-readable lines of `openimagen info`: a short summary, or everything with `verbose`."""
    first = summary["stages"][0]
    lines = [f"model: {summary['model']}{' (shipped with openimagen)' if summary['shipped'] else ''}",
             f"fingerprint: {summary['fingerprint']}",
             f"text encoder: {summary['text_encoder']}, {first['text_dim']}-d tokens (hidden states of layers "
             f"{', '.join(map(str, summary['text_layers']))}), at most {summary['max_text_tokens']} tokens per prompt",
             f"stages: {len(summary['stages'])}, {summary['total_params']:,} parameters in total"]
    for stage in summary["stages"]:
        source = "text" if stage["input"] is None else f"{stage['input']}x{stage['input']}"
        s, d = stage["sampling"], stage["diffusion"]
        crop = f", trained on {stage['crop_size']}px crops" if stage["crop_size"] else ""
        layers = stage["text_layers"]
        reads = f", reads text layers {', '.join(map(str, layers))}" if layers is not None else ""
        self_cond = ", self-conditioned (sees its previous x0)" if stage["self_condition"] else ""
        every_block = ", attention after every residual block" if stage["attn_every_res_block"] else ""
        aug = f", aug level {s['aug_level']}" if stage["input"] is not None else ""
        lines.append(f"  stage {stage['stage']}: {source} -> {stage['resolution']}x{stage['resolution']}, "
                     f"{stage['network']}, {stage['params']:,} parameters ({stage['weights']}, {stage['weights_mb']} "
                     f"MB {stage['weights_dtype']}){crop}{reads}{self_cond}{every_block}")
        if verbose:
            lines.append(f"    diffusion: {d['prediction']}-prediction, {d['schedule']} schedule")
        interval = s.get("guidance_interval")
        where = "" if interval is None else (f" at log-SNR in [{'-inf' if interval[0] is None else interval[0]}, "
                                             f"{'inf' if interval[1] is None else interval[1]}]")
        lines.append(f"    sampling defaults: {s['sampler']}, {s['steps']} steps, "
                     f"guidance {s['guidance_scale']}{where}, {s['threshold']} thresholding (percentile {s['percentile']}){aug}")
    provenance = summary["provenance"]
    if not provenance:
        lines.append(f"provenance: none recorded (no {' / '.join(PROVENANCE_FILES)} in the folder)")
    elif verbose:
        for name, record in provenance.items():
            lines.append(f"provenance ({name}):")
            items = record.items() if isinstance(record, dict) else [("value", record)]
            lines += [f"  {key}: {value if isinstance(value, str) else json.dumps(value)}" for key, value in items]
    else:
        record = provenance.get("provenance.json")
        short = [f"{key}: {value}" for key, value in (record.items() if isinstance(record, dict) else [])
                 if isinstance(value, (str, int, float)) and len(str(value)) <= SHORT_VALUE]
        if short:
            lines.append(f"provenance: {', '.join(short)}")
        metrics = headline_metrics(provenance.get("metrics.json"))
        if metrics:
            lines.append(f"metrics: {', '.join(metrics)}")
    if "README.md" in summary["files"]:
        lines.append(f"readme: {Path(summary['model']) / 'README.md'}")
    if provenance and not verbose:
        lines.append("(--verbose: the diffusion settings and the whole provenance.json / metrics.json; --json: all)")
    return lines


@click.command(epilog=EXAMPLES, cls=Command)
@click.option("--model", default=None, metavar="DIR",
              help="Saved cascade folder (Cascade.save_pretrained). Default: the model shipped with openimagen.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object instead of text.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print everything: diffusion settings, the whole provenance.json and metrics.json.")
def info(model: str | None, as_json: bool, verbose: bool) -> None:
    """Describe a saved cascade: stages, resolutions, parameter counts, text encoder, maximum prompt tokens,
    per-stage sampling defaults and training provenance (provenance.json / metrics.json in the folder, if present).

    Reads config.json and the weights files (checked for damage: shapes, NaN/inf); no network or text encoder runs.
    """
    summary = model_summary(resolve_model(model))
    click.echo(json.dumps(summary, indent=1) if as_json else "\n".join(format_summary(summary, verbose)))
