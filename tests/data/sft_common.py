"""Shared pieces of the SFT data tests: tiny tokenizers with real model families' chat templates.

The base is the shipped examples/sft/tiny-model tokenizer (BPE, vocab 512, ChatML specials); the
Llama 3 and Mistral ones add those families' special tokens and carry their Hugging Face chat
templates, copied verbatim from Meta-Llama-3-8B-Instruct and Mistral-7B-Instruct-v0.1.
"""

from __future__ import annotations

from pathlib import Path

from conftest import REPO

TINY_MODEL = REPO / "examples" / "sft" / "tiny-model"

QWEN2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
         "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
         "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
          "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
          "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
          "{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
MISTRAL = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
           "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
           "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
           "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
           "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are "
           "supported!') }}{% endif %}{% endfor %}")
EMPTY = "{% for message in messages %}{{ message['content'] }}{% endfor %}"

# template name -> (reference chat template, special tokens the family's tokenizer has, bos, eos)
FAMILIES = {
    "qwen": (QWEN2, [], None, "<|im_end|>"),
    "chatml": (CHATML, [], None, "<|im_end|>"),
    "llama3": (LLAMA3, ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
               "<|begin_of_text|>", "<|eot_id|>"),
    "mistral": (MISTRAL, ["<s>", "</s>"], "<s>", "</s>"),
    "empty": (EMPTY, [], None, "<|im_end|>"),
}

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2 + 3?"}, {"role": "assistant", "content": "2 + 3 = 5."}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Repeat: It is a truth."},
     {"role": "assistant", "content": "It is a truth."}],
    [{"role": "user", "content": "Reverse the words: a b c"}, {"role": "assistant", "content": "c b a"},
     {"role": "user", "content": " And now: d e "}, {"role": "assistant", "content": "e d\n"},
     {"role": "user", "content": "Thanks, Mr. Darcy!"},
     {"role": "assistant", "content": "You're welcome — ünïcode."}],
]


def family_tokenizer(name: str, out: Path) -> Path:
    """A copy of the tiny tokenizer with family `name`'s special tokens and chat template, saved to out/."""
    from transformers import AutoTokenizer

    template, specials, bos, eos = FAMILIES[name]
    tok = AutoTokenizer.from_pretrained(str(TINY_MODEL))
    extra = {"additional_special_tokens": specials} if specials else {}
    if bos:
        extra["bos_token"] = bos
    extra["eos_token"] = eos
    tok.add_special_tokens(extra)
    tok.chat_template = template
    tok.save_pretrained(out)
    return out


def reference_ids(tok, messages, **kw) -> list[int]:
    """transformers' own token ids of a conversation under the tokenizer's chat template."""
    out = tok.apply_chat_template(messages, tokenize=True, **kw)
    ids = out["input_ids"] if hasattr(out, "keys") else out
    return list(ids)
