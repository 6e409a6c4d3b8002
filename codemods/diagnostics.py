"""What a conversion returns: the new code plus one Diagnostic per torch API left untranslated.

A Diagnostic prints as `file:line:col CODE api: reason [suggestion]`. `level` tells consumers how
serious it is: "error" means the output cannot run as the torch source did (an API left as is);
"warning" means it was translated with a documented change of behaviour (e.g. torch.compile
removed). The MindSpore import hook refuses to run a module with any "error".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    col: int
    code: str  # stable rule code, e.g. "MB002"
    api: str  # the torch API, qualified when known ("torch.stft", "Tensor.backward")
    reason: str
    suggestion: str = ""
    level: str = "error"  # "error": left untranslated; "warning": translated with a caveat

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.col} {self.code} {self.api}: {self.reason}"
        return f"{text} [{self.suggestion}]" if self.suggestion else text

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ConversionResult:
    code: str
    changed: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]
