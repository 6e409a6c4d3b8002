"""Make the embedded SFT example offline and deterministically: a tiny tokenizer, chat data and a model.

    python examples/sft/make_tiny.py        # rewrites the files below (same bytes every time)

- tiny-model/: a byte-level BPE tokenizer (vocab 512) trained by `tokenizers` on the shipped corpus
  (core/data/corpus), saved by transformers with a Qwen2-style ChatML chat_template and the special tokens
  <|endoftext|> (pad), <|im_start|>, <|im_end|> (eos); and a random Qwen3 (seed 0, 2 layers, hidden 32)
  with that vocabulary, saved by transformers;
- tiny_sft.jsonl: 320 `messages` rows (arithmetic, copying, sentence completion from the corpus,
  word reversal; single- and multi-turn, some with a system message);
- tiny_alpaca.json: 64 alpaca rows (instruction/input/output) of the same kinds.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = REPO / "core" / "data" / "corpus" / "pride_and_prejudice.txt.gz"
MODEL = HERE / "tiny-model"
VOCAB = 512
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Qwen2-Instruct's chat template (ChatML with a default system message)
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
MODEL_CONFIG = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=8, max_position_embeddings=256, rope_theta=10000.0,
                    tie_word_embeddings=False)


def corpus_text() -> str:
    return gzip.decompress(CORPUS.read_bytes()).decode("utf-8")


def make_tokenizer(text: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text.splitlines(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"], chat_template=CHAT_TEMPLATE,
                                   model_max_length=256)


def portable_tokenizer_class(path: Path) -> None:
    """transformers 5 names its class TokenizersBackend; PreTrainedTokenizerFast loads in 4.x and 5.x alike."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def sentences(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text)
    out = [s.strip() for s in re.split(r"(?<=[.!?])\s", flat)]
    return [s for s in out if 30 <= len(s) <= 90 and s.isascii()]


def task(rng: random.Random, sents: list[str]) -> tuple[str, str, str, str]:
    """(instruction, input, prompt, answer) of one generated task."""
    kind = rng.randrange(4)
    if kind == 0:
        a, b = rng.randrange(100), rng.randrange(100)
        return "Add the two numbers.", f"{a} + {b}", f"What is {a} + {b}?", f"{a} + {b} = {a + b}."
    s = rng.choice(sents)
    if kind == 1:
        return "Repeat the text exactly.", s, f"Repeat after me: {s}", s
    if kind == 2:
        words = s.split()
        cut = len(words) // 2
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        return "Complete the sentence.", head, f"Complete the sentence: {head}", tail
    words = s.rstrip(".!?").split()[:6]
    return "Reverse the order of the words.", " ".join(words), f"Reverse the words: {' '.join(words)}", \
        " ".join(reversed(words))


def make_rows(sents: list[str]) -> tuple[list[dict], list[dict]]:
    rng = random.Random(0)
    chat = []
    for _ in range(320):
        messages = []
        if rng.random() < 0.25:
            messages.append({"role": "system", "content": rng.choice(["You are a careful assistant.",
                                                                      "Answer briefly."])})
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            _, _, prompt, answer = task(rng, sents)
            messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        chat.append({"messages": messages})
    alpaca = []
    for _ in range(64):
        instruction, inp, _, answer = task(rng, sents)
        alpaca.append({"instruction": instruction, "input": inp, "output": answer})
    return chat, alpaca


def make_model(tok) -> int:
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.Qwen3Config(vocab_size=len(tok), bos_token_id=None, eos_token_id=tok.eos_token_id,
                                      pad_token_id=tok.pad_token_id, **MODEL_CONFIG)
    model = transformers.Qwen3ForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(MODEL)
    return sum(p.numel() for p in model.parameters())


def main() -> int:
    text = corpus_text()
    tok = make_tokenizer(text)
    MODEL.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(MODEL)
    portable_tokenizer_class(MODEL / "tokenizer_config.json")
    n = make_model(tok)
    umask = os.umask(0)
    os.umask(umask)
    for path in MODEL.iterdir():  # safetensors writes 0600; the folder is shipped like any source file
        os.chmod(path, 0o666 & ~umask)
    chat, alpaca = make_rows(sentences(text))
    with open(HERE / "tiny_sft.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in chat)
    (HERE / "tiny_alpaca.json").write_text(json.dumps(alpaca, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {MODEL} (tokenizer vocab {len(tok)}, model {n:,} parameters), tiny_sft.jsonl ({len(chat)} rows), "
          f"tiny_alpaca.json ({len(alpaca)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
