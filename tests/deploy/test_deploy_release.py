"""Releases: the version comes from git tags (hatch-vcs), installs work with and without them, and the wheel
carries the bundled catalog.

Each test copies the package's source (pyproject.toml, README.md, bot/, schemas/, policies/, renderers/ of
this working tree) into a fresh git repository and builds it the way pip does, offline: `pip wheel
--no-build-isolation` for wheels, and for `pip install -e .` the same PEP 660 hook pip calls
(hatchling's `build_editable`), then pip installs that editable wheel into a brand-new virtualenv. (Not
`pip install --prefix`: it would uninstall the test environment's own editable install first.)
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.version import Version

from tests.deploy.deploytest import ROOT

PACKAGE = ["pyproject.toml", "README.md", "bot", "schemas", "policies", "renderers"]
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SETUPTOOLS_SCM", "PIP_"))}
    return {**env, **GIT_ENV, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=clean_env(), check=True, capture_output=True,
                          text=True).stdout.strip()


def copy_source(dest: Path) -> Path:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PACKAGE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def source_repo(tmp_path: Path, commits: int = 1) -> Path:
    repo = copy_source(tmp_path / "src")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pledge")
    for i in range(1, commits):
        (repo / "README.md").write_text((repo / "README.md").read_text() + f"\n<!-- {i} -->\n")
        git(repo, "commit", "-qam", f"change {i}")
    return repo


def build_wheel(src: Path, out: Path, **env: str) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], env=clean_env(**env), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("pledge-*.whl")
    return wheel


def wheel_version(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return str(email.message_from_bytes(z.read(meta))["Version"])


def install_editable(src: Path, tmp_path: Path) -> tuple[str, str]:
    """`pip install -e src` in two steps (the backend's editable wheel, then pip installs it) into a new
    virtualenv; returns (installed version, where `import bot` comes from)."""
    out = tmp_path / "editable"
    out.mkdir()
    hook = "import sys, hatchling.build as b; print(b.build_editable(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", hook, str(out)], cwd=src, env=clean_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = out / proc.stdout.strip().splitlines()[-1]
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           str(wheel)], env=clean_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    probe = "import importlib.metadata as m, bot; print(m.version('pledge')); print(bot.__file__)"
    proc = subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    version, where = proc.stdout.split()
    return version, where


def test_a_clean_clone_without_tags_installs_editable(tmp_path: Path) -> None:
    origin = source_repo(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert git(clone, "tag") == ""
    version, where = install_editable(clone, tmp_path)
    sha = git(clone, "rev-parse", "--short=7", "HEAD")
    assert re.fullmatch(rf"0\.0\.1\.dev1\+g{sha}[0-9a-f]*", version), version
    assert Path(where) == clone / "bot" / "__init__.py"  # editable: the clone's files, not a copy


def test_a_shallow_clone_installs_editable_and_builds(tmp_path: Path) -> None:
    origin = source_repo(tmp_path, commits=3)
    git(origin, "tag", "v0.3.0", "HEAD~2")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    version, _where = install_editable(clone, tmp_path)
    assert Version(version).is_devrelease, version  # the tag is outside the shallow history
    assert Version(wheel_version(build_wheel(clone, tmp_path / "dist"))) == Version(version)


def test_a_tag_is_the_version(tmp_path: Path) -> None:
    repo = source_repo(tmp_path)
    git(repo, "tag", "-a", "v1.2.3", "-m", "1.2.3")
    assert wheel_version(build_wheel(repo, tmp_path / "at-tag")) == "1.2.3"
    (repo / "README.md").write_text("after the release\n")
    git(repo, "commit", "-qam", "after")
    after = wheel_version(build_wheel(repo, tmp_path / "after"))
    assert re.fullmatch(r"1\.2\.4\.dev1\+g[0-9a-f]{7,}", after), after
    assert Version(after) > Version("1.2.3")


def test_without_git_metadata_the_fallback_or_the_given_version(tmp_path: Path) -> None:
    """The GitHub Action's download and the Docker build context have no .git."""
    src = copy_source(tmp_path / "plain")
    assert wheel_version(build_wheel(src, tmp_path / "fallback")) == "0.0.0"
    given = build_wheel(src, tmp_path / "given", SETUPTOOLS_SCM_PRETEND_VERSION_FOR_PLEDGE="2.0.1")
    assert wheel_version(given) == "2.0.1"  # what the Dockerfile's PLEDGE_VERSION build argument sets


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    return build_wheel(source_repo(tmp), tmp / "dist")


def test_the_wheel_carries_the_catalog_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "pledge = bot.cli:main" in z.read(entry_points).decode()
    for folder in ("schemas", "policies", "renderers"):
        files = [p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()]
        assert files
        missing = {f for f in files if f"bot/_catalog/{f}" not in names}
        assert missing == set(), missing
    assert "bot/cli.py" in names and "bot/app/web.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "deploy/", "examples/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_runs_on_its_own_catalog(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:  # a pure-Python wheel unpacked is an installed package
        z.extractall(site)
    probe = ("import bot, bot.core.catalog as c; print(bot.__file__); print(c.bundled_root())")
    env = clean_env(PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    module, catalog = proc.stdout.split()
    assert Path(module).is_relative_to(site) and Path(catalog) == site / "bot" / "_catalog"
    platform = ROOT / "examples" / "platform"
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "validate", "--repo", str(platform), "--format", "json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and '"conclusion": "success"' in proc.stdout, proc.stdout + proc.stderr


def test_pledge_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    proc = subprocess.run([str(Path(sys.executable).parent / "pledge"), "--version"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"pledge, version {version('pledge')}"
    Version(version("pledge"))  # PEP 440


def test_changelog_keeps_the_format() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "https://keepachangelog.com/en/1.1.0/" in text and "https://semver.org/" in text
    releases = re.findall(r"^## \[([^\]]+)\](.*)$", text, re.M)
    assert releases and releases[0][0] == "Unreleased"
    for name, rest in releases[1:]:
        Version(name)
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), (name, rest)
    sections = set(re.findall(r"^### (.+)$", text, re.M))
    assert sections and sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, sections
    for name, _rest in releases:
        assert re.search(rf"^\[{re.escape(name)}\]: \S+$", text, re.M), f"no link for [{name}]"
