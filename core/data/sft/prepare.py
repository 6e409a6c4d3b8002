"""Prepare SFT data: rows -> memory-mapped token files + a small meta json, cached by content.

OUT/ holds KEY.tokens.bin (uint16/uint32 ids of all samples back to back), KEY.mask.bin (uint8: 1 where
the token is trained), KEY.offsets.bin (int64 sample starts, n + 1), with --pack KEY.rows.bin +
KEY.row_offsets.bin (sample indices of each packed row), with --processor the image files
(core/data/sft/image_files.py), and sft.json (the meta, written last and atomically). While it runs,
each encoding process appends its chunks to hidden shard files (core/data/sft/shards.py), joined in input
order at the end and removed. KEY hashes the input files' contents, every setting and the tokenizer files,
so a new preparation never overwrites files that a running job has memory-mapped; running it again with the
same inputs is a cache hit that rewrites nothing.

    meta_path, hit = prepare_sft(["data/sft.jsonl"], "data/sft", Settings(tokenizer="ckpt/m", template="qwen"),
                                 workers=2)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.atomic import atomic_open, atomic_write_text
from core.data.sft.encode import Settings, WorkerState, encode_chunk, encode_into, init_worker, preload
from core.data.sft.formats import chunks, iter_rows, split_sources
from core.data.sft.image_files import ImageWriter
from core.data.sft.packing import pack_rows
from core.data.sft.shards import Shard, join_pieces, remove_shards
from core.data.sft.tokenizer import files_digest, fingerprint, load_tokenizer, pad_id
from core.data.sft.vision import image_folder, processor_digest, row_images
from core.data.tokens import read_format_meta
from core.errors import DataError

FORMAT = "mindbridge-sft"
VERSION = 1
META = "sft.json"
CHUNK_ROWS = 256  # rows per worker task
GENERATION = re.compile(r"[0-9a-f]{16}\.(tokens|mask|offsets|rows|row_offsets|pixels|image_shapes|image_grids|"
                        r"image_offsets)\.bin")  # files prepare_sft writes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _images_digest(paths: list[Path], settings: Settings) -> str | None:
    """Every image the rows name, by resolved path, size and modification time (as make does)."""
    if not settings.processor:
        return None
    h = hashlib.sha256()
    for raw in iter_rows(paths, settings.max_samples):
        try:
            names = row_images(raw.parsed(), raw.where)
        except DataError:
            continue  # the encoding reports it with the row
        folder = image_folder(raw.where.rsplit(":", 1)[0], settings.image_dir)
        for name in names:
            path = (folder / name).resolve()
            st = path.stat() if path.is_file() else None
            h.update(f"{path}\0{st.st_size if st else -1}\0{st.st_mtime_ns if st else -1}\n".encode())
    return h.hexdigest()


def cache_key(paths: list[Path], settings: Settings) -> str:
    """Hash of the inputs' contents, every setting, the tokenizer (+ template file) contents, and with a
    processor its config files and the images' paths, sizes and modification times."""
    template = settings.template or ""
    template_file = Path(template).expanduser()
    parts = {"format": FORMAT, "version": VERSION, "inputs": [_sha256(p) for p in paths],
             "settings": {k: v for k, v in settings.as_dict().items() if k not in ("tokenizer", "processor")},
             "tokenizer": files_digest(settings.tokenizer),
             "template_file": _sha256(template_file) if template and template_file.is_file() else None}
    if settings.processor:
        parts.update(processor=processor_digest(settings.processor), images=_images_digest(paths, settings))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _results(paths, settings: Settings, workers: int, shard_prefix: str):
    """(piece, sample lengths, stats, images) of every chunk in input order; the tokens go to shard files.
    workers > 1 encodes in a process pool (the same results)."""
    tasks = chunks(paths, settings.max_samples, CHUNK_ROWS)
    if workers <= 1:
        state, shard = WorkerState(settings), Shard(shard_prefix + "main")
        for chunk in tasks:
            yield encode_into(state, shard, chunk)
        return
    # fork where there is one (no re-import per worker); each worker loads the tokenizer itself
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    if method == "fork":
        preload(settings)
    with multiprocessing.get_context(method).Pool(workers, init_worker, (settings.as_dict(), shard_prefix)) as pool:
        for result in pool.imap(encode_chunk, tasks, chunksize=1):
            if isinstance(result, str):
                raise DataError(result)
            yield result


def cached_meta(out: Path, key: str | None = None) -> Path | None:
    """OUT/sft.json when it is complete (and, given `key`, made from the same inputs and settings)."""
    meta_path = out / META
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("format") != FORMAT or (key is not None and meta.get("key") != key):
        return None
    return meta_path if all((out / f).is_file() for f in meta.get("files", {}).values()) else None


