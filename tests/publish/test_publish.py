"""Publishing on merge against real git: a bare remote, developer merges, worker clones that render and push."""

from __future__ import annotations

import random
import re
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import git
import pytest

import bot.adapters.git.publish as publish_mod
from bot.adapters.git.publish import PublishError, PublishRace, publish, render_on_branch
from bot.core.paths import needs_render
from bot.core.publish import MergeInfo
from bot.present.publishing import summary
from tests.publish.conftest import Remote, drift, merge_info, rendered_files, request, run_git

SESSIONS = "requests/dev/payments/sessions.yaml"
FOLDER = "environments/dev/payments/cache-sessions"
TEAMS = ("payments", "search", "web")


def trailers(message: str) -> list[tuple[str, str]]:
    return re.findall(r"^([A-Z][A-Za-z-]+): (.+)$", message.rsplit("\n\n", 1)[-1], re.M)


def test_merge_is_rendered_committed_with_trailers_and_leaves_no_drift(remote: Remote) -> None:
    sha = remote.merge({SESSIONS: request("sessions")}, "Add sessions cache")
    worker = remote.clone("worker")
    result = publish(worker, branch="main", merged=merge_info(7, (SESSIONS,), sha))
    assert result.status == "pushed" and result.attempts == 1
    assert result.commit == remote.tip() and result.base == sha
    assert run_git(remote.bare, "rev-parse", f"{result.commit}^") == sha
    assert f"{FOLDER}/configmap-cache-sessions.yaml" in result.written["dev"]
    assert "environments/prod/kustomization.yaml" in result.written["prod"]
    assert "clusters/dev/pledge-environment.yaml" in result.written["dev"]
    assert result.requests == [SESSIONS] and result.findings == []
    message = remote.message(result.commit)
    assert message.startswith("Pledge: render #7 Request #7\n")
    found = trailers(message)
    assert ("Pledge-Request", SESSIONS) in found
    assert ("Pledge-PR", "#7") in found
    assert ("Requested-by", "alice") in found
    assert [v for k, v in found if k == "Approved-by"] == ["bob", "carol"]
    assert ("Pledge-Rendered-From", sha) in found
    assert drift(remote.bare) == {}
    run_git(remote.bare, "fsck", "--strict", "--no-dangling")
    # the working tree of the worker's clone was never touched
    assert not (Path(worker.working_tree_dir or "") / "environments").exists()


def test_replaying_the_same_merge_makes_no_second_commit(remote: Remote) -> None:
    sha = remote.merge({SESSIONS: request("sessions")})
    worker = remote.clone("worker")
    first = publish(worker, branch="main", merged=merge_info(7, (SESSIONS,), sha))
    count = remote.count()
    again = publish(worker, branch="main", merged=merge_info(7, (SESSIONS,), sha))
    other = publish(remote.clone("other"), branch="main", merged=merge_info(7, (SESSIONS,), sha))
    assert again.status == other.status == "up-to-date"
    assert again.commit is None and again.live_sha == first.commit == remote.tip()
    assert remote.count() == count


def test_deleting_a_request_removes_its_folder_and_empty_indexes(remote: Remote) -> None:
    worker = remote.clone("worker")
    remote.merge({SESSIONS: request("sessions"), "requests/dev/search/idx.yaml": request("idx", "search")})
    publish(worker, branch="main", merged=merge_info(1, (SESSIONS,)))
    sha = remote.merge({SESSIONS: None}, "Drop sessions")
    result = publish(worker, branch="main", merged=merge_info(2, (SESSIONS,), sha))
    assert result.status == "pushed"
    assert sorted(result.removed["dev"]) == sorted([
        f"{FOLDER}/configmap-cache-sessions.yaml", f"{FOLDER}/kustomization.yaml",
        "environments/dev/payments/kustomization.yaml"])
    assert result.written["dev"] == ["environments/dev/kustomization.yaml"]
    assert result.requests == [SESSIONS]
    assert not any(p.startswith("environments/dev/payments/") for p in rendered_files(remote.bare))
    assert drift(remote.bare) == {}


def test_moving_a_request_is_a_removal_plus_a_creation(remote: Remote) -> None:
    worker = remote.clone("worker")
    remote.merge({SESSIONS: request("sessions")})
    publish(worker, branch="main", merged=merge_info(1, (SESSIONS,)))
    moved = "requests/prod/web/sessions.yaml"
    sha = remote.merge({SESSIONS: None, moved: request("sessions", "web", 8)}, "Move sessions to prod/web")
    result = publish(worker, branch="main", merged=merge_info(2, (SESSIONS, moved), sha))
    assert f"{FOLDER}/kustomization.yaml" in result.removed["dev"]
    assert "environments/prod/web/cache-sessions/configmap-cache-sessions.yaml" in result.written["prod"]
    assert result.requests == [SESSIONS, moved]
    files = rendered_files(remote.bare)
    assert not any(p.startswith(FOLDER) for p in files)
    assert "environments/prod/web/kustomization.yaml" in files
    assert drift(remote.bare) == {}


