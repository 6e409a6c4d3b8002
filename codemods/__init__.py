"""torch source -> MindSpore source, with libcst.

    python -m codemods.convert src/ -o src_ms/      # see codemods/convert.py and docs/converter.md

Library use (the MindSpore import hook): `convert_source(source, filename, select)` returns a
`ConversionResult(code, changed, diagnostics)`; `fingerprint()` (a hash of the converter's own files) keys caches;
`emitted_names()` lists every MindSpore name the output can contain.
"""

from codemods.api import CONVERTER_VERSION, convert_source, emitted_names, fingerprint, rule_codes
from codemods.diagnostics import ConversionResult, Diagnostic

__all__ = ["CONVERTER_VERSION", "ConversionResult", "Diagnostic", "convert_source", "emitted_names", "fingerprint",
           "rule_codes"]
