"""Chat templates: a conversation -> (text, the character spans of the assistant turns).

- named templates (`empty`, `chatml`, `qwen`, `llama3`, `mistral`): slots filled in Python, so the
  assistant spans are known exactly; each renders the same text as the model family's own
  Hugging Face chat template (tests/data/test_sft_templates.py checks token ids);
- `auto` (the default when a tokenizer is given): the tokenizer's own `chat_template`, rendered by
  transformers' `apply_chat_template`;
- a path to a .jinja file (a Hugging Face chat template): rendered the same way.

A Jinja template's assistant span k is the text between the rendering of messages[:k] with the
generation prompt and the rendering of messages[:k+1]; a template whose renderings are not prefixes of
each other (Qwen3's, which rewrites earlier turns) is refused in one line: use a named template.

    t = get_template("qwen", tokenizer)
    text, spans = t.render([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError


@dataclass(frozen=True)
class Slots:
    """A template as slots; '{content}' is the message text, '{bos}'/'{eos}' the tokenizer's tokens."""

    name: str
    user: str  # ends with the generation prompt (what precedes the assistant's answer)
    assistant: str  # the trained part: the answer and its end marker
    system: str = "{content}"
    prefix: str = ""  # once, before everything
    default_system: str = ""
    system_in_user: bool = False  # no system slot: the system text starts the first user message
    strip: bool = False  # content is stripped (Llama 3's `| trim`)

    def fill(self, slot: str, content: str, bos: str, eos: str) -> str:
        return slot.replace("{bos}", bos).replace("{eos}", eos).replace("{content}", content)


NAMED = {
    "empty": Slots("empty", user="{content}", assistant="{content}"),
    "chatml": Slots("chatml", system="<|im_start|>system\n{content}<|im_end|>\n",
                    user="<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n",
                    assistant="{content}<|im_end|>\n"),
    # Qwen2/Qwen2.5-Instruct style ChatML with Qwen2's default system message
    "qwen": Slots("qwen", system="<|im_start|>system\n{content}<|im_end|>\n",
                  user="<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n",
                  assistant="{content}<|im_end|>\n", default_system="You are a helpful assistant."),
    "llama3": Slots("llama3", prefix="{bos}",
                    system="<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>",
                    user="<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>"
                         "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    assistant="{content}<|eot_id|>", strip=True),
    "mistral": Slots("mistral", prefix="{bos}", user="[INST] {content} [/INST]", assistant="{content}{eos}",
                     system_in_user=True),
}
DEFAULT_TOKENS = {"llama3": ("<|begin_of_text|>", "<|eot_id|>"), "mistral": ("<s>", "</s>")}


def known() -> str:
    return ", ".join(["auto", *NAMED, "or a .jinja file"])


class SlotTemplate:
    def __init__(self, slots: Slots, tokenizer):
        self.slots, self.name = slots, slots.name
        bos, eos = DEFAULT_TOKENS.get(slots.name, ("", ""))
        self.bos = getattr(tokenizer, "bos_token", None) or bos
        self.eos = getattr(tokenizer, "eos_token", None) or eos

    def render(self, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
        s = self.slots
        parts, spans, pos = [], [], 0

        def add(piece: str, trained: bool = False):
            nonlocal pos
            if trained:
                spans.append((pos, pos + len(piece)))
            parts.append(piece)
            pos += len(piece)

        add(s.fill(s.prefix, "", self.bos, self.eos))
        body = messages
        system = s.default_system
        if messages[0]["role"] == "system":
            system, body = messages[0]["content"], messages[1:]
        if s.strip:
            system = system.strip()
        if system and not s.system_in_user:
            add(s.fill(s.system, system, self.bos, self.eos))
        for i, m in enumerate(body):
            content = m["content"].strip() if s.strip else m["content"]
            if m["role"] == "user":
                if i == 0 and system and s.system_in_user:
                    content = f"{system}\n\n{content}"
                add(s.fill(s.user, content, self.bos, self.eos))
            else:
                add(s.fill(s.assistant, content, self.bos, self.eos), trained=True)
        return "".join(parts), spans


class JinjaTemplate:
    def __init__(self, source: str, tokenizer, name: str):
        self.source, self.name, self.tokenizer = source, name, tokenizer
        if tokenizer is None or not hasattr(tokenizer, "apply_chat_template"):
            raise DataError(f"template {name}: a Jinja chat template needs a Hugging Face tokenizer (--tokenizer DIR)")

    def _render(self, messages: list[dict], gen: bool) -> str:
        try:
            return self.tokenizer.apply_chat_template(messages, chat_template=self.source, tokenize=False,
                                                      add_generation_prompt=gen)
        except Exception as e:  # the template's own raise_exception() and Jinja errors
            raise DataError(f"template {self.name}: {type(e).__name__}: {e}".splitlines()[0]) from None

    def render(self, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
        text = self._render(messages, gen=False)
        spans = []
        for k, m in enumerate(messages):
            if m["role"] != "assistant":
                continue
            before = self._render(messages[:k], gen=True)
            upto = self._render(messages[:k + 1], gen=False)
            if not (upto.startswith(before) and text.startswith(upto)):
                raise DataError(f"template {self.name}: rendering is not incremental (a later turn changes earlier "
                                f"text), so answers cannot be located; use a named template ({known()})")
            spans.append((len(before), len(upto)))
        return text, spans


def get_template(name: str | None, tokenizer):
    """A template by name ('auto' or None: the tokenizer's own, else `empty`), or from a .jinja file."""
    if name in (None, "", "auto"):
        source = getattr(tokenizer, "chat_template", None)
        if isinstance(source, str) and source:
            return JinjaTemplate(source, tokenizer, "auto (the tokenizer's chat_template)")
        if name == "auto":
            raise DataError(f"the tokenizer has no chat_template; pass --template NAME (known: {known()})")
        return SlotTemplate(NAMED["empty"], tokenizer)
    if name in NAMED:
        return SlotTemplate(NAMED[name], tokenizer)
    path = Path(name).expanduser()
    if path.suffix in (".jinja", ".j2", ".txt") or path.exists():
        if not path.is_file():
            raise DataError(f"template file not found: {path}")
        return JinjaTemplate(path.read_text(encoding="utf-8"), tokenizer, str(path))
    raise DataError(f"unknown template '{name}' (known: {known()})")
