"""House rules a linter does not know, checked over the source tree (fast: reads files, imports nothing)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_race_tests_fan_out_through_the_one_helper():
    # tests/concurrency.run_in_threads releases the threads together and closes their connections;
    # a hand-written copy tends to forget one of the two. The fakes run servers, not races.
    pattern = re.compile(r"threading\.(Thread|Barrier)\(|ThreadPoolExecutor\(")
    offenders = [str(path.relative_to(ROOT)) for path in _python_files("tests")
                 if path.name != "concurrency.py" and "fakes" not in path.parts
                 and path.name != Path(__file__).name and pattern.search(path.read_text())]
    assert offenders == []



def _cross_module_private_imports(source: str, module: str) -> list[str]:
    """`from core.x.y import _name` in `module` where core.x.y is another module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core."):
            found += [f"{module}: from {node.module} import {alias.name}" for alias in node.names
                      if alias.name.startswith("_") and node.module != module]
    return found


def test_payment_and_notification_modules_share_only_public_names():
    # A module's underscore helpers are its own; what another module needs gets a public name (and is then
    # part of the package's surface), so a reader can tell the shared pieces from the local ones.
    files = list(_python_files("core/payments", "core/integrations/stripe", "core/notifications/services"))
    offenders = [line for path in files for line in _cross_module_private_imports(
        path.read_text(), ".".join(path.relative_to(ROOT).with_suffix("").parts))]
    assert offenders == []


def test_the_private_import_rule_sees_an_offender():
    source = "from core.payments.services.common import _gateways, stripe_gateway\n"
    assert _cross_module_private_imports(source, "core.payments.services.refunds") == [
        "core.payments.services.refunds: from core.payments.services.common import _gateways"]
    assert _cross_module_private_imports(source, "core.payments.services.common") == []
