"""CI gates: per answer backend, the least (or most) each headline metric may be.

The gates file is TOML, one table per backend, one inline table per gated metric::

    [extractive]
    accuracy = { min = 0.57 }         # measured 0.60 on 2026-11-23, margin 0.03
    wrongly_refused = { max = 0.08 }  # lower is better

Metric names are those of `evals.summary.HEADLINE_METRICS`; a misspelt name is an error,
not a gate that silently never applies. A metric the report lacks fails its gate.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evals.summary import HEADLINE_METRICS
from ingest.errors import BadInput

Bound = Literal["min", "max"]


@dataclass(frozen=True)
class Gate:
    """One bound on one metric."""

    metric: str
    bound: Bound
    limit: float

    def describe(self) -> str:
        """The bound as text, e.g. "≥ 0.570"."""
        return f"{'≥' if self.bound == 'min' else '≤'} {self.limit:.3f}"


@dataclass(frozen=True)
class Verdict:
    """A gate checked against a report's value (None: the report lacks the metric)."""

    backend: str
    gate: Gate
    value: float | None

    @property
    def passed(self) -> bool:
        """Within the bound; a missing or NaN value never passes."""
        if self.value is None or math.isnan(self.value):
            return False
        if self.gate.bound == "min":
            return self.value >= self.gate.limit
        return self.value <= self.gate.limit

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready verdict."""
        return {
            "backend": self.backend,
            "metric": self.gate.metric,
            "value": self.value,
            "bound": self.gate.bound,
            "limit": self.gate.limit,
            "passed": self.passed,
        }


def parse_gates(data: Mapping[str, Any], origin: str = "gates") -> dict[str, list[Gate]]:
    """Gates by backend from parsed TOML; `BadInput` names what is wrong."""
    gates: dict[str, list[Gate]] = {}
    for backend, table in data.items():
        if not isinstance(table, Mapping):
            raise BadInput(f"{origin}: [{backend}] must be a table of metric = {{ min = … }}")
        gates[backend] = []
        for metric, spec in table.items():
            if metric == "margin":  # documents how far below the measured value gates sit
                continue
            where = f"{origin}: {backend}.{metric}"
            if metric not in HEADLINE_METRICS:
                raise BadInput(f"{where}: unknown metric; use one of {', '.join(HEADLINE_METRICS)}")
            if not isinstance(spec, Mapping) or not spec or set(spec) - {"min", "max"}:
                raise BadInput(f"{where}: write {{ min = 0.5 }} and/or {{ max = 0.1 }}")
            for bound in ("min", "max"):
                if bound in spec:
                    limit = spec[bound]
                    if isinstance(limit, bool) or not isinstance(limit, int | float):
                        raise BadInput(f"{where}: {bound} must be a number, got {limit!r}")
                    gates[backend].append(Gate(metric, bound, float(limit)))
    return gates


def load_gates(path: Path) -> dict[str, list[Gate]]:
    """Read a gates file (TOML)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"gates file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"gates file {path} is not valid TOML: {exc}") from None
    return parse_gates(data, str(path))


def check_gates(
    headline: Mapping[str, Mapping[str, float | None]],
    gates: Mapping[str, Sequence[Gate]],
) -> list[Verdict]:
    """Each backend's gates against its headline figures (backend → metric → value).

    Only backends present in `headline` are checked: a run of the extractive backend is
    not failed by the local backend's gates.
    """
    verdicts = []
    for backend, figures in headline.items():
        for gate in gates.get(backend, ()):
            verdicts.append(Verdict(backend, gate, figures.get(gate.metric)))
    return verdicts


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    """A markdown table: backend, metric, value, gate, PASS/FAIL."""
    lines = ["| backend | metric | value | gate | verdict |", "|---|---|---|---|---|"]
    for v in verdicts:
        value = "missing" if v.value is None else f"{v.value:.3f}"
        verdict = "PASS" if v.passed else "FAIL"
        lines.append(
            f"| {v.backend} | {v.gate.metric} | {value} | {v.gate.describe()} | {verdict} |"
        )
    return "\n".join(lines)
