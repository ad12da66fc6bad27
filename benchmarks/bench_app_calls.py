"""GitHub REST calls per delivery, counted by the fake GitHub (token fetches reported apart).

Budget (issue 4): a pull_request event with one changed request file <= 3 calls (create the check run,
complete it, upsert the comment); with no request file changed <= 1. Exits 1 when a budget is exceeded.

Run: python benchmarks/bench_app_calls.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import responses  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from bot.adapters.git.mirror import Mirror  # noqa: E402
from bot.adapters.github.auth import GitHubApp, make_retry  # noqa: E402
from bot.app.context import Context  # noqa: E402
from bot.app.dispatch import Dispatcher  # noqa: E402
from bot.app.events import signature  # noqa: E402
from bot.app.queue import Queue  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.web import create_app  # noqa: E402
from tests.github import github_payloads as gp  # noqa: E402
from tests.github.fake_git_remote import GitRemote  # noqa: E402
from tests.github.fake_github import FakeGitHub  # noqa: E402

PLATFORM = ROOT / "tests" / "app" / "platform"
REQ = "requests/dev/payments/orders.yaml"
GOOD = "apiVersion: pledge.dev/v1\nkind: Cache\nmetadata:\n  name: orders\n  team: payments\nspec:\n  size: 3\n"
BAD = GOOD.replace("size: 3", "size: 0")


def main() -> int:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    tmp = Path(tempfile.mkdtemp(prefix="pledge-bench-calls-"))
    remote = GitRemote(tmp, PLATFORM)
    data = tmp / "data"
    data.mkdir()
    settings = Settings(webhook_secret="bench", app_id="4242", private_key=pem, git_url=remote.url_template,
                        data_dir=data, queue_url=f"sqlite://{data / 'queue.db'}", github_throttle="off")
    fake = FakeGitHub(app_id=4242, public_key=public)
    queue = Queue.from_settings(settings)
    github = GitHubApp(settings.app_id, pem, settings.github_api_url, throttle=False, retry=make_retry(backoff=0))
    ctx = Context(settings, github, Mirror(data, settings.git_url), queue.journal)
    queue.processor = Dispatcher(ctx)
    client = create_app(settings, queue).test_client()

    rows: list[tuple[str, str, int, int, int | None]] = []

    def deliver(label: str, event: str, payload: dict, budget: int | None, files: str) -> None:
        body = json.dumps(payload).encode()
        before = len(fake.calls)
        resp = client.post("/webhook", data=body, headers={
            "X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature("bench", body), "Content-Type": "application/json"})
        assert resp.status_code == 202, resp.get_json()
        queue.run_pending()
        new = fake.calls[before:]
        rest = [c for c in new if not c.is_token]
        rows.append((label, files, len(rest), len(new) - len(rest), budget))
        print(f"  {label:<46} {files:<28} {len(rest)} call(s): {', '.join(c.op_id for c in rest) or '-'}")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        print("REST calls per delivery (token fetches counted apart):")
        sha = remote.push_pr(1, {REQ: BAD})
        deliver("pull_request.opened", "pull_request", gp.pull_request("opened", number=1, head_sha=sha), 3,
                "1 request (errors)")
        sha = remote.push_pr(1, {REQ: GOOD}, from_base=False)
        deliver("pull_request.synchronize", "pull_request", gp.pull_request("synchronize", number=1, head_sha=sha),
                3, "1 request (fixed)")
        deliver("pull_request.reopened", "pull_request", gp.pull_request("reopened", number=1, head_sha=sha), 3,
                "1 request")
        deliver("pull_request.edited (base changed)", "pull_request",
                gp.pull_request("edited", number=1, head_sha=sha), 3, "1 request")
        deliver("check_run.rerequested", "check_run", gp.check_run_rerequested(number=1, head_sha=sha), None,
                "1 request")
        deliver("check_suite.rerequested", "check_suite", gp.check_suite_rerequested(numbers=(1,), head_sha=sha),
                None, "1 request")
        deliver("pull_request.closed", "pull_request", gp.pull_request("closed", number=1, head_sha=sha), 0,
                "-")
        sha = remote.push_pr(2, {"README.md": "docs\n"})
        deliver("pull_request.opened", "pull_request", gp.pull_request("opened", number=2, head_sha=sha), 1,
                "no request file")
        sha = remote.push_pr(2, {"docs/x.md": "more\n"}, from_base=False)
        deliver("pull_request.synchronize", "pull_request", gp.pull_request("synchronize", number=2, head_sha=sha),
                1, "no request file")
        deliver("installation.created", "installation", gp.installation_created(), 0, "-")
    tokens = sum(r[3] for r in rows)
    print(f"installation token fetches over all {len(rows)} deliveries: {tokens} (cached for its hour)")
    over = [r for r in rows if r[4] is not None and r[2] > r[4]]
    if fake.violations:
        print("OpenAPI violations:", *fake.violations, sep="\n  ")
    for label, files, calls, _t, budget in over:
        print(f"OVER BUDGET: {label} ({files}): {calls} > {budget}")
    return 1 if over or fake.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
