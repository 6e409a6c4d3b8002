"""Output cases for tests/codemods/test_api_outputs.py: dtypes, constants and helpers (mostly the dtypes
and misc tables of codemods/mappings/): device and compiler probes, kernel switches, GradScaler.

Same format and inputs as api_cases.py (every case is an expression over api_cases.INPUTS);
tests/codemods/test_api_outputs.py runs these CASES with the other topics'.

    .venv/bin/pytest tests/codemods/test_api_outputs.py -q
"""

from __future__ import annotations

from api_cases import C

CASES = [
    # ------------------------------------------------------------------ dtypes, constants, helpers
    C("torch.float32", "torch.float32"),
    C("torch.float", "x.to(torch.float).dtype"),
    C("torch.float16", "x.to(torch.float16)"),
    C("torch.half", "x.to(torch.half).dtype"),
    C("torch.bfloat16", "torch.bfloat16"),
    C("torch.float64", "x.to(torch.float64)"),
    C("torch.double", "torch.double"),
    C("torch.int8", "i.to(torch.int8)"),
    C("torch.uint8", "i.to(torch.uint8)"),
    C("torch.int16", "torch.int16"),
    C("torch.short", "torch.short"),
    C("torch.int32", "i.to(torch.int32)"),
    C("torch.int", "x.to(torch.int)"),
    C("torch.int64", "b.to(torch.int64)"),
    C("torch.long", "x.long().dtype == torch.long"),
    C("torch.bool", "i.to(torch.bool)"),
    C("torch.Tensor", "isinstance(x, torch.Tensor)"),
    C("torch.Size", "torch.Size([2, 3])"),
    C("torch.is_tensor", "(torch.is_tensor(x), torch.is_tensor(3))"),
    C("torch.finfo", "(torch.finfo(torch.float32).eps, torch.finfo(torch.float16).max, torch.finfo(x.dtype).min)"),
    C("torch.iinfo", "torch.iinfo(torch.int32).max"),
    C("torch.get_default_dtype", "torch.get_default_dtype()"),
    C("torch.device", "str(torch.device('cpu'))"),
    C("torch.dtype", "isinstance(x.dtype, torch.dtype)"),
    C("torch.inf", "torch.clamp(x, max=torch.inf)"),
    C("torch.nan", "torch.nan != torch.nan"),
    C("torch.pi", "torch.pi"),
    C("torch.e", "torch.e"),
    C("torch.jit.is_tracing", "torch.jit.is_tracing()"),
    C("torch._dynamo.mark_static_address", "torch._dynamo.mark_static_address(x)"),
    C("torch._assert", "(torch._assert(x.shape[0] == 2, 'batch'), x)[1]"),
    C("torch.jit.is_scripting", "torch.jit.is_scripting()"),
    C("torch.compiler.is_compiling", "torch.compiler.is_compiling()"),
    C("torch.compiler.is_exporting", "torch.compiler.is_exporting()"),
    C("torch._dynamo.is_compiling", "torch._dynamo.is_compiling()"),
    C("torch.is_autocast_enabled", "torch.is_autocast_enabled()"),
    C("torch.is_autocast_cpu_enabled", "torch.is_autocast_cpu_enabled()"),
    C("torch.is_grad_enabled", "torch.is_grad_enabled()"),
    C("torch.are_deterministic_algorithms_enabled", "torch.are_deterministic_algorithms_enabled()"),
    C("torch.jit.script_if_tracing", "torch.jit.script_if_tracing(lambda a: a * 2)(x)"),
    C("torch.compiler.cudagraph_mark_step_begin", "(torch.compiler.cudagraph_mark_step_begin(), x)[1]"),
    C("torch.cuda.device_count", "torch.cuda.device_count()"),  # 0 on both CPU hosts
    # accelerator probes on a CPU host: none on either side (the PyTorch tutorials' device line)
    C("torch.accelerator.is_available", "torch.accelerator.is_available()"),
    C("torch.accelerator.current_accelerator", "torch.accelerator.current_accelerator() is None"),
    C("torch.accelerator.device_count", "torch.accelerator.device_count()"),
    C("torch.cuda.is_bf16_supported", "torch.cuda.is_bf16_supported()"),
    # kernel switches: torch's defaults, readable after a script writes them
    C("torch.backends.cudnn.benchmark", "torch.backends.cudnn.benchmark"),
    C("torch.backends.cudnn.deterministic", "torch.backends.cudnn.deterministic"),
    C("torch.backends.cudnn.allow_tf32", "torch.backends.cudnn.allow_tf32"),
    C("torch.backends.cudnn.enabled", "torch.backends.cudnn.enabled"),
    C("torch.backends.cuda.matmul.allow_tf32", "torch.backends.cuda.matmul.allow_tf32"),
    # GradScaler in fp32 (disabled, as on CPU): scale() is the identity; its step/update are exercised by
    # tests/codemods/test_train_step.py, which also compares clip_grad_norm_'s norms with torch's
    C("torch.amp.GradScaler", "torch.amp.GradScaler('cpu', enabled=False).scale(x)"),
    C("torch.cuda.amp.GradScaler", "torch.cuda.amp.GradScaler(enabled=False).scale(x)"),
    C("torch.GradScaler", "torch.GradScaler('cpu', enabled=False).scale(x)"),
    C("torch.nn.init._calculate_fan_in_and_fan_out", "torch.nn.init._calculate_fan_in_and_fan_out(img)"),
]
