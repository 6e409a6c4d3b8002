"""Rows -> (token ids, trained mask): the per-sample work of SFT preparation, run in each worker.

mask[i] = 1 when token i is a target the loss trains on (an answer token, or every token with
train_on_prompt); the batch's labels are the next tokens where their mask is 1, else -100. With
mask_history only the last assistant turn is trained. cutoff_len limits the tokens per sample and keeps
the answer: first the oldest turns are dropped (the system message stays), then the prompt loses
tokens from its start; only an answer longer than cutoff_len itself is cut (keeping its beginning and
the last cutoff_len // 4 prompt tokens). A sample with images is never cut (its image tokens must stay
whole): when longer than cutoff_len it is left out and counted. With a processor (vision.py) rows may
carry images; each sample then also returns its processed images.

    settings = Settings(tokenizer="ckpt/my_model", template="qwen", cutoff_len=1024)
    state = WorkerState(settings)
    ids, mask, lengths, stats, _ = state.encode([Raw("x.jsonl:1", line=b'{"prompt": "hi", "response": "yo"}')])
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.data.sft.formats import Raw, Span, parse_map_keys, to_messages
from core.data.sft.shards import Shard
from core.data.sft.templates import get_template
from core.data.sft.tokenizer import encode_texts, load_tokenizer
from core.data.sft.vision import Image, Vision, image_folder, place_images, row_images
from core.errors import DataError


@dataclass
class Settings:
    """Everything that decides the prepared tokens (the cache key holds all of it)."""

    tokenizer: str | None = None  # a local Hugging Face folder; None: byte-level
    template: str | None = None  # auto (the tokenizer's own), a named template, or a .jinja file
    map_keys: str | None = None  # MindSpeed --map-keys JSON
    cutoff_len: int = 1024  # tokens per sample at most
    max_samples: int = 0  # per dataset file; 0: all
    train_on_prompt: bool = False
    mask_history: bool = False
    pack: bool = False
    neat_pack: bool = False  # implies pack
    seq_len: int = 0  # packed row length in positions; 0: cutoff_len
    processor: str | None = None  # a local vision-language model folder: rows may carry images (vision.py)
    image_dir: str | None = None  # image paths are relative to it; None: each data file's folder

    def __post_init__(self):
        if self.neat_pack:
            self.pack = True
        if self.cutoff_len < 2:
            raise DataError(f"--cutoff-len must be >= 2 (got {self.cutoff_len})")
        if self.max_samples < 0:
            raise DataError(f"--max-samples must be >= 0 (got {self.max_samples})")
        if self.map_keys not in (None, "") and not isinstance(self.map_keys, str):
            self.map_keys = json.dumps(self.map_keys, sort_keys=True)
        parse_map_keys(self.map_keys)
        if self.processor and self.pack:
            raise DataError("--pack / --neat-pack with images (--processor) is not supported yet; prepare unpacked")
        if self.processor and not self.tokenizer:
            self.tokenizer = self.processor  # a model folder holds both
        if self.pack and self.row_len < self.cutoff_len - 1:
            raise DataError(f"--seq-len {self.row_len} is shorter than a sample can be (--cutoff-len "
                            f"{self.cutoff_len} tokens = {self.cutoff_len - 1} positions)")

    @property
    def row_len(self) -> int:
        return self.seq_len or self.cutoff_len

    def as_dict(self) -> dict:
        return asdict(self)


class WorkerState:
    """The tokenizer and template of one process, and the encoding of a chunk of rows."""

    def __init__(self, settings: Settings):
        self.s = settings
        self.tok = load_tokenizer(settings.tokenizer)
        self.template = get_template(settings.template, self.tok)
        self.map_keys = parse_map_keys(settings.map_keys)
        self.vision = Vision(settings.processor, self.tok) if settings.processor else None

    def _conversation(self, raw: Raw) -> tuple[list[dict], list[Path]]:
        """The row's messages (image placeholders in the model's own markers) and its image files."""
        row = raw.parsed()
        messages = to_messages(row, raw.where, self.map_keys)
        paths = row_images(row, raw.where)
        if not paths:
            return messages, []
        if self.vision is None:
            raise DataError(f"{raw.where}: the row has images; prepare it with --processor DIR (the vision-language "
                            f"model folder) or data.sft.processor")
        folder = image_folder(raw.where.rsplit(":", 1)[0], self.s.image_dir)
        return place_images(messages, len(paths), raw.where, self.vision.family), [folder / p for p in paths]

    def _spans(self, text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if self.s.train_on_prompt:
            return [(0, len(text))]
        return spans[-1:] if self.s.mask_history else spans

    def _one(self, messages: list[dict]) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids, mask, index of the last answer's first token) of one conversation."""
        text, spans = self.template.render(messages)
        enc, = encode_texts(self.tok, [text])
        return enc.ids, enc.mask(self._spans(text, spans)), enc.first(spans[-1])

    def _cut(self, messages: list[dict], ids, mask, last: int):
        """cutoff_len: drop the oldest turns, then prompt tokens, then (only if it must) answer tokens."""
        limit = self.s.cutoff_len
        system = messages[:1] if messages[0]["role"] == "system" else []
        body = messages[len(system):]
        while len(ids) > limit and len(body) > 2:
            body = body[2:]
            ids, mask, last = self._one(system + body)
        if len(ids) <= limit:
            return ids, mask
        prompt, answer = len(ids[:last]), len(ids) - last
        keep_prompt = limit - answer if answer < limit else min(prompt, limit // 4)
        keep_prompt = min(max(keep_prompt, 1), prompt)
        sel = np.r_[last - keep_prompt:last, last:last + (limit - keep_prompt)]
        return ids[sel], mask[sel]

    def encode(self, raws: list[Raw]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict, list[list[Image]]]:
        """(ids, mask, sample lengths, stats, each sample's images) of the rows that have something to train."""
        convs, paths = zip(*(self._conversation(r) for r in raws))
        rendered = [self.template.render(m) for m in convs]
        encoded = encode_texts(self.tok, [t for t, _ in rendered])
        all_ids, all_mask, lengths, all_images = [], [], [], []
        stats = {"rows": len(raws), "truncated": 0, "no_label": 0, "too_long": 0}
        for raw, messages, files, (text, spans), enc in zip(raws, convs, paths, rendered, encoded):
            ids, mask = enc.ids, enc.mask(self._spans(text, spans))
            images = []
            if self.vision is not None:
                images = self.vision.pixels(files, raw.where)
                ids, mask = self.vision.expand(ids, mask, images, raw.where)
            if images and len(ids) > self.s.cutoff_len:
                stats["too_long"] += 1  # image tokens cannot be cut: left out
                continue
            if len(ids) > self.s.cutoff_len:
                stats["truncated"] += 1
                ids, mask = self._cut(messages, ids, mask, enc.first(spans[-1]))
            if len(ids) < 2 or not mask[1:].any():
                stats["no_label"] += 1  # nothing to train on (an empty answer): left out
                continue
            all_ids.append(ids)
            all_mask.append(mask)
            lengths.append(len(ids))
            all_images.append(images)
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
        return (cat(all_ids, np.int64), cat(all_mask, np.uint8), np.asarray(lengths, dtype=np.int64), stats,
                all_images)


# ---------------------------------------------------------------- process-pool entry points

_STATE: WorkerState | None = None
_SHARD: Shard | None = None


def encode_into(state: WorkerState, shard: Shard, chunk: Span | list[Raw]):
    """Encode a chunk (a .jsonl Span, read here, or parsed rows) into `shard`: (piece, sample lengths, stats,
    each sample's images)."""
    raws = chunk.raws() if isinstance(chunk, Span) else chunk
    ids, mask, lengths, stats, images = state.encode(raws)
    return shard.append(ids, mask), lengths, stats, images


def init_worker(settings: dict, shard_prefix: str) -> None:
    """Pool initializer: a forked worker keeps the parent's state (set by preload), spawned ones build theirs;
    each writes its own shard files (PREFIX + pid)."""
    global _STATE, _SHARD
    if _STATE is None or _STATE.s.as_dict() != settings:
        _STATE = WorkerState(Settings(**settings))
    _SHARD = Shard(f"{shard_prefix}{os.getpid()}")


def preload(settings: Settings) -> None:
    """Build the state in the parent before forking, so that workers do not import transformers and load the
    tokenizer once each (loading starts no tokenizer threads; only encoding would)."""
    global _STATE
    _STATE = WorkerState(settings)


def encode_chunk(chunk: Span | list[Raw]):
    try:
        return encode_into(_STATE, _SHARD, chunk)
    except DataError as e:  # pickled back as text: the parent raises it as a DataError again
        return str(e)
