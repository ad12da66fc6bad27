"""The installed libraries are the ones the engine needs (jmespath-community, google-re2, CEL)."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
from pathlib import Path

import jmespath
import pytest

from bot.core import policy


def _record_matches(dist: metadata.Distribution, module_file: Path) -> bool:
    """True when the installed module file is the one recorded (path and hash) by `dist`."""
    for entry in dist.files or []:
        if entry.as_posix() == "jmespath/__init__.py" and entry.hash is not None:
            if Path(dist.locate_file(entry)).resolve() != module_file.resolve():
                return False
            digest = base64.urlsafe_b64encode(hashlib.sha256(module_file.read_bytes()).digest()).rstrip(b"=")
            return entry.hash.mode == "sha256" and entry.hash.value == digest.decode()
    return False


def test_jmespath_is_the_community_edition() -> None:
    community = metadata.distribution("jmespath-community")  # raises PackageNotFoundError if missing
    assert jmespath.compile("a + b").search({"a": 1, "b": 2}) == 3
    assert jmespath.compile("let $x = a in $x").search({"a": 1}) == 1
    module_file = Path(jmespath.__file__)
    try:
        metadata.distribution("jmespath")
    except metadata.PackageNotFoundError:
        pypi_installed = False
    else:
        pypi_installed = True
    # PyPI `jmespath` (a boto3 dependency) installs the same import name: if it is present, the module
    # on disk must still be jmespath-community's own file (same path and hash as in its RECORD).
    assert not pypi_installed or _record_matches(community, module_file)
    assert jmespath.__version__ == community.version


def test_regular_expressions_use_re2() -> None:
    from bot.core.policy import regex

    assert regex.HAVE_RE2, "install google-re2: without it regex functions report errors"
    assert metadata.distribution("google-re2")


def test_cel_support_matches_the_installed_library() -> None:
    try:
        metadata.distribution("common-expression-language")
    except metadata.PackageNotFoundError:
        assert not policy.HAVE_CEL
        pytest.xfail("common-expression-language is not installed: CEL policies report status error")
    assert policy.HAVE_CEL