def prepare_sft(inputs: str | list, out: str | Path, settings: Settings, workers: int = 1, progress: bool = True,
                base_dir: str | Path = ".", log=print) -> tuple[Path, bool]:
    """Tokenise SFT rows into OUT/ (see the module docstring); returns (meta path, cache hit)."""
    paths = split_sources(inputs, base_dir)
    if workers < 1:
        raise DataError(f"--workers must be >= 1 (got {workers})")
    out = Path(out)
    key = cache_key(paths, settings)
    hit = cached_meta(out, key)
    if hit is not None:
        log(f"cache hit: {out} already holds these inputs and settings (key {key[:12]}); nothing rewritten")
        return hit, True
    stem = key[:16]
    files = {"tokens": f"{stem}.tokens.bin", "mask": f"{stem}.mask.bin", "offsets": f"{stem}.offsets.bin"}
    vocab_guess = 256 if settings.tokenizer in (None, "", "bytes") else None
    lengths, stats = [], {"rows": 0, "truncated": 0, "no_label": 0, "too_long": 0}
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(unit="row", desc="preparing", disable=None if progress else True, leave=False)
    pieces, images = [], None
    shard_prefix = str(out / f".{stem}.shard-{os.getpid()}-")  # this run's own: another run may share OUT
    try:
        with contextlib.ExitStack() as stack:
            if settings.processor:
                images = ImageWriter(out, stem, stack.enter_context(atomic_open(out / f"{stem}.pixels.bin")))
            for piece, lens, st, sample_images in _results(paths, settings, workers, shard_prefix):
                pieces.append(piece)
                if images is not None:
                    for one in sample_images:
                        images.add(one)
                lengths.append(lens)
                for k in stats:
                    stats[k] += st[k]
                bar.update(st["rows"])
        bar.close()
        lengths = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        if not len(lengths):
            raise DataError(f"{', '.join(map(str, paths))}: no sample with a trained token")
        total_tokens, label_tokens = sum(p.count for p in pieces), sum(p.label_tokens for p in pieces)
        max_id = max(p.max_id for p in pieces)
        tok = load_tokenizer(settings.tokenizer)  # after the pool: no tokenizer threads across fork
        fp = fingerprint(tok)
        vocab = fp["vocab_size"] if vocab_guess is None else vocab_guess
        dtype = "uint16" if max(vocab, max_id + 1) <= 65536 else "uint32"
        with atomic_open(out / files["tokens"]) as f_tokens, atomic_open(out / files["mask"]) as f_mask:
            join_pieces(pieces, f_tokens, f_mask, dtype)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        with atomic_open(out / files["offsets"]) as fh:
            fh.write(offsets.astype("<i8").tobytes())
        image_meta = None
        if images is not None:
            image_files, image_meta = images.finish()
            files.update(image_files)
        pack = None
        if settings.pack:
            rows = pack_rows(lengths - 1, settings.row_len)
            row_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
            np.cumsum([len(r) for r in rows], out=row_offsets[1:])
            files.update(rows=f"{stem}.rows.bin", row_offsets=f"{stem}.row_offsets.bin")
            with atomic_open(out / files["rows"]) as fh:
                fh.write(np.concatenate(rows).astype("<i8").tobytes())
            with atomic_open(out / files["row_offsets"]) as fh:
                fh.write(row_offsets.astype("<i8").tobytes())
            pack = {"row_len": settings.row_len, "rows": len(rows), "neat": settings.neat_pack,
                    "fill": round(float((lengths - 1).sum()) / (len(rows) * settings.row_len), 4)}
    finally:
        bar.close()
        remove_shards(shard_prefix)
    meta = {"format": FORMAT, "version": VERSION, "key": key, "files": files, "dtype": dtype,
            "num_samples": int(len(lengths)), "num_tokens": int(total_tokens), "num_label_tokens": int(label_tokens),
            "max_len": int(lengths.max()), "pad_id": pad_id(tok), "vocab_size": int(vocab),
            "tokenizer": {**fp, "source": str(settings.tokenizer or "bytes")},
            "template": _template_name(settings, tok),
            "settings": settings.as_dict(), "inputs": [str(p) for p in paths], "stats": stats, "pack": pack,
            "images": image_meta}
    meta_path = out / META
    atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")
    for old in out.glob("*.bin"):  # earlier generations: a job that mapped them keeps its open mapping
        if GENERATION.fullmatch(old.name) and not old.name.startswith(stem):
            old.unlink(missing_ok=True)
    log(f"wrote {out}: {meta['num_samples']:,} samples, {total_tokens:,} tokens ({label_tokens:,} trained), "
        f"vocab {vocab}, template {meta['template']}"
        + (f", {pack['rows']:,} packed rows of {pack['row_len']} ({pack['fill']:.0%} full)" if pack else "")
        + (f"; {stats['truncated']} cut to --cutoff-len" if stats["truncated"] else "")
        + (f"; {stats['no_label']} without an answer left out" if stats["no_label"] else "")
        + (f"; {image_meta['count']:,} images in {image_meta['samples_with_images']:,} samples" if image_meta else "")
        + (f"; {stats['too_long']} with images longer than --cutoff-len left out" if stats["too_long"] else ""))
    return meta_path, False


def _template_name(settings: Settings, tok) -> str:
    from core.data.sft.templates import get_template

    return get_template(settings.template, tok).name


def read_sft_meta(path: str | Path) -> dict:
    """The meta of a prepared SFT folder (or its sft.json)."""
    path = Path(path)
    return read_format_meta(path / META if path.is_dir() else path, FORMAT, "prepared SFT meta")


def is_sft_folder(path: str | Path) -> bool:
    return (Path(path) / META).is_file()
