"""A fake GitHub REST API for Pledge's tests: every request is checked against GitHub's own OpenAPI
description (tests/github/openapi-subset.json, made by scripts/trim_openapi.py) before it is answered.

One core (FakeGitHub.handle) serves two transports: `install(responses_mock)` for unit tests, and
fake_github_server.serve() (a threaded http.server) for tests that run real processes.
Response bodies start from the description's own examples, patched with the fake's state.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HERE = Path(__file__).resolve().parent
SPEC_PATH = HERE / "openapi-subset.json"
URN = "urn:pledge-tests:github-openapi-subset"
BOT_LOGIN = "pledge-app[bot]"
JWT_TEMPLATES = frozenset({"/app", "/repos/{owner}/{repo}/installation"})  # App-level calls outside /app/
MAX_COMMENT = 65536  # not in the description; GitHub answers 422 "Body is too long"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    op: dict[str, Any]
    params: dict[str, str]

    @property
    def op_id(self) -> str:
        return str(self.op.get("operationId", ""))


class OpenAPI:
    """Route lookup and request validation against an OpenAPI 3.0 document (jsonschema + referencing)."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.spec = json.loads(path.read_text())
        self.registry: Registry = Registry().with_resource(URN, Resource.from_contents(self.spec, DRAFT4))
        routes = []
        for template, item in self.spec["paths"].items():
            parts = []
            for seg in template.strip("/").split("/"):
                m = re.fullmatch(r"\{(\w+)\}", seg)
                if m:
                    multi = self._param(item, m.group(1)).get("x-multi-segment")
                    parts.append(f"(?P<{m.group(1)}>{'.+' if multi else '[^/]+'})")
                else:
                    parts.append(re.escape(seg))
            literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
            routes.append((re.compile("^/" + "/".join(parts) + "$"), template, literal))
        self.routes = sorted(routes, key=lambda r: -r[2])  # more fixed segments first
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.registry.resolver(URN).lookup(URN + node["$ref"]).contents
        return node

    def _param(self, item: dict[str, Any], name: str) -> dict[str, Any]:
        for op in item.values():
            for p in op.get("parameters", []) if isinstance(op, dict) else []:
                p = self._resolve(p)
                if p.get("name") == name and p.get("in") == "path":
                    return p
        return {}

    def match(self, method: str, path: str) -> Operation | None:
        for regex, template, _ in self.routes:
            m = regex.match(path)
            if m and method.lower() in self.spec["paths"][template]:
                op = self.spec["paths"][template][method.lower()]
                return Operation(method.lower(), template, op, m.groupdict())
        return None

    def _validator(self, pointer: str) -> jsonschema.protocols.Validator:
        if pointer not in self._validators:
            self._validators[pointer] = jsonschema.Draft4Validator(
                {"$ref": URN + pointer},
                registry=self.registry,
                format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER,
            )
        return self._validators[pointer]

    def check_request(self, op: Operation, query: Mapping[str, list[str]], body: bytes) -> list[str]:
        """Every way the request breaks the description: parameters (path and query) and the JSON body."""
        problems: list[str] = []
        params = [self._resolve(p) for p in op.op.get("parameters", [])]
        known_query = {p["name"] for p in params if p["in"] == "query"}
        for p in params:
            if p["in"] == "path":
                value: Any = op.params.get(p["name"])
            elif p["in"] == "query":
                value = query.get(p["name"], [None])[-1]
            else:
                continue
            if value is None:
                if p.get("required"):
                    problems.append(f"missing required {p['in']} parameter {p['name']}")
                continue
            schema = p.get("schema", {})
            if schema.get("type") == "integer":
                if not re.fullmatch(r"-?\d+", value):
                    problems.append(f"{p['in']} parameter {p['name']}={value!r} is not an integer")
                    continue
                value = int(value)
            checker = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
            for err in checker.iter_errors(value):
                problems.append(f"{p['in']} parameter {p['name']}: {err.message}")
        for name in query:
            if name not in known_query:
                problems.append(f"unknown query parameter {name}")
        rb = op.op.get("requestBody")
        if rb is None:
            if body.strip() not in (b"", b"{}", b"null"):
                problems.append("this operation takes no request body")
            return problems
        if not body.strip():
            if rb.get("required"):
                problems.append("request body required")
            return problems
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [*problems, f"request body is not JSON: {exc}"]
        pointer = f"#/paths/{_escape(op.template)}/{op.method}/requestBody/content/application~1json/schema"
        for err in sorted(self._validator(pointer).iter_errors(data), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(body)"
            problems.append(f"body {where}: {err.message[:300]}")
        return problems

    def example(self, op: Operation, name: str | None = None) -> Any:
        for code, response in op.op["responses"].items():
            if code.startswith("2"):
                examples = response["content"]["application/json"]["examples"]
                chosen = examples[name] if name else next(iter(examples.values()))
                return copy.deepcopy(self._resolve(chosen)["value"])
        raise KeyError(op.template)


@dataclass
class Call:
    method: str
    path: str
    template: str | None
    op_id: str
    status: int = 0
    body: Any = None
    auth: str = ""

    @property
    def is_token(self) -> bool:
        return self.op_id == "apps/create-installation-access-token"


@dataclass
class Fault:
    method: str
    template: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    hook: Callable[[], None] | None = None


class HttpAnswer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _now_iso(offset: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeGitHub:
    """GitHub's REST API as far as Pledge uses it, with state, call log, faults and OpenAPI checks."""

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        *,
        app_id: int = 4242,
        public_key: bytes | None = None,
        token_ttl: float = 3600,
        openapi: OpenAPI | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = urlsplit(self.base_url).path.rstrip("/")
        self.app_id = app_id
        self.public_key = public_key
        self.token_ttl = token_ttl
        self.api = openapi or OpenAPI()
        self.lock = threading.RLock()
        self.ids = itertools.count(1001)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.tokens: dict[str, float] = {}
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self.on_call: Callable[[Call], None] | None = None
        # slash commands (issue 5): who is in which team, repository roles, reactions, review requests
        self.team_members: dict[str, dict[str, str]] = {}  # "org/team" (lower) -> login (lower) -> state
        self.roles: dict[tuple[str, str], str] = {}  # (repo, login lower) -> role_name; absent: read
        self.reactions: list[tuple[int, str, str]] = []  # (comment id, content, by whom)
        self.review_requests: dict[tuple[str, int], list[str]] = {}
        # merge publishing (issue 6): reviews of a PR (oldest first), labels added to issues and PRs
        self.reviews: dict[tuple[str, int], list[dict[str, str]]] = {}
        self.labels: dict[tuple[str, int], list[str]] = {}
        # pledge app create / pledge doctor (issue 17): the App itself, its webhook, installations, branch rules
        self.app_info: dict[str, Any] = {"slug": "pledge-app", "name": "Pledge App", "permissions": {},
                                         "events": []}
        self.hook_config: dict[str, Any] = {"url": "https://pledge.example.com/webhook", "content_type": "json",
                                            "insecure_ssl": "0"}
        self.deliveries: list[dict[str, Any]] = []  # newest first, as GitHub lists them
        self.installations: dict[int, dict[str, Any]] = {}  # id -> account, repos (None: all), permissions
        self.repos: dict[str, dict[str, Any]] = {}  # owner/name -> default_branch, required checks, rulesets
        self.manifest_codes: dict[str, dict[str, Any]] = {}  # code -> the App GitHub creates from the manifest

    # ---- test helpers ------------------------------------------------------------------------

    def fail(self, method: str, template: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
             body: dict[str, Any] | None = None, hook: Callable[[], None] | None = None) -> None:
        """Answer the next `times` matching requests with `status` (after validating them)."""
        with self.lock:
            self.faults.append(Fault(method.lower(), template, status, times, headers or {},
                                     body or {"message": f"fake fault {status}"}, hook))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def add_pull(self, repo: str, number: int, *, base_ref: str, head_sha: str, state: str = "open",
                 author: str = "octocat", merged: bool = False) -> None:
        self.pulls[(repo, number)] = {"base_ref": base_ref, "head_sha": head_sha, "state": state,
                                      "author": author, "merged": merged}

    def add_team_member(self, team: str, login: str, state: str = "active") -> None:
        self.team_members.setdefault(team.lower(), {})[login.lower()] = state

    def set_role(self, repo: str, login: str, role: str) -> None:
        """The collaborator role (read, triage, write, maintain, admin, or none) GitHub reports for `login`."""
        self.roles[(repo, login.lower())] = role

    def reactions_on(self, comment_id: int) -> list[str]:
        return [content for cid, content, _ in self.reactions if cid == comment_id]

    def add_review(self, repo: str, number: int, login: str, state: str = "APPROVED",
                   commit_id: str = "f" * 40) -> None:
        """A review as GitHub lists it (state APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED)."""
        with self.lock:
            self.reviews.setdefault((repo, number), []).append(
                {"login": login, "state": state, "commit_id": commit_id, "submitted_at": _now_iso()})

    def add_comment(self, repo: str, number: int, body: str, *, login: str = "octocat", kind: str = "User") -> int:
        with self.lock:
            cid = next(self.ids)
            self.comments[cid] = {"id": cid, "repo": repo, "number": number, "body": body,
                                  "login": login, "type": kind}
            return cid

    def rest_calls(self) -> list[Call]:
        """Calls that count against the budget (the installation token fetch excluded)."""
        return [c for c in self.calls if not c.is_token]

    def runs_for(self, sha: str) -> list[dict[str, Any]]:
        return [r for r in self.check_runs.values() if r["head_sha"] == sha]

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["repo"] == repo and c["number"] == number]

    def install(self, rsps: Any) -> None:
        """Serve every method under base_url (with or without PyGithub's explicit :443) from a `responses` mock."""
        parts = urlsplit(self.base_url)
        pattern = re.compile(rf"^{re.escape(parts.scheme)}://{re.escape(parts.hostname or '')}(:\d+)?/.*")

        def callback(req: Any) -> tuple[int, dict[str, str], bytes]:
            body = req.body or b""
            data = body if isinstance(body, bytes) else body.encode()
            return self.handle(req.method, req.url, dict(req.headers), data)

        for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=callback)

    # ---- the server core ---------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: Mapping[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path = parts.path
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix):]
        query = parse_qs(parts.query)
        op = self.api.match(method, path)
        call = Call(method.upper(), path, op.template if op else None, op.op_id if op else "")
        try:
            call.body = json.loads(body) if body.strip() else None
        except ValueError:
            call.body = body[:200]
        with self.lock:
            self.calls.append(call)
            status, out, extra = self._answer(op, call, query, headers, body)
            call.status = status
        if self.on_call is not None:
            self.on_call(call)
        data = b"" if out is None else json.dumps(out).encode()
        return status, {"Content-Type": "application/json; charset=utf-8", **extra}, data

    def _answer(self, op: Operation | None, call: Call, query: Mapping[str, list[str]], headers: Mapping[str, str],
                body: bytes) -> tuple[int, Any, dict[str, str]]:
        if op is None:
            self.violations.append(f"{call.method} {call.path}: no such operation in GitHub's REST description")
            return 404, {"message": "Not Found"}, {}
        problems = self.api.check_request(op, query, body)
        if problems:
            self.violations.extend(f"{call.method} {op.template}: {p}" for p in problems)
            return 422, {"message": "Validation Failed", "errors": problems}, {}
        for fault in self.faults:
            if fault.times > 0 and fault.method == op.method and fault.template == op.template:
                fault.times -= 1
                if fault.hook:
                    fault.hook()
                if fault.status:
                    return fault.status, fault.body, fault.headers
        try:
            call.auth = self._authenticate(op, headers)
            handler = getattr(self, "_op_" + re.sub(r"\W", "_", op.op_id))
            return handler(op, call.body, query)
        except HttpAnswer as answer:
            return answer.status, answer.body, answer.headers

    def _authenticate(self, op: Operation, headers: Mapping[str, str]) -> str:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, credential = auth.partition(" ")
        bad = HttpAnswer(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if op.template.startswith("/app-manifests/"):
            return "none"  # the one-time code is the credential
        if op.template in JWT_TEMPLATES or op.template.startswith("/app/"):
            if scheme.lower() != "bearer":
                raise bad
            if self.public_key is not None:
                import jwt

                try:
                    claims = jwt.decode(credential, self.public_key, algorithms=["RS256"],
                                        options={"require": ["exp", "iat", "iss"]})
                except jwt.PyJWTError as exc:
                    raise HttpAnswer(401, {"message": f"A JSON web token could not be decoded: {exc}"}) from None
                if str(claims["iss"]) != str(self.app_id):
                    raise bad
            return "jwt"
        if scheme.lower() not in ("token", "bearer") or self.tokens.get(credential, 0) < time.time():
            raise bad
        return "installation"

    # ---- operations --------------------------------------------------------------------------

    def _op_apps_create_installation_access_token(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        token = f"ghs_fake{next(self.ids)}x{int(time.time() * 1000) % 100000}"
        self.tokens[token] = time.time() + self.token_ttl
        out = self.api.example(op)
        out.update(token=token, expires_at=_now_iso(self.token_ttl))
        return 201, out, {}

    def _run_json(self, op: Operation, run: dict[str, Any], owner: str, repo: str) -> dict[str, Any]:
        out = self.api.example(op)
        out.update({k: run[k] for k in ("id", "name", "head_sha", "status", "conclusion", "external_id")})
        out["url"] = f"{self.base_url}/repos/{owner}/{repo}/check-runs/{run['id']}"
        out["html_url"] = f"https://github.com/{owner}/{repo}/runs/{run['id']}"
        out["output"] = {"title": run["output"].get("title"), "summary": run["output"].get("summary"),
                         "text": run["output"].get("text"), "annotations_count": len(run["annotations"]),
                         "annotations_url": out["url"] + "/annotations"}
        return out

    def _apply_run(self, run: dict[str, Any], body: dict[str, Any]) -> None:
        for key in ("name", "status", "conclusion", "external_id", "details_url"):
            if key in body:
                run[key] = body[key]
        if body.get("conclusion"):
            run["status"] = "completed"
        if run["status"] == "completed" and not run.get("conclusion"):
            raise HttpAnswer(422, {"message": "Invalid request: conclusion is required when status is completed"})
        output = body.get("output")
        if output:
            run["annotations"].extend(output.get("annotations", []))
            run["output"].update({k: v for k, v in output.items() if k != "annotations"})
        run["requests"].append(body)

    def _op_checks_create(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        owner, repo = op.params["owner"], op.params["repo"]
        run = {"id": next(self.ids), "repo": f"{owner}/{repo}", "name": body["name"], "head_sha": body["head_sha"],
               "status": "queued", "conclusion": None, "external_id": None, "output": {}, "annotations": [],
               "requests": []}
        self._apply_run(run, body)
        self.check_runs[run["id"]] = run
        return 201, self._run_json(op, run, owner, repo), {}

    def _op_checks_update(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        run = self.check_runs.get(int(op.params["check_run_id"]))
        if run is None or run["repo"] != f"{op.params['owner']}/{op.params['repo']}":
            raise HttpAnswer(404, {"message": "Not Found"})
        self._apply_run(run, body)
        return 200, self._run_json(op, run, op.params["owner"], op.params["repo"]), {}

    def _comment_json(self, op: Operation, c: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
        out = copy.deepcopy(example) if example is not None else self.api.example(op)
        repo = c["repo"]
        out.update(id=c["id"], body=c["body"], url=f"{self.base_url}/repos/{repo}/issues/comments/{c['id']}",
                   html_url=f"https://github.com/{repo}/pull/{c['number']}#issuecomment-{c['id']}",
                   issue_url=f"{self.base_url}/repos/{repo}/issues/{c['number']}")
        out["user"] = dict(out["user"], login=c["login"], type=c["type"])
        return out

    def _check_body_size(self, body: Any) -> None:
        if len(body["body"]) > MAX_COMMENT:
            raise HttpAnswer(422, {"message": "Validation Failed",
                                   "errors": [{"message": f"Body is too long (maximum is {MAX_COMMENT} characters)"}]})

    def _op_issues_create_comment(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        self._check_body_size(body)
        repo = f"{op.params['owner']}/{op.params['repo']}"
        cid = next(self.ids)
        c = {"id": cid, "repo": repo, "number": int(op.params["issue_number"]), "body": body["body"],
             "login": BOT_LOGIN, "type": "Bot"}
        self.comments[cid] = c
        return 201, self._comment_json(op, c), {}

    def _op_issues_update_comment(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        self._check_body_size(body)
        c = self.comments.get(int(op.params["comment_id"]))
        if c is None or c["repo"] != f"{op.params['owner']}/{op.params['repo']}":
            raise HttpAnswer(404, {"message": "Not Found"})
        c["body"] = body["body"]
        return 200, self._comment_json(op, c), {}

    def _op_issues_list_comments(self, op: Operation, body: Any,
                                 query: Mapping[str, list[str]]) -> tuple[int, Any, dict]:
        repo = f"{op.params['owner']}/{op.params['repo']}"
        items = sorted((c for c in self.comments.values()
                        if c["repo"] == repo and c["number"] == int(op.params["issue_number"])), key=lambda c: c["id"])
        per_page = int(query.get("per_page", ["30"])[-1])
        page = int(query.get("page", ["1"])[-1])
        example = self.api.example(op)[0]
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = f"{self.base_url}{op.template.format(**op.params)}?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, [self._comment_json(op, c, example) for c in chunk], headers

    def _pull_json(self, example: dict[str, Any], repo: str, number: int, pr: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(example)
        out.update(number=number, state=pr["state"], merged=bool(pr.get("merged")),
                   url=f"{self.base_url}/repos/{repo}/pulls/{number}",
                   html_url=f"https://github.com/{repo}/pull/{number}")
        out["user"] = dict(out["user"], login=pr.get("author", "octocat"), type="User")
        out["base"] = dict(out["base"], ref=pr["base_ref"])
        out["head"] = dict(out["head"], sha=pr["head_sha"])
        return out

    def _op_pulls_get(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo = f"{op.params['owner']}/{op.params['repo']}"
        pr = self.pulls.get((repo, int(op.params["pull_number"])))
        if pr is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        return 200, self._pull_json(self.api.example(op), repo, int(op.params["pull_number"]), pr), {}

    def _op_repos_list_pull_requests_associated_with_commit(self, op: Operation, body: Any,
                                                            query: Any) -> tuple[int, Any, dict]:
        repo = f"{op.params['owner']}/{op.params['repo']}"
        example = self.api.example(op)[0]
        items = [self._pull_json(example, repo, n, pr) for (r, n), pr in sorted(self.pulls.items())
                 if r == repo and pr["head_sha"] == op.params["commit_sha"]]
        return 200, items, {}

    # ---- merge publishing (issue 6) ----------------------------------------------------------

    def _op_pulls_list_reviews(self, op: Operation, body: Any, query: Mapping[str, list[str]]) -> tuple[int, Any, dict]:
        repo, number = f"{op.params['owner']}/{op.params['repo']}", int(op.params["pull_number"])
        per_page, page = int(query.get("per_page", ["30"])[-1]), int(query.get("page", ["1"])[-1])
        example = self.api.example(op)[0]
        out = []
        for i, r in enumerate(self.reviews.get((repo, number), [])[(page - 1) * per_page: page * per_page]):
            item = copy.deepcopy(example)
            item.update(id=5000 + i, state=r["state"], commit_id=r["commit_id"], submitted_at=r["submitted_at"],
                        html_url=f"https://github.com/{repo}/pull/{number}#pullrequestreview-{5000 + i}",
                        pull_request_url=f"{self.base_url}/repos/{repo}/pulls/{number}")
            item["user"] = dict(item["user"], login=r["login"], type="User")
            out.append(item)
        return 200, out, {}

    def _op_issues_add_labels(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo, number = f"{op.params['owner']}/{op.params['repo']}", int(op.params["issue_number"])
        if (repo, number) not in self.pulls and not any(c["number"] == number for c in self.comments.values()):
            raise HttpAnswer(404, {"message": "Not Found"})
        names = body.get("labels", []) if isinstance(body, dict) else body
        names = [n if isinstance(n, str) else n["name"] for n in ([names] if isinstance(names, str) else names)]
        have = self.labels.setdefault((repo, number), [])
        have += [n for n in names if n not in have]
        example = self.api.example(op)[0]
        return 200, [dict(example, name=n, default=False) for n in have], {}

    # ---- slash commands (issue 5) ----------------------------------------------------------

    def _op_reactions_create_for_issue_comment(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        cid = int(op.params["comment_id"])
        comment = self.comments.get(cid)
        if comment is None or comment["repo"] != f"{op.params['owner']}/{op.params['repo']}":
            raise HttpAnswer(404, {"message": "Not Found"})
        out = self.api.example(op)
        out["content"] = body["content"]
        out["user"] = dict(out["user"], login=BOT_LOGIN, type="Bot")
        mine = (cid, body["content"], BOT_LOGIN)
        if mine in self.reactions:
            return 200, out, {}  # GitHub: the reaction already exists
        self.reactions.append(mine)
        return 201, out, {}

    def _op_teams_get_membership_for_user_in_org(self, op: Operation, body: Any,
                                                 query: Any) -> tuple[int, Any, dict]:
        team = f"{op.params['org']}/{op.params['team_slug']}".lower()
        state = self.team_members.get(team, {}).get(op.params["username"].lower())
        if state is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        out = self.api.example(op)
        out.update(state=state, role="member")
        return 200, out, {}

    def _op_repos_get_collaborator_permission_level(self, op: Operation, body: Any,
                                                    query: Any) -> tuple[int, Any, dict]:
        repo = f"{op.params['owner']}/{op.params['repo']}"
        role = self.roles.get((repo, op.params["username"].lower()), "read")
        folded = {"maintain": "write", "triage": "read"}.get(role, role)
        out = self.api.example(op)
        out.update(permission=folded, role_name=role)
        out["user"] = dict(out["user"], login=op.params["username"])
        return 200, out, {}

    def _op_pulls_create(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo = f"{op.params['owner']}/{op.params['repo']}"
        if any(r == repo and pr.get("head_ref") == body["head"] and pr["state"] == "open"
               for (r, _n), pr in self.pulls.items()):
            raise HttpAnswer(422, {"message": "Validation Failed",
                                   "errors": [{"message": f"A pull request already exists for {body['head']}."}]})
        number = max([n for (r, n) in self.pulls if r == repo] + [100]) + 1
        self.pulls[(repo, number)] = {"base_ref": body["base"], "head_sha": "0" * 40, "state": "open",
                                      "author": BOT_LOGIN, "merged": False, "head_ref": body["head"],
                                      "title": body.get("title", ""), "body": body.get("body", "")}
        return 201, self._pull_json(self.api.example(op), repo, number, self.pulls[(repo, number)]), {}

    def _op_pulls_request_reviewers(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo, number = f"{op.params['owner']}/{op.params['repo']}", int(op.params["pull_number"])
        pr = self.pulls.get((repo, number))
        if pr is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        wanted = list((body or {}).get("reviewers", []))
        if any(w.lower() == str(pr.get("author", "")).lower() for w in wanted):
            raise HttpAnswer(422, {"message": "Review cannot be requested from pull request author."})
        self.review_requests.setdefault((repo, number), []).extend(wanted)
        return 201, self._pull_json(self.api.example(op), repo, number, pr), {}

    # ---- pledge app create and pledge doctor (issue 17) -------------------------------------

    def grant(self, permissions: Mapping[str, str], events: list[str]) -> None:
        """What GET /app reports the App has."""
        self.app_info.update(permissions=dict(permissions), events=list(events))

    def add_installation(self, account: str, repos: list[str] | None = None) -> int:
        """An installation of the App on `account`, on `repos` only (None: all its repositories)."""
        iid = next(self.ids)
        self.installations[iid] = {"account": account, "repos": repos,
                                   "permissions": dict(self.app_info["permissions"])}
        return iid

    def add_repo(self, repo: str, *, default_branch: str = "main", required_checks: list[str] | None = None,
                 ruleset_checks: list[str] | None = None) -> None:
        """A repository; `required_checks` classic protection's contexts (None: unprotected), `ruleset_checks`
        the contexts a ruleset's required_status_checks rule names (None: no such rule)."""
        self.repos[repo] = {"default_branch": default_branch, "required_checks": required_checks,
                            "ruleset_checks": ruleset_checks}

    def add_delivery(self, status_code: int, event: str = "pull_request", action: str | None = "opened") -> None:
        with self.lock:
            self.deliveries.insert(0, {"id": next(self.ids), "status_code": status_code, "event": event,
                                       "action": action,
                                       "status": "OK" if status_code < 400 else "Invalid HTTP Response"})

    def manifest_code(self, manifest: Mapping[str, Any], *, app_id: int, pem: str, webhook_secret: str) -> str:
        """What GitHub does when the user submits the manifest form: create the App, hand out a one-time code."""
        code = f"code{next(self.ids)}"
        self.manifest_codes[code] = {"manifest": dict(manifest), "id": app_id, "pem": pem,
                                     "webhook_secret": webhook_secret}
        return code

    def _op_apps_create_from_manifest(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        made = self.manifest_codes.pop(op.params["code"], None)  # one use
        if made is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        manifest = made["manifest"]
        slug = re.sub(r"[^a-z0-9]+", "-", manifest["name"].lower()).strip("-")
        out = self.api.example(op)
        out.update(id=made["id"], slug=slug, name=manifest["name"], pem=made["pem"],
                   webhook_secret=made["webhook_secret"], external_url=manifest.get("url", ""),
                   html_url=f"https://github.com/apps/{slug}", permissions=manifest.get("default_permissions", {}),
                   events=manifest.get("default_events", []))
        self.app_info.update(slug=slug, name=manifest["name"], permissions=out["permissions"], events=out["events"])
        self.hook_config["url"] = manifest["hook_attributes"]["url"]
        return 201, out, {}

    def _op_apps_get_authenticated(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        out = self.api.example(op)
        out.update(id=self.app_id, slug=self.app_info["slug"], name=self.app_info["name"],
                   permissions=self.app_info["permissions"], events=self.app_info["events"],
                   installations_count=len(self.installations))
        return 200, out, {}

    def _op_apps_get_webhook_config_for_app(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        return 200, dict(self.hook_config, secret="********"), {}

    def _op_apps_list_webhook_deliveries(self, op: Operation, body: Any,
                                         query: Mapping[str, list[str]]) -> tuple[int, Any, dict]:
        per_page = int(query.get("per_page", ["30"])[-1])
        example = self.api.example(op)[0]
        out = [dict(example, id=d["id"], status_code=d["status_code"], status=d["status"], event=d["event"],
                    action=d["action"], delivered_at=_now_iso(), guid=f"guid-{d['id']}")
               for d in self.deliveries[:per_page]]
        return 200, out, {}

    def _installation_json(self, op: Operation, iid: int, inst: dict[str, Any]) -> dict[str, Any]:
        example = self.api.example(op)
        out = copy.deepcopy(example[0] if isinstance(example, list) else example)
        out.update(id=iid, app_id=self.app_id, app_slug=self.app_info["slug"], permissions=inst["permissions"],
                   events=self.app_info["events"], repository_selection="all" if inst["repos"] is None else "selected",
                   suspended_at=None, suspended_by=None)
        out["account"] = dict(out["account"], login=inst["account"])
        return out

    def _op_apps_list_installations(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        return 200, [self._installation_json(op, i, inst) for i, inst in sorted(self.installations.items())], {}

    def _op_apps_get_repo_installation(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        owner, repo = op.params["owner"], op.params["repo"]
        for iid, inst in sorted(self.installations.items()):
            if inst["account"].lower() == owner.lower() and (inst["repos"] is None
                                                             or f"{owner}/{repo}" in inst["repos"]):
                return 200, self._installation_json(op, iid, inst), {}
        raise HttpAnswer(404, {"message": "Not Found"})

    def _repo_state(self, op: Operation) -> dict[str, Any]:
        repo = self.repos.get(f"{op.params['owner']}/{op.params['repo']}")
        if repo is None:
            raise HttpAnswer(404, {"message": "Not Found"})
        return repo

    def _op_repos_get(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo = self._repo_state(op)
        out = self.api.example(op)
        out.update(name=op.params["repo"], full_name=f"{op.params['owner']}/{op.params['repo']}",
                   default_branch=repo["default_branch"])
        return 200, out, {}

    def _op_repos_get_branch_rules(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo = self._repo_state(op)
        source = f"{op.params['owner']}/{op.params['repo']}"
        rules: list[dict[str, Any]] = [{"type": "deletion", "ruleset_source_type": "Repository",
                                        "ruleset_source": source, "ruleset_id": 42}]
        if repo["ruleset_checks"] is not None and op.params["branch"] == repo["default_branch"]:
            rules.append({"type": "required_status_checks", "ruleset_source_type": "Repository",
                          "ruleset_source": source, "ruleset_id": 42,
                          "parameters": {"strict_required_status_checks_policy": False,
                                         "required_status_checks": [{"context": c}
                                                                    for c in repo["ruleset_checks"]]}})
        return 200, rules, {}

    def _op_repos_get_status_checks_protection(self, op: Operation, body: Any, query: Any) -> tuple[int, Any, dict]:
        repo = self._repo_state(op)
        if repo["required_checks"] is None or op.params["branch"] != repo["default_branch"]:
            raise HttpAnswer(404, {"message": "Branch not protected"})
        out = self.api.example(op)
        out.update(contexts=list(repo["required_checks"]),
                   checks=[{"context": c, "app_id": None} for c in repo["required_checks"]])
        return 200, out, {}