def test_a_lost_race_is_fetched_rerendered_and_retried(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = remote.clone("worker")
    sha = remote.merge({SESSIONS: request("sessions")})
    real = publish_mod.commit_files
    landed: list[str] = []

    def commit_then_lose(*args: object, **kwargs: object) -> str:
        if not landed:  # another merge lands between our fetch and our push
            landed.append(remote.merge({"requests/prod/search/q.yaml": request("q", "search", 4)}, "other"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publish_mod, "commit_files", commit_then_lose)
    delays: list[float] = []
    result = publish(worker, branch="main", merged=merge_info(3, (SESSIONS,), sha), sleep=delays.append)
    assert result.status == "pushed" and result.attempts == 2 and len(delays) == 1
    assert result.base == landed[0]
    assert "requests/prod/search/q.yaml" in result.requests  # rendered along, nothing lost
    assert drift(remote.bare) == {}


def test_losing_every_race_gives_up_with_backoff(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = remote.clone("worker")
    remote.merge({SESSIONS: request("sessions")})
    real = publish_mod.commit_files
    n = iter(range(100))

    def always_lose(*args: object, **kwargs: object) -> str:
        i = next(n)
        remote.merge({f"requests/dev/web/w{i}.yaml": request(f"w{i}", "web")})
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(publish_mod, "commit_files", always_lose)
    delays: list[float] = []
    with pytest.raises(PublishRace):
        publish(worker, branch="main", merged=merge_info(4, (SESSIONS,)), max_attempts=3, backoff=1.0,
                sleep=delays.append)
    assert len(delays) == 2 and 0.5 <= delays[0] <= 1.5 and 1.0 <= delays[1] <= 3.0


@pytest.mark.parametrize("workers", [6])
def test_concurrent_workers_lose_nothing(remote: Remote, workers: int) -> None:
    """Each thread merges its own PR and publishes it from its own clone, all at once."""
    clones = [remote.clone(f"worker{i}") for i in range(workers)]
    barrier = threading.Barrier(workers)

    def merge_and_publish(i: int) -> str:
        team, env = ("payments", "search", "web")[i % 3], ("dev", "prod")[i % 2]
        path = f"requests/{env}/{team}/c{i}.yaml"
        barrier.wait()
        sha = remote.merge({path: request(f"c{i}", team, 4)}, f"PR {i}", who=f"dev{i}")
        return publish(clones[i], branch="main", merged=merge_info(100 + i, (path,), sha),
                       backoff=0.05, max_attempts=8).status

    with ThreadPoolExecutor(workers) as pool:
        statuses = list(pool.map(merge_and_publish, range(workers)))
    assert set(statuses) <= {"pushed", "up-to-date"} and "pushed" in statuses
    assert drift(remote.bare) == {}
    files = rendered_files(remote.bare)
    for i in range(workers):
        assert any(p.endswith(f"/cache-c{i}/kustomization.yaml") for p in files), i


def _process_worker(args: tuple[str, str, int]) -> str:
    bare, clone, pr = args
    run_git(Path(clone).parent, "clone", "-q", bare, clone)
    return publish(git.Repo(clone), branch="main", merged=merge_info(pr, ()), backoff=0.05, max_attempts=8).status


def test_concurrent_processes_publish_the_same_merges_once(remote: Remote, tmp_path: Path) -> None:
    for i in range(4):
        remote.merge({f"requests/dev/web/p{i}.yaml": request(f"p{i}", "web")})
    before = remote.count()
    jobs = [(str(remote.bare), str(tmp_path / f"proc{i}"), 200 + i) for i in range(3)]
    with ProcessPoolExecutor(3) as pool:
        statuses = sorted(pool.map(_process_worker, jobs))
    assert statuses.count("pushed") == 1 and statuses.count("up-to-date") == 2
    assert remote.count() == before + 1
    assert drift(remote.bare) == {}


def test_protected_branch_pushes_a_render_branch_once(remote: Remote) -> None:
    sha = remote.merge({SESSIONS: request("sessions")})
    remote.protect()
    worker = remote.clone("worker")
    result = publish(worker, branch="main", merged=merge_info(9, (SESSIONS,), sha))
    assert result.status == "render-pr" and result.label == "pledge-render"
    assert result.render_branch == "pledge/render-pr-9"
    assert remote.tip() == sha  # main untouched
    assert remote.tip("pledge/render-pr-9") == result.commit
    assert run_git(remote.bare, "rev-parse", f"{result.commit}^") == sha
    assert drift(remote.bare, "refs/heads/pledge/render-pr-9") == {}
    again = publish(remote.clone("again"), branch="main", merged=merge_info(9, (SESSIONS,), sha))
    assert again.status == "render-pr" and again.commit == result.commit


def test_other_push_refusals_are_errors(remote: Remote) -> None:
    remote.merge({SESSIONS: request("sessions")})
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'error: GH001: Large files detected.' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(PublishError, match="GH001"):
        publish(remote.clone("worker"), branch="main", merged=merge_info(1, (SESSIONS,)))


def test_a_direct_push_is_rendered_without_pr_or_approvers(remote: Remote) -> None:
    sha = remote.merge({SESSIONS: request("sessions")}, "hotfix", who="admin")
    merged = MergeInfo.for_push(after=sha, pusher="admin", changed=[SESSIONS, "README.md"])
    result = publish(remote.clone("worker"), branch="main", merged=merged)
    found = trailers(remote.message(result.commit or ""))
    assert ("Pledge-Push", sha) in found and ("Requested-by", "admin") in found
    assert not any(k in ("Approved-by", "Pledge-PR") for k, _ in found)
    assert drift(remote.bare) == {}


def test_a_bare_mirror_with_the_url_in_the_environment(remote: Remote, tmp_path: Path) -> None:
    """How the app calls it: its bare mirror has no remote configured; the URL (with token) is in env."""
    sha = remote.merge({SESSIONS: request("sessions")})
    mirror = git.Repo.init(tmp_path / "mirror.git", bare=True)
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "remote.origin.url",
           "GIT_CONFIG_VALUE_0": f"file://{remote.bare}"}
    result = publish(mirror, branch="main", merged=merge_info(5, (SESSIONS,), sha), git_env=env)
    assert result.status == "pushed" and remote.tip() == result.commit


def test_a_broken_pledge_yaml_is_an_error(remote: Remote) -> None:
    remote.merge({"pledge.yaml": "apiVersion: pledge.dev/v1\nkind: Platform\n"})
    with pytest.raises(PublishError, match=r"pledge\.yaml"):
        publish(remote.clone("worker"), branch="main", merged=merge_info(1, ()))


def test_scoped_render_equals_full_render(remote: Remote) -> None:
    """The fast path (team folders changed since the last render commit) plans what a full render plans."""
    worker = remote.clone("worker")
    steps: list[dict[str, str | None]] = [
        {SESSIONS: request("sessions"), "requests/prod/search/a.yaml": request("a", "search", 4)},
        {"requests/dev/web/b.yaml": request("b", "web"), "requests/dev/payments/c.yaml": request("c")},
        {SESSIONS: request("sessions", size=9), "requests/dev/payments/README.md": "docs\n"},
        {"requests/dev/web/b.yaml": None},
        {"requests/prod/search/a.yaml": None, "requests/prod/payments/a.yaml": request("a", "payments", 5)},
        {"requests/dev/web/bad.yaml": request("bad", "web", 999)},  # invalid: rendered nowhere
        {"requests/qa/web/x.yaml": request("x", "web")},  # an environment pledge.yaml does not list
        {"requests/dev/payments/c.yaml": None, SESSIONS: None},
    ]
    for i, change in enumerate(steps):
        remote.merge(change, f"step {i}")
        tip = publish_mod.fetch_branch(worker, "origin", "main")
        scoped, full = render_on_branch(worker, tip), render_on_branch(worker, tip, full=True)
        assert scoped.build.plan == full.build.plan, i
        assert scoped.requests == full.requests, i
        if i > 0:
            assert scoped.scope != "full", i
        publish(worker, branch="main", merged=merge_info(i, ()))
        assert drift(remote.bare) == {}, i


def test_a_catalog_change_renders_every_request(remote: Remote) -> None:
    worker = remote.clone("worker")
    remote.merge({SESSIONS: request("sessions"), "requests/prod/web/w.yaml": request("w", "web", 4)})
    publish(worker, branch="main", merged=merge_info(1, ()))
    template = (remote.root / "seed" / "renderers/cache/v1/configmap.yaml.j2").read_text()
    remote.merge({"renderers/cache/v1/configmap.yaml.j2": template.replace("env: {{ env }}", "stage: {{ env }}")})
    tip = publish_mod.fetch_branch(worker, "origin", "main")
    assert render_on_branch(worker, tip).scope == "full"
    result = publish(worker, branch="main", merged=merge_info(2, ()))
    assert result.requests == ["requests/dev/payments/sessions.yaml", "requests/prod/web/w.yaml"]
    assert drift(remote.bare) == {}


def test_random_histories_scoped_equals_full(remote: Remote) -> None:
    """Random adds, edits, deletes and moves (fixed seed): after each merge the fast path plans exactly what
    a full render plans, and the published branch never drifts."""
    rng = random.Random(20261126)
    worker = remote.clone("worker")
    live: dict[str, int] = {}
    for step in range(14):
        change: dict[str, str | None] = {}
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(["add", "add", "edit", "delete", "move"]) if live else "add"
            if op == "add" or not live:
                path = f"requests/{rng.choice(['dev', 'prod'])}/{rng.choice(TEAMS)}/r{rng.randint(0, 30)}.yaml"
                if path not in live and path not in change:
                    live[path] = rng.randint(4, 9)
                    change[path] = request(path.rsplit("/", 1)[1][:-5], path.split("/")[2], live[path])
                continue
            path = rng.choice(sorted(live))
            if path in change:
                continue
            if op == "edit":
                live[path] += 1
                change[path] = request(path.rsplit("/", 1)[1][:-5], path.split("/")[2], live[path] % 60 + 1)
            else:
                size = live.pop(path)
                change[path] = None
                if op == "move":
                    env, team = rng.choice(["dev", "prod"]), rng.choice(TEAMS)
                    new = f"requests/{env}/{team}/{path.rsplit('/', 1)[1]}"
                    if new not in live and new not in change:
                        live[new] = size
                        change[new] = request(new.rsplit("/", 1)[1][:-5], team, size)
        remote.merge(change, f"step {step}")
        tip = publish_mod.fetch_branch(worker, "origin", "main")
        scoped, full = render_on_branch(worker, tip), render_on_branch(worker, tip, full=True)
        assert scoped.build.plan == full.build.plan, (step, change)
        publish(worker, branch="main", merged=merge_info(step, tuple(change)))
        assert drift(remote.bare) == {}, step


def test_a_squash_merged_render_pr_is_not_trusted_as_a_render(remote: Remote) -> None:
    """A render PR squash-merged on top of newer merges carries the trailers but not a consistent tree;
    the next publish must still render the request merged in between."""
    worker = remote.clone("worker")
    remote.merge({SESSIONS: request("sessions")})
    publish(worker, branch="main", merged=merge_info(1, (SESSIONS,)))
    remote.merge({"requests/prod/web/a.yaml": request("a", "web", 4)})
    remote.protect()
    pending = publish(worker, branch="main", merged=merge_info(2, ("requests/prod/web/a.yaml",)))
    assert pending.status == "render-pr"
    (remote.bare / "hooks" / "pre-receive").unlink()
    remote.merge({"requests/dev/search/b.yaml": request("b", "search")})  # lands before the render PR
    squash = remote.root / "squasher"
    run_git(remote.root, "clone", "-q", str(remote.bare), str(squash))
    run_git(squash, "merge", "-q", "--squash", "origin/pledge/render-pr-2")
    run_git(squash, "commit", "-q", "-m", remote.message(pending.commit or ""))
    run_git(squash, "push", "-q", "origin", "HEAD:main")
    tip = publish_mod.fetch_branch(worker, "origin", "main")
    scoped, full = render_on_branch(worker, tip), render_on_branch(worker, tip, full=True)
    assert scoped.build.plan == full.build.plan != {}
    assert scoped.scope != "full" and "1 team folder(s)" in scoped.scope
    assert "requests/dev/search/b.yaml" in scoped.requests
    publish(worker, branch="main", merged=merge_info(3, ()))
    assert drift(remote.bare) == {}


def test_a_merge_commit_not_yet_on_the_branch_is_waited_for(remote: Remote) -> None:
    remote.merge({SESSIONS: request("sessions")})
    delays: list[float] = []
    with pytest.raises(PublishError, match="is not on main"):
        publish(remote.clone("worker"), branch="main", merged=merge_info(1, (SESSIONS,), "e" * 40),
                max_attempts=3, sleep=delays.append)
    assert len(delays) == 2 and remote.count() == 2  # nothing pushed


def test_summary_and_push_filter(remote: Remote) -> None:
    sha = remote.merge({SESSIONS: request("sessions")})
    result = publish(remote.clone("worker"), branch="main", merged=merge_info(1, (SESSIONS,), sha))
    text = summary(result, f"https://github.com/acme/platform/commit/{result.commit}")
    assert text.startswith(f"Pledge published this merge to `main` in [`{(result.commit or '')[:12]}`](https://")
    dev = next(line for line in text.splitlines() if line.startswith("- **dev**: "))
    assert f"`{FOLDER}/configmap-cache-sessions.yaml`" in dev
    assert needs_render(["requests/dev/a/b.yaml"]) and needs_render(["pledge.yaml"])
    assert needs_render(["renderers/cache/v1/configmap.yaml.j2"])
    assert not needs_render(["environments/dev/kustomization.yaml", "README.md", "requests/dev/README.md"])
