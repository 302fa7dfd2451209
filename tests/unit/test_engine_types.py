"""Issue 9: from an `Engine` method to its use case the path is typed, so a wrong argument is a
type checker's error before it is anyone's bug at run time."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from mypy import api as mypy

from creditflow.engine import Engine

SNIPPET = """
from creditflow.engine import Engine

def use(engine: Engine) -> None:
    engine.consume("acc_1", credit=5)
    engine.refund_order("ord_1", amount="5")
    spend: int = engine.hold("acc_1", credits=5)
    engine.change_plan("sub_1", plan="tier2", interval="month")
"""


@pytest.mark.slow
def test_a_wrong_argument_to_an_engine_method_is_a_mypy_error(tmp_path: Path) -> None:
    snippet = tmp_path / "caller.py"
    snippet.write_text(SNIPPET)
    out, _, status = mypy.run(["--strict", "--no-error-summary", str(snippet)])
    errors = [line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line]
    assert status == 1
    assert errors == [
        'Unexpected keyword argument "credit"; did you mean "credits"?  [call-arg]',
        'Argument "amount" has incompatible type "str"; expected "int | None"  [arg-type]',
        'Incompatible types in assignment (expression has type "HoldView", variable has type '
        '"int")  [assignment]',
    ]  # and the last, well-typed call is not among them


def test_engine_methods_show_their_use_cases_signature_and_documentation() -> None:
    parameters = inspect.signature(Engine.refund_order).parameters
    assert list(parameters)[1:] == ["order_id", "amount", "reason", "idempotency_key"]
    assert Engine.refund_order.__doc__ and "provider" in Engine.refund_order.__doc__
