"""Image-text SFT data (core/data/sft/vision.py, image_files.py) against transformers' own processors.

The shipped tiny LLaVA and Qwen2-VL folders and LLaVA-format rows (examples/vlm): the prepared ids equal
what the model's transformers processor gives for the same rendered conversation and images (the
`<image>` expansion), the stored pixels equal its pixel_values (float32, exactly), image tokens are never
trained, text-only rows mix in, and bad rows are one-line errors naming the row.

    CI=true .venv/bin/python -m pytest -q tests/vlm/test_vlm_data.py
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import REPO, needs
from core.errors import DataError

VLM = REPO / "examples" / "vlm"
DATA = VLM / "data" / "llava.json"
FOLDERS = {"llava": VLM / "tiny-llava", "qwen2_vl": VLM / "tiny-qwen2-vl"}


def transformers_processor(family: str):
    """The family's transformers processor, from the folder's own files."""
    import transformers

    folder = FOLDERS[family]
    if family == "llava":
        return transformers.AutoProcessor.from_pretrained(folder, local_files_only=True)

    # Qwen2VLProcessor insists on a video processor, which needs torchvision (no wheel for CPU-only torch);
    # images never use it, so it is left out.
    class ImagesOnly(transformers.Qwen2VLProcessor):
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    return ImagesOnly(image_processor=transformers.AutoImageProcessor.from_pretrained(folder, local_files_only=True),
                      tokenizer=transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True))


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def prepared(request, tmp_path_factory):
    needs("transformers")
    from core.data.sft import Settings, prepare_sft
    from core.data.sft.dataset import SFTData

    out = tmp_path_factory.mktemp(request.param)
    prepare_sft(str(DATA), out, Settings(processor=str(FOLDERS[request.param]), cutoff_len=160), progress=False,
                log=lambda *a: None)
    return request.param, SFTData(out, seq_len=159, batch_size=4, val_fraction=0.1, seed=0)


def test_ids_and_pixels_equal_the_transformers_processor(prepared):
    from PIL import Image

    from core.data.sft.encode import Settings, WorkerState
    from core.data.sft.formats import to_messages
    from core.data.sft.vision import place_images, row_images

    family, data = prepared
    processor = transformers_processor(family)
    state = WorkerState(Settings(processor=str(FOLDERS[family]), cutoff_len=160))
    rows = json.loads(DATA.read_text())
    store = data.images
    checked = {0: 0, 1: 0, 2: 0}
    for i, row in enumerate(rows[:40]):  # the prepared samples keep the rows' order (none is left out here)
        where = f"{DATA}:row {i}"
        names = row_images(row, where)
        messages = place_images(to_messages(row, where), len(names), where, state.vision.family)
        text, _ = state.template.render(messages)
        pictures = [Image.open(VLM / "data" / n).convert("RGB") for n in names]
        want = processor(text=[text], images=pictures or None, return_tensors="np", add_special_tokens=False)
        ids, mask = data.sample(i)
        assert ids.tolist() == want["input_ids"][0].tolist(), where
        image_token = state.vision.image_token_id
        assert not mask[ids == image_token].any()  # image tokens are never trained
        assert store.count(i) == len(names)
        if names:
            slots = data._row(i)
            got = [slots["pixel_values"][k] for k in range(len(names))]
            if family == "qwen2_vl":
                grids = slots["image_grid_thw"][:len(names)]
                assert grids.tolist() == want["image_grid_thw"].tolist()
                got = [g[:int(np.prod(t))] for g, t in zip(got, grids)]
                got = np.concatenate(got)
            else:
                got = np.stack(got)
            np.testing.assert_array_equal(got, want["pixel_values"].astype(np.float32))
            assert slots["image_mask"].tolist() == [1] * len(names) + [0] * (store.slots_per_row - len(names))
        checked[len(names)] += 1
    assert all(checked.values()), checked  # text-only, one-image and two-image rows were all compared


def test_batches_mix_image_and_text_only_rows_with_fixed_shapes(prepared):
    family, data = prepared
    shapes, flags = set(), []
    for step in range(6):
        batch = data.train_batch(step, 0)
        shapes.add(tuple((k, v.shape, str(v.dtype)) for k, v in sorted(batch.items())))
        flags.append(batch["image_mask"].sum(1))
    assert len(shapes) == 1  # every batch of the data set has the same shapes
    flags = np.concatenate(flags)
    assert (flags == 0).any() and (flags == 1).any() and (flags == 2).any()
    keys = {k for k, _, _ in next(iter(shapes))}
    assert keys == {"input_ids", "labels", "attention_mask", "pixel_values", "image_mask"} | (
        {"image_grid_thw"} if family == "qwen2_vl" else set())


def _prepare(tmp_path, rows, **settings):
    from core.data.sft import Settings, prepare_sft

    for png in (VLM / "data").glob("shape_0*.png"):
        if not (tmp_path / png.name).exists():
            shutil.copy2(png, tmp_path / png.name)
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(rows))
    settings.setdefault("processor", str(FOLDERS["llava"]))
    return prepare_sft(str(data), tmp_path / "out", Settings(**settings), progress=False, log=lambda *a: None)


def _conv(text="<image>\nWhat shape?"):
    return [{"from": "human", "value": text}, {"from": "gpt", "value": "A circle."}]


@pytest.mark.parametrize("row, message", [
    ({"image": "shape_00.png", "conversations": _conv("<image><image> two?")}, "2 <image> placeholder(s) in the "
                                                                                 "conversation but 1 image(s)"),
    ({"image": "missing.png", "conversations": _conv()}, "image not found: "),
    ({"image": "rows.json", "conversations": _conv()}, "is not a readable image"),
    ({"image": 3, "conversations": _conv()}, "'image' must be a path or a list of paths"),
])
def test_bad_image_rows_are_one_line_errors_naming_the_row(tmp_path, row, message):
    needs("transformers")
    with pytest.raises(DataError) as e:
        _prepare(tmp_path, [row])
    assert message in str(e.value) and "rows.json:row 0" in str(e.value) and "\n" not in str(e.value)


def test_images_without_placeholders_go_first_and_processor_is_required(tmp_path):
    needs("transformers")
    from core.data.sft.dataset import SFTData

    rows = [{"image": "shape_00.png", "conversations": _conv("What shape?")},
            {"image": "shape_01.png", "conversations": _conv()}, {"conversations": _conv("no image")}]
    meta_path, hit = _prepare(tmp_path, rows)
    data = SFTData(meta_path.parent, seq_len=96, batch_size=2, val_fraction=0.34, seed=0)
    first, second = data.sample(0)[0], data.sample(1)[0]
    assert np.count_nonzero(first == 512) == 16  # <image> (id 512) 16 times for a 32x32 image in 8x8 patches
    assert first.tolist().index(512) == second.tolist().index(512)  # at the start of the user message, as "<image>\n..."
    assert _prepare(tmp_path, rows)[1]  # the same inputs again: a cache hit
    (tmp_path / "shape_00.png").write_bytes((tmp_path / "shape_02.png").read_bytes())
    assert not _prepare(tmp_path, rows)[1]  # a changed image is a new preparation
    with pytest.raises(DataError, match=r"rows.json:row 0: the row has images; prepare it with --processor"):
        _prepare(tmp_path, rows, processor=None, tokenizer=str(FOLDERS["llava"]))
    with pytest.raises(DataError, match="with images .* not supported yet"):
        _prepare(tmp_path, rows, pack=True)


def test_several_datasets_find_their_images_beside_each_file_and_max_samples(tmp_path):
    needs("transformers")
    from core.data.sft import Settings, prepare_sft
    from core.data.sft.dataset import SFTData

    for sub, png in (("a", "shape_00.png"), ("b", "shape_01.png")):
        (tmp_path / sub).mkdir()
        shutil.copy2(VLM / "data" / png, tmp_path / sub / "img.png")  # the same name, a different image
        rows = [{"image": "img.png", "conversations": _conv()}, {"conversations": _conv("text only")},
                {"image": "img.png", "conversations": _conv()}]
        (tmp_path / sub / "rows.json").write_text(json.dumps(rows))
    spec = f"{tmp_path / 'a' / 'rows.json'},{tmp_path / 'b' / 'rows.json'}"
    meta, _ = prepare_sft(spec, tmp_path / "out", Settings(processor=str(FOLDERS["llava"]), max_samples=2),
                          progress=False, log=lambda *a: None)
    data = SFTData(meta.parent, seq_len=96, batch_size=2, val_fraction=0.25, seed=0)
    assert data.meta["num_samples"] == 4 and [data.images.count(i) for i in range(4)] == [1, 0, 1, 0]
    first, second = data._row(0)["pixel_values"][0], data._row(2)["pixel_values"][0]
    assert not np.array_equal(first, second)  # b/img.png came from b/, not a/


@pytest.fixture(scope="module")
def qwen3_vl_folder(tmp_path_factory):
    """A Qwen3-VL processor folder made here (no weights: the data path reads none): tiny-qwen2-vl's tokenizer
    (the same <|vision_start|> <|image_pad|> ... tokens), a Qwen3VLConfig naming them, and the image processor
    transformers pairs with qwen3_vl (Qwen2VLImageProcessor, Pillow backend) with Qwen3-VL's 0.5 mean/std."""
    needs("transformers")
    import transformers

    folder = tmp_path_factory.mktemp("tiny-qwen3-vl")
    tok = transformers.AutoTokenizer.from_pretrained(FOLDERS["qwen2_vl"], local_files_only=True)
    ids = {k: tok.convert_tokens_to_ids(f"<|{k}|>") for k in ("image_pad", "video_pad", "vision_start", "vision_end")}
    config = transformers.Qwen3VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=8),
        vision_config=dict(depth=2, hidden_size=32, out_hidden_size=32, intermediate_size=64, num_heads=4,
                           patch_size=8, spatial_merge_size=2, num_position_embeddings=16,
                           deepstack_visual_indexes=[0]),
        image_token_id=ids["image_pad"], video_token_id=ids["video_pad"], vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"])
    config.architectures = ["Qwen3VLForConditionalGeneration"]
    config.save_pretrained(folder)
    transformers.Qwen2VLImageProcessorPil(patch_size=8, merge_size=2, temporal_patch_size=2, image_mean=[0.5] * 3,
                                          image_std=[0.5] * 3, size={"shortest_edge": 32 * 32,
                                                                     "longest_edge": 64 * 64}).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_qwen3_vl_ids_and_pixels_equal_its_processor(qwen3_vl_folder, tmp_path):
    """Qwen3-VL: the prepared ids equal Qwen3VLProcessor's (<|vision_start|><|image_pad|> x t*h*w/4 <|vision_end|>),
    the stored pixels and grids its image processor's, for text-only, one-image and two-image rows."""
    import transformers
    from PIL import Image

    from core.data.sft import Settings, prepare_sft
    from core.data.sft.dataset import SFTData
    from core.data.sft.encode import WorkerState
    from core.data.sft.formats import to_messages
    from core.data.sft.vision import place_images, row_images

    class ImagesOnly(transformers.Qwen3VLProcessor):  # no video processor (torchvision), as for Qwen2-VL above
        def check_argument_for_proper_class(self, name, arg):
            return None if arg is None else super().check_argument_for_proper_class(name, arg)

    processor = ImagesOnly(
        image_processor=transformers.AutoImageProcessor.from_pretrained(qwen3_vl_folder, local_files_only=True),
        tokenizer=transformers.AutoTokenizer.from_pretrained(qwen3_vl_folder, local_files_only=True))
    rows = json.loads(DATA.read_text())[:24]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    for png in (VLM / "data").glob("*.png"):
        (tmp_path / png.name).symlink_to(png)
    settings = Settings(processor=str(qwen3_vl_folder), cutoff_len=160)
    meta, _ = prepare_sft(str(tmp_path / "rows.json"), tmp_path / "out", settings, progress=False, log=lambda *a: None)
    data = SFTData(meta.parent, seq_len=159, batch_size=4, val_fraction=0.1, seed=0)
    state = WorkerState(settings)
    checked = {0: 0, 1: 0, 2: 0}
    for i, row in enumerate(rows):
        where = f"rows.json:row {i}"
        names = row_images(row, where)
        text, _ = state.template.render(place_images(to_messages(row, where), len(names), where, state.vision.family))
        pictures = [Image.open(VLM / "data" / n).convert("RGB") for n in names]
        want = processor(text=[text], images=pictures or None, return_tensors="np", add_special_tokens=False)
        ids, mask = data.sample(i)
        assert ids.tolist() == want["input_ids"][0].tolist(), where
        assert not mask[ids == state.vision.image_token_id].any()
        if names:
            slots = data._row(i)
            grids = slots["image_grid_thw"][:len(names)]
            assert grids.tolist() == want["image_grid_thw"].tolist()
            got = np.concatenate([g[:int(np.prod(t))] for g, t in zip(slots["pixel_values"], grids)])
            np.testing.assert_array_equal(got, want["pixel_values"].astype(np.float32))
        checked[len(names)] += 1
    assert all(checked.values()), checked
    batch = data.train_batch(0, 0)
    assert set(batch) == {"input_ids", "labels", "attention_mask", "pixel_values", "image_mask", "image_grid_thw"}
