"""docs/integration.md works as written: its Python snippets, run in order against a real server,
and its webhook view, fed a real delivery (issue 10)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_CATALOGS
from tests.e2e.server import Server, creditflow_command
from tests.receiver import Receiver

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integration.md"
StartServer = Callable[..., Server]


def snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def make_key(database_url: str, role: str, cwd: Path) -> str:
    made = subprocess.run(
        creditflow_command("keys", "create", "--role", role, "--db", database_url),
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def test_the_guides_python_snippets_run_in_order_against_a_real_server(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite:///{tmp_path / 'guide.db'}"
    server = start_server(
        database_url,
        "--catalog",
        str(REFERENCE_CATALOGS / "membership.toml"),
        CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE="1",
    )
    receiver = Receiver().start()
    try:
        monkeypatch.setenv("CREDITFLOW_URL", server.url)
        for role in ("service", "support", "admin"):
            monkeypatch.setenv(f"{role.upper()}_KEY", make_key(database_url, role, tmp_path))
        monkeypatch.setenv("SITE_WEBHOOK_URL", receiver.url)
        found = snippets()
        assert len(found) >= 10
        namespace: dict[str, object] = {}
        for number, code in enumerate(found, start=1):
            exec(compile(code, f"{GUIDE.name}, snippet {number}", "exec"), namespace)
        site = namespace["client"]
        site.create_account(external_id="user-43", email="bo@example.com")  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.2)
        assert receiver.received, "the service's webhook loop delivered nothing"
        delivery = receiver.received[0]
        on_webhook = namespace["on_webhook"]
        assert callable(on_webhook)
        assert on_webhook(delivery.body, delivery.headers) == 200
        assert on_webhook(delivery.body + b" ", delivery.headers) == 400
        for client in ("client", "support", "admin"):
            namespace[client].close()  # type: ignore[attr-defined]
    finally:
        receiver.stop()
