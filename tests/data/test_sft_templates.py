"""Named chat templates against the model families' own Hugging Face chat templates, token by token.

Each family tokenizer (sft_common.family_tokenizer) carries the family's real chat template; our named
template must give exactly `apply_chat_template`'s token ids, and train exactly the tokens between the
rendering of messages[:k] with the generation prompt and that of messages[:k+1] (transformers' own ids).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sft_common import CONVERSATIONS, FAMILIES, QWEN2, family_tokenizer, reference_ids

from core.data.sft.encode import Settings, WorkerState
from core.data.sft.formats import Raw
from core.errors import DataError


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("families")
    return {name: family_tokenizer(name, root / name) for name in FAMILIES}


def encode(folder, template, messages, **settings):
    state = WorkerState(Settings(tokenizer=str(folder), template=template, cutoff_len=4096, **settings))
    ids, mask, lengths, _, _ = state.encode([Raw("test:1", row={"messages": messages})])
    return state.tok, ids, mask


def convs(name):
    # Mistral-Instruct v0.1's template has no system role (it raises); ours puts the system text in the first turn.
    # `empty` joins turns with no marker, so " e" + "e d" tokenises across the boundary in the third one (see
    # test_a_token_across_the_answer_boundary_is_trained).
    if name == "empty":
        return CONVERSATIONS[:2]
    return [c for c in CONVERSATIONS if not (name == "mistral" and c[0]["role"] == "system")]


def expected_mask(tok, messages) -> np.ndarray:
    """1 on the tokens each assistant turn adds after the generation prompt, from transformers' own ids."""
    full = reference_ids(tok, messages)
    mask = np.zeros(len(full), dtype=np.uint8)
    for k, m in enumerate(messages):
        if m["role"] == "assistant":
            start = len(reference_ids(tok, messages[:k], add_generation_prompt=True))
            end = len(reference_ids(tok, messages[:k + 1]))
            assert reference_ids(tok, messages[:k + 1]) == full[:end]  # the renderings are prefixes
            mask[start:end] = 1
    return mask


@pytest.mark.parametrize("name", list(FAMILIES))
def test_named_template_gives_the_familys_token_ids_and_answer_mask(family, name):
    for messages in convs(name):
        tok, ids, mask = encode(family[name], name, messages)
        assert ids.tolist() == reference_ids(tok, messages), name
        np.testing.assert_array_equal(mask, expected_mask(tok, messages), err_msg=name)
        assert mask.sum() > 0


@pytest.mark.parametrize("name", list(FAMILIES))
def test_auto_uses_the_tokenizers_own_template_with_the_same_result(family, name):
    for messages in convs(name):
        _, ids_named, mask_named = encode(family[name], name, messages)
        tok, ids_auto, mask_auto = encode(family[name], "auto", messages)
        assert ids_auto.tolist() == ids_named.tolist() == reference_ids(tok, messages)
        np.testing.assert_array_equal(mask_auto, mask_named)


def test_a_token_across_the_answer_boundary_is_trained(family):
    """Like transformers' assistant_masks: a token overlapping an answer's characters carries loss."""
    tok, ids, mask = encode(family["empty"], "empty", [{"role": "user", "content": "say e"},
                                                       {"role": "assistant", "content": "e d"}])
    pieces = [tok.decode([i]) for i in ids.tolist()]
    assert "".join(pieces) == "say ee d"
    trained = "".join(p for p, m in zip(pieces, mask) if m)
    assert trained.endswith("e d") and "say" not in trained


def test_answer_tokens_decode_to_the_answers(family):
    tok, ids, mask = encode(family["qwen"], "qwen", CONVERSATIONS[2])
    trained = tok.decode(ids[mask == 1].tolist())
    answers = [m["content"] for m in CONVERSATIONS[2] if m["role"] == "assistant"]
    assert trained == "".join(f"{a}<|im_end|>\n" for a in answers)
    text = tok.decode(ids.tolist())
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")


def test_mistral_system_message_starts_the_first_user_turn(family):
    tok, ids, _ = encode(family["mistral"], "mistral", CONVERSATIONS[1])
    assert tok.decode(ids.tolist()) == "<s>[INST] Answer briefly.\n\nRepeat: It is a truth. [/INST]It is a truth.</s>"


def test_user_template_file(family, tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text(QWEN2, encoding="utf-8")
    for messages in CONVERSATIONS:
        _, ids_file, mask_file = encode(family["chatml"], str(path), messages)
        _, ids_named, mask_named = encode(family["chatml"], "qwen", messages)
        assert ids_file.tolist() == ids_named.tolist()
        np.testing.assert_array_equal(mask_file, mask_named)


def test_unknown_template_lists_the_known_ones(family):
    with pytest.raises(DataError) as e:
        encode(family["qwen"], "vicuna", CONVERSATIONS[0])
    msg = str(e.value)
    assert "\n" not in msg and "unknown template 'vicuna'" in msg
    for name in ("auto", "empty", "qwen", "llama3", "mistral"):
        assert name in msg


def test_a_template_that_rewrites_history_is_refused_in_one_line(family, tmp_path):
    path = tmp_path / "rewrites.jinja"
    path.write_text("{% for m in messages %}{% if m.role == 'assistant' and not loop.last %}[old]"
                    "{% else %}{{ m.content }}{% endif %}{% endfor %}", encoding="utf-8")
    with pytest.raises(DataError, match="not incremental") as e:
        encode(family["qwen"], str(path), CONVERSATIONS[2])
    assert "\n" not in str(e.value)


def test_template_raise_exception_is_a_one_line_data_error(family):
    bad = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]
    with pytest.raises(DataError, match="Conversation roles must alternate|Only user and assistant") as e:
        encode(family["mistral"], "auto", bad)
    assert "\n" not in str(e.value)


def test_byte_level_default_needs_no_library():
    state = WorkerState(Settings(template="chatml"))
    ids, mask, _, _, _ = state.encode([Raw("t:1", row={"prompt": "hé", "response": "ok"})])
    text = "<|im_start|>user\nhé<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
    assert bytes(ids.astype(np.uint8)).decode() == text
    trained = bytes(ids[mask == 1].astype(np.uint8)).decode()
    assert trained == "ok<|im_end|>\n"
    assert json.dumps(Settings().as_dict())  # settings are plain JSON (the cache key)
