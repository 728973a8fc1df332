"""Run the FinOps Foundation FOCUS validator (shared/tools/focus-validate) from tests.

The validator needs Python 3.12 (its wrapper builds its own venv from PyPI on first use).
Without it the tests FAIL with the fix in the message: "FOCUS output passes the FOCUS 1.3
validator" is an invariant, and a CI that cannot check it must opt out visibly with
``COSTLINE_SKIP_VALIDATOR=1``.

Rules passed with ``--ignore`` are computed from the file and the model, never listed by hand
(evidence in docs/focus-validation.md):

* the nullability rules of conditional FOCUS columns that are null on every row: the validator
  means to skip rules of undeclared provider features but matches them by the rule id's first
  segment, which is ``CAU`` for every 1.3 rule (focus_to_duckdb_converter.py), so it never does;
* in CSV, the type rules of text columns whose every value looks like a number (the validator
  infers CSV types, so 12-digit account ids become numbers);
* ``MODEL_DEFECTS``: rules of the 1.3 model that fail on valid data;
* ``CAU-EffectiveCost-C-005-C`` when every Purchase row with a non-zero EffectiveCost has no
  CommitmentDiscountId: the rule reads "EffectiveCost MUST be 0 when ChargeCategory is
  Purchase *and the purchase is intended to cover future eligible charges*", but the model's
  Condition is only ``ChargeCategory = 'Purchase'``, so support fees, domain registrations and
  marketplace purchases (not prepayments: their cost is their effective cost) fail it.
  Commitment purchases with a non-zero EffectiveCost still fail the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costline.schema.focus import FOCUS_COLUMNS
from tests.conftest import REFERENCE

# CapacityReservationStatus-C-004-C has a condition without a CheckFunction, so it applies to
# every row; PricingCurrencyContractedUnitPrice-C-012-C has its condition inverted. Their
# parents fail only through them.
MODEL_DEFECTS = (
    "CAU-CapacityReservationStatus-C-002-C",
    "CAU-CapacityReservationStatus-C-004-C",
    "CAU-PricingCurrencyContractedUnitPrice-C-003-M",
    "CAU-PricingCurrencyContractedUnitPrice-C-012-C",
)


def python312() -> str | None:
    if os.environ.get("FOCUS_PYTHON"):
        return os.environ["FOCUS_PYTHON"]
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(root.glob("versions/3.12*/bin/python3.12")):
        return str(candidate)
    return shutil.which("python3.12")


def validator_tool() -> Path:
    """The focus-validate wrapper, or skip/fail the test as described in the module docstring."""
    if os.environ.get("COSTLINE_SKIP_VALIDATOR") == "1":
        pytest.skip("COSTLINE_SKIP_VALIDATOR=1: FOCUS validator not run")
    if python312() is None:
        pytest.fail(
            "the FOCUS validator needs Python 3.12 and none was found (python3.12 on PATH, "
            "a pyenv 3.12.x or FOCUS_PYTHON). Install it (`pyenv install 3.12`) or set "
            "COSTLINE_SKIP_VALIDATOR=1 to skip this check explicitly."
        )
    tool = Path(
        os.environ.get("COSTLINE_FOCUS_VALIDATE", REFERENCE.parent / "tools" / "focus-validate")
    )
    assert tool.is_file(), f"focus-validate not found at {tool}"
    return tool


@cache
def model() -> dict[str, Any]:
    path = REFERENCE / "focus" / "rules" / "model-1.3.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _reader(path: Path) -> str:
    if path.suffix == ".csv":
        return f"read_csv('{path}', all_varchar = true)"
    return f"read_parquet('{path}')"


def null_conditional_columns(path: Path) -> list[str]:
    """Conditional FOCUS columns (presence depends on a provider feature) null on every row."""
    conditional = [c.name for c in FOCUS_COLUMNS if c.applicability]
    counts = duckdb.sql(
        "SELECT " + ", ".join(f'count("{c}")' for c in conditional) + f" FROM {_reader(path)}"
    ).fetchall()[0]
    return [c for c, n in zip(conditional, counts, strict=True) if n == 0]


def numeric_looking_text_columns(path: Path) -> list[str]:
    """CSV only: FOCUS text columns whose every value looks like a number."""
    if path.suffix != ".csv":
        return []
    text = [c.name for c in FOCUS_COLUMNS if c.data_type == "string"]
    checks = ", ".join(
        f'count("{c}") > 0 AND bool_and(regexp_matches("{c}", \'^-?[0-9]+([.][0-9]+)?$\'))'
        for c in text
    )
    counts = duckdb.sql(f"SELECT {checks} FROM {_reader(path)}").fetchall()[0]
    return [c for c, numeric in zip(text, counts, strict=True) if numeric]


def only_non_commitment_purchases_carry_cost(path: Path) -> bool:
    """True when no commitment purchase has a non-zero EffectiveCost (see the docstring)."""
    found = duckdb.sql(
        "SELECT count(*) FILTER (WHERE CommitmentDiscountId IS NOT NULL) FROM "
        f"{_reader(path)} WHERE ChargeCategory = 'Purchase' "
        "AND CAST(EffectiveCost AS DECIMAL(38, 10)) <> 0"
    ).fetchall()
    return found[0][0] == 0


def ignored_rules(path: Path) -> list[str]:
    """The rules passed with --ignore for this file (see the module docstring)."""
    defects = set(MODEL_DEFECTS)
    if only_non_commitment_purchases_carry_cost(path):
        defects.add("CAU-EffectiveCost-C-005-C")
    null_columns = set(null_conditional_columns(path))
    numeric_text = set(numeric_looking_text_columns(path))
    ignored = {
        rid
        for rid, rule in model()["ModelRules"].items()
        if rule["EntityType"] == "Column"
        and (
            (rule["Reference"] in null_columns and rule["Function"] in ("Nullability", "Composite"))
            or (rule["Reference"] in numeric_text and rule["Function"] in ("Type", "Composite"))
        )
    }
    return sorted(ignored | defects)


def run_validator(files: list[Path]) -> list[tuple[Path, str, int]]:
    """Validate files (in parallel once the validator's venv exists): (file, output, exit)."""
    tool = validator_tool()
    home = Path(os.environ.get("FOCUS_VALIDATOR_HOME", Path.home() / ".cache" / "focus-validator"))
    parallel = (home / "venv-2.2.1").is_dir()  # the first run installs the venv: one at a time
    procs, results = [], []
    for path in files:
        cmd = [
            str(tool),
            str(path),
            "--version",
            "1.3",
            "--show-violations",
            "--ignore",
            ",".join(ignored_rules(path)),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if parallel:
            procs.append((path, proc))
        else:
            results.append((path, proc.communicate(timeout=900)[0], proc.returncode))
    for path, proc in procs:
        results.append((path, proc.communicate(timeout=900)[0], proc.returncode))
    return results


def assert_passes(files: list[Path]) -> None:
    """Every file passes: exit 0, no FAIL/ERROR line outside the ignored rules, no error."""
    for path, output, code in run_validator(files):
        assert code == 0, f"{path.name}: focus-validate exit {code}\n{output}"
        failing = [ln for ln in output.splitlines() if ln.strip().startswith(("FAIL", "ERROR"))]
        assert not failing, output
        assert "error 0" in output, output
