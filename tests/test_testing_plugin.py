"""The pytest plugin (``magic_hour_fake``, ``magic_hour_server``, ``magic_hour_env``) and the docs' test module.

The fixtures are exercised in inner pytest runs (``pytester``), exactly as a user's suite would get them:
through the ``pytest11`` entry point, with no conftest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.full

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parent.parent / "docs" / "testing.md"


def _inner(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    # Either way the inner run loads the plugin from its entry point, like a user's pytest run; a
    # subprocess also starts with fresh sys.modules.
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest_inprocess
    # (hypothesis's plugin is disabled only because it costs ~0.8 s per inner session)
    return run("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "error", *args)


def test_fixtures_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            import os

            import httpx
            import pytest

            from magic_hour import Client
            from magic_hour.testing import FakeMagicHour, FakeServer

            SEEN = {}


            def test_fake(magic_hour_fake):
                assert isinstance(magic_hour_fake, FakeMagicHour)
                with magic_hour_fake.client() as client:
                    client.v1.files.upload_urls.create(items=[{"extension": "mp4", "type_": "video"}])
                assert len(magic_hour_fake.requests) == 1


            def test_a_fresh_fake_per_test(magic_hour_fake):
                assert magic_hour_fake.requests == []


            def test_server(magic_hour_server, magic_hour_fake):
                assert isinstance(magic_hour_server, FakeServer)
                assert magic_hour_server.fake is magic_hour_fake
                with magic_hour_server.client() as client:
                    res = client.v1.files.upload_urls.create(items=[{"extension": "png", "type_": "image"}])
                assert res.items[0].upload_url.startswith(magic_hour_server.url + "/storage/")
                SEEN["url"] = magic_hour_server.url


            def test_the_server_was_stopped_after_its_test():
                with httpx.Client() as http, pytest.raises(httpx.ConnectError):
                    http.get(SEEN["url"] + "/")


            def test_env(magic_hour_env):
                assert os.environ["MAGIC_HOUR_BASE_URL"] == magic_hour_env.url
                assert os.environ["MAGIC_HOUR_API_TOKEN"] == magic_hour_env.token
                with Client() as client:
                    client.v1.files.upload_urls.create(items=[{"extension": "wav", "type_": "audio"}])
                assert len(magic_hour_env.fake.issued) == 1


            def test_env_is_restored_after_its_test():
                assert "MAGIC_HOUR_BASE_URL" not in os.environ
            """
        )
    )
    result = _inner(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=6)


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(magic_hour_fake):\n    pass\n")
    result = _inner(pytester, "-p", "no:magic_hour")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'magic_hour_fake' not found*"])


def test_a_suite_that_does_not_use_it_is_unaffected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            import sys

            def test_nothing_heavy_was_imported():
                # The plugin is loaded, but the fake, the server and http.server are not.
                assert "magic_hour.testing.pytest_plugin" in sys.modules
                assert "magic_hour.testing._fake" not in sys.modules
                assert "magic_hour.testing._server" not in sys.modules
                assert "http.server" not in sys.modules
            """
        )
    )
    _inner(pytester, subprocess=True).assert_outcomes(passed=1)


def test_importing_the_plugin_is_cheap() -> None:
    code = (
        "import sys, magic_hour.testing.pytest_plugin as p; "
        "print(sorted(m for m in sys.modules if m.startswith('magic_hour.testing') or m == 'http.server'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['magic_hour.testing', 'magic_hour.testing.pytest_plugin']"


def _docs_test_module() -> str:
    """The ```python block of docs/testing.md that is a pytest module (it starts with ``# test_``)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    modules = [b for b in blocks if b.startswith("# test_")]
    assert len(modules) == 1, "docs/testing.md should hold one pytest module example"
    return modules[0]


def test_the_docs_pytest_example_passes(pytester: pytest.Pytester) -> None:
    source = _docs_test_module()
    pytester.makepyfile(test_from_docs=source)
    result = _inner(pytester)
    n_tests = len(re.findall(r"^(?:async )?def test_", source, flags=re.MULTILINE))
    assert n_tests == 4
    outcomes = result.parseoutcomes()
    assert result.ret == 0, outcomes
    # The async test runs once per anyio backend installed (asyncio, and trio when present).
    assert outcomes["passed"] >= n_tests and set(outcomes) == {"passed"}, outcomes
