"""Refuse data tokenised with another vocabulary than the model's (a byte file into a BPE model, or
data prepared with another tokenizer).

    check_data_tokenizer(data, "ckpt/my_model")   # raises DataError in one line, else returns None
"""

from __future__ import annotations

from pathlib import Path

from core.data.sft.tokenizer import folder_fingerprint, has_tokenizer
from core.errors import DataError


def data_fingerprint(data) -> dict | None:
    """The tokenizer fingerprint of a data object: SFTData's meta, byte-level for TokenData, None otherwise."""
    meta = getattr(data, "meta", None)
    if isinstance(meta, dict) and isinstance(meta.get("tokenizer"), dict):
        return meta["tokenizer"]
    if getattr(data, "vocab_size", None) == 256 and type(data).__name__ == "TokenData":
        return {"kind": "bytes", "vocab_size": 256, "vocab_sha256": None, "source": "bytes"}
    return None


def check_data_tokenizer(data, model_folder: str | Path) -> None:
    """DataError when the Hugging Face model folder's tokenizer is not the one the data was tokenised with."""
    folder = Path(model_folder)
    theirs = data_fingerprint(data)
    if theirs is None or not folder.is_dir() or not has_tokenizer(folder):
        return  # images, or a folder without a tokenizer: nothing to compare
    name = getattr(data, "name", None) or str(getattr(data, "folder", "the data"))
    ours = folder_fingerprint(folder)
    if theirs["kind"] == "bytes":
        raise DataError(f"data '{name}' is byte-level (vocab 256), but the model folder {folder} has its own "
                        f"tokenizer (vocab {ours['vocab_size']}); prepare it with: python -m core.data prepare "
                        f"IN OUT --tokenizer {folder}")
    if (theirs.get("vocab_sha256"), theirs.get("vocab_size")) != (ours["vocab_sha256"], ours["vocab_size"]):
        raise DataError(f"data '{name}' was tokenised with {theirs.get('source', '?')} (vocab "
                        f"{theirs.get('vocab_size')}), a different vocabulary than the model folder {folder}'s "
                        f"tokenizer (vocab {ours['vocab_size']}); prepare it again with --tokenizer {folder}")
