"""The bad-input table of tests/test_cli_bad_inputs.py: one row a command line that must fail
with exit 2 and one error line naming `expect`, the store unchanged.

Placeholders in argv (`{db}`, `{sid}`, `{fake}`, `{keyed}`, `{dead}`, ...) are filled in by the
test's `world` fixture: a store with sessions, real servers on 127.0.0.1, a closed port. Kept
apart from the test so that the table reads as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSWORD = "hunter2-url-password"


@dataclass(frozen=True)
class Row:
    name: str
    argv: list[str]
    expect: str  # a piece of the one error line
    env: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # the TOML config file's text, if the row needs one


def _r(name: str, argv: list[str], expect: str, **kw: object) -> Row:
    return Row(name, argv, expect, **kw)  # type: ignore[arg-type]


RUN = ["run", "a goal", "--db", "{db}"]
OPENAI = [*RUN, "--model", "openai-compatible", "--base-url"]
DOCTOR = ["doctor", "--db", "{db}", "--model", "scripted"]
DEAD_WITH_PASSWORD = f"http://bob:{PASSWORD}@127.0.0.1:{{dead}}/v1"

ROWS = [
    # run: the goal and every option
    _r("run-empty-goal", ["run", "", "--db", "{db}", "--model", "scripted"], "goal is empty"),
    _r("run-blank-goal", ["run", "  \t ", "--db", "{db}", "--model", "scripted"], "goal is empty"),
    _r("run-missing-goal", ["run", "--db", "{db}"], "Missing argument 'GOAL'"),
    _r("run-unknown-option", [*RUN, "--frobnicate"], "No such option: --frobnicate"),
    _r("run-extra-argument", [*RUN, "--literature", "yes"], "unexpected extra argument"),
    _r("run-concurrency-zero", [*RUN, "--concurrency", "0"], "--concurrency"),
    _r("run-concurrency-word", [*RUN, "--concurrency", "many"], "--concurrency"),
    _r("run-concurrency-huge", [*RUN, "--concurrency", "100000"], "concurrency"),
    _r("run-queue-depth-negative", [*RUN, "--queue-depth", "-1"], "--queue-depth"),
    _r("run-max-calls-negative", [*RUN, "--max-calls", "-3"], "--max-calls"),
    _r("run-max-calls-fraction", [*RUN, "--max-calls", "1.5"], "--max-calls"),
    _r("run-max-hypotheses-zero", [*RUN, "--max-hypotheses", "0"], "--max-hypotheses"),
    _r("run-time-limit-zero", [*RUN, "--time-limit", "0"], "--time-limit"),
    _r("run-time-limit-word", [*RUN, "--time-limit", "soon"], "--time-limit"),
    _r("run-time-limit-infinite", [*RUN, "--model", "scripted", "--time-limit", "inf"], "finite"),
    _r("run-max-cost-negative", [*RUN, "--max-cost", "-1"], "--max-cost"),
    _r("run-min-gain-negative", [*RUN, "--model", "scripted", "--min-gain", "-0.1"], "--min-gain"),
    _r("run-min-gain-one", [*RUN, "--model", "scripted", "--min-gain", "2"], "bad --min-gain 2"),
    _r("run-max-cost-nan", [*RUN, "--max-cost", "nan"], "--max-cost"),
    _r("run-seed-word", [*RUN, "--seed", "x"], "--seed"),
    _r("run-seed-past-int64", [*RUN, "--model", "scripted", "--seed", "9" * 20], "seed"),
    _r("run-threads-zero", [*RUN, "--threads", "0"], "--threads"),
    # the proximity embedder (coscientist/embedding)
    _r("run-embedder-unknown", [*RUN, "--model", "scripted", "--embedder", "bert"], "embedder"),
    _r(
        "run-embedder-no-endpoint",
        [*RUN, "--model", "scripted", "--embedder", "openai-compatible"],
        "needs an endpoint",
    ),
    _r(
        "run-embedder-from-env",
        [*RUN, "--model", "scripted"],
        "COSCIENTIST_EMBEDDER",
        env={"COSCIENTIST_EMBEDDER": "word2vec"},
    ),
    _r(
        "run-embedder-missing-gguf",
        [*RUN, "--model", "scripted", "--embedder", "embedded"],
        "is not a GGUF file",
        env={"COSCIENTIST_EMBEDDING_MODEL": "/nonexistent/model.gguf"},
    ),
    _r(
        "resume-embedder-unknown",
        ["resume", "{sid}", "--db", "{db}", "--embedder", "bert"],
        "embedder",
    ),
    # model specs
    _r("model-unknown", [*RUN, "--model", "gpt-banana"], "unknown model spec"),
    _r("model-gguf-no-path", [*RUN, "--model", "gguf:"], "needs the path"),
    _r("model-gguf-missing-file", [*RUN, "--model", "gguf:{tmp}/none.gguf"], "does not exist"),
    _r("model-vllm-no-name", [*RUN, "--model", "vllm:"], "needs a model name"),
    _r("model-vllm-no-gpu", [*RUN, "--model", "vllm:org/model"], "CUDA GPU"),
    _r("model-scripted-bad-option", [*RUN, "--model", "scripted:speed=3"], "scripted option"),
    _r("model-scripted-negative", [*RUN, "--model", "scripted:latency=-1"], "scripted option"),
    _r("model-from-env", RUN, "unknown model spec", env={"COSCIENTIST_MODEL": "gpt-banana"}),
    # model URLs
    _r("url-missing", [*RUN, "--model", "openai-compatible"], "needs --base-url"),
    _r("url-words", [*OPENAI, "not a url"], "contains spaces"),
    _r("url-ftp", [*OPENAI, "ftp://127.0.0.1/v1"], "not an http(s) URL"),
    _r("url-no-host", [*OPENAI, "http:///v1"], "not an http(s) URL"),
    _r("url-bad-port", [*OPENAI, "http://127.0.0.1:99999/v1"], "not a valid URL"),
    _r("url-nothing-listens", [*OPENAI, "http://127.0.0.1:{dead}/v1"], "cannot reach"),
    _r(
        "url-password-nothing-listens",
        [*OPENAI, f"http://bob:{PASSWORD}@127.0.0.1:{{dead}}/v1"],
        "bob:***@",
    ),
    _r("url-wrong-path-404", [*OPENAI, "{fake_root}"], "HTTP 404"),
    _r("url-no-key-401", [*OPENAI, "{keyed}"], "HTTP 401"),
    _r("url-wrong-key-401", [*OPENAI, "{keyed}"], "HTTP 401", env={"COSCIENTIST_API_KEY": "no"}),
    _r(
        "url-unknown-model",
        [*RUN, "--model", "openai-compatible:no-such-model", "--base-url", "{fake}"],
        "does not serve model 'no-such-model'",
    ),
    _r(
        "url-max-cost-without-price",
        [*RUN, "--model", "openai-compatible", "--base-url", "{fake}", "--max-cost", "1"],
        "--max-cost needs the price of 'fake-model'",
    ),
    # a model per role (--role-model ROLE=SPEC, --judge-model, [roles.ROLE])
    _r("role-unknown", [*RUN, "--role-model", "jury=scripted"], "unknown role 'jury'"),
    _r("role-no-equals", [*RUN, "--role-model", "scripted"], "use --role-model ROLE=VALUE"),
    _r("role-empty-spec", [*RUN, "--role-model", "graph="], "use --role-model ROLE=VALUE"),
    _r("role-bad-spec", [*RUN, "--role-model", "graph=gpt-banana"], "role graph: unknown model"),
    _r("role-concurrency-zero", [*RUN, "--role-concurrency", "ranking=0"], "from 1 to 4096"),
    _r("role-concurrency-word", [*RUN, "--role-concurrency", "ranking=x"], "from 1 to 4096"),
    _r("role-url-unknown-role", [*RUN, "--role-base-url", "jury=http://h/v1"], "unknown role"),
    _r("judge-bad-spec", [*RUN, "--judge-model", "gpt-banana"], "role ranking: unknown model"),
    _r(
        "judge-openai-without-url",
        [*RUN, "--model", "scripted", "--judge-model", "openai-compatible"],
        "role ranking: openai-compatible needs a base URL",
    ),
    _r(
        "judge-bad-url",
        [*RUN, "--judge-model", "openai-compatible", "--judge-base-url", "ftp://h/v1"],
        "not an http(s) URL",
    ),
    _r(
        "judge-nothing-listens",
        [
            *RUN,
            "--model",
            "scripted",
            "--judge-model",
            "openai-compatible",
            "--judge-base-url",
            f"http://bob:{PASSWORD}@127.0.0.1:{{dead}}/v1",
        ],
        "role ranking (openai-compatible @ http://bob:***@",
    ),
    _r(
        "judge-no-key-401",
        [
            *RUN,
            "--model",
            "scripted",
            "--judge-model",
            "openai-compatible",
            "--judge-base-url",
            "{keyed}",
        ],
        "COSCIENTIST_RANKING_API_KEY",
    ),
    _r(
        "judge-gguf-missing-file",
        [*RUN, "--model", "scripted", "--judge-model", "gguf:{tmp}/none.gguf"],
        "does not exist",
    ),
    _r(
        "config-unknown-role",
        [*RUN, "--model", "scripted"],
        "unknown role 'jury'",
        config='[roles.jury]\nmodel = "scripted"\n',
    ),
    _r(
        "config-role-bad-spec",
        [*RUN, "--model", "scripted"],
        "role ranking: unknown model spec",
        config='[roles.ranking]\nmodel = "gpt-banana"\n',
    ),
    _r(
        "env-role-bad-concurrency",
        [*RUN, "--model", "scripted"],
        "concurrency",
        env={"COSCIENTIST_ROLES__RANKING__CONCURRENCY": "0"},
    ),
    # resume
    _r("resume-unknown-session", ["resume", "nosuch", "--db", "{db}"], "no session 'nosuch'"),
    _r(
        "resume-max-calls-negative",
        ["resume", "{sid}", "--db", "{db}", "--max-calls", "-1"],
        "--max-calls",
    ),
    _r(
        "resume-concurrency-zero",
        ["resume", "{sid}", "--db", "{db}", "--concurrency", "0"],
        "--concurrency",
    ),
    _r(
        "resume-bad-base-url",
        ["resume", "{sid}", "--db", "{db}", "--base-url", "not a url"],
        "contains spaces",
    ),
    _r(
        "resume-dead-base-url",
        ["resume", "{osid}", "--db", "{db}", "--base-url", "http://127.0.0.1:{dead}/v1"],
        "cannot reach",
    ),
    # resume moves a role's endpoint (--judge-base-url, --role-base-url), never its model
    _r(
        "resume-judge-bad-url",
        ["resume", "{osid}", "--db", "{db}", "--judge-base-url", "not a url"],
        "role ranking: --base-url 'not a url' contains spaces",
    ),
    _r(
        "resume-role-url-unknown-role",
        ["resume", "{osid}", "--db", "{db}", "--role-base-url", "jury={fake}"],
        "unknown role 'jury'",
    ),
    _r(
        "resume-role-url-no-equals",
        ["resume", "{osid}", "--db", "{db}", "--role-base-url", "{fake}"],
        "use --role-base-url ROLE=VALUE",
    ),
    _r(
        "resume-judge-url-on-scripted",
        ["resume", "{sid}", "--db", "{db}", "--judge-base-url", "{fake}"],
        "role ranking uses scripted, which has no endpoint to move",
    ),
    _r(
        "resume-judge-dead-url",
        ["resume", "{osid}", "--db", "{db}", "--judge-base-url", "http://127.0.0.1:{dead}/v1"],
        "role ranking (openai-compatible @ http://127.0.0.1:",
    ),
    _r(
        "resume-role-url-401",
        ["resume", "{osid}", "--db", "{db}", "--role-base-url", "graph={keyed}"],
        "HTTP 401",
    ),
    _r(
        "resume-judge-url-password-dead",
        ["resume", "{osid}", "--db", "{db}", "--judge-base-url", DEAD_WITH_PASSWORD],
        "bob:***@",
    ),
    _r(
        "resume-no-judge-model",
        ["resume", "{osid}", "--db", "{db}", "--judge-model", "scripted"],
        "No such option: --judge-model",
    ),
    _r(
        "resume-no-role-model",
        ["resume", "{osid}", "--db", "{db}", "--role-model", "ranking=scripted"],
        "No such option: --role-model",
    ),
    _r(
        "resume-no-model-option",
        ["resume", "{sid}", "--db", "{db}", "--model", "scripted"],
        "No such option: --model",
    ),
    # reading commands
    _r("show-unknown-session", ["show", "nosuch", "--db", "{db}"], "no session 'nosuch'"),
    _r("show-top-zero", ["show", "{sid}", "--db", "{db}", "--top", "0"], "--top"),
    _r("show-top-word", ["show", "{sid}", "--db", "{db}", "--top", "all"], "--top"),
    _r("show-top-past-int64", ["show", "{sid}", "--db", "{db}", "--top", "9" * 20], "--top"),
    _r("show-missing-session", ["show", "--db", "{db}"], "Missing argument 'SESSION'"),
    _r(
        "sessions-extra-argument", ["sessions", "--db", "{db}", "more"], "unexpected extra argument"
    ),
    _r("graph-unknown-session", ["graph", "nosuch", "--db", "{db}"], "no session"),
    _r("graph-top-zero", ["graph", "{sid}", "--db", "{db}", "--top", "0"], "--top"),
    _r("tui-unknown-session", ["tui", "nosuch", "--db", "{db}"], "no session 'nosuch'"),
    # writing commands
    _r("add-empty-text", ["add", "{sid}", "", "--db", "{db}"], "text is empty"),
    _r("add-blank-text", ["add", "{sid}", "  \n ", "--db", "{db}"], "text is empty"),
    _r("add-unknown-session", ["add", "nosuch", "an idea", "--db", "{db}"], "no session"),
    _r("add-missing-text", ["add", "{sid}", "--db", "{db}"], "Missing argument"),
    _r(
        "export-unknown-format",
        ["export", "{sid}", "--format", "pdf", "--output", "{tmp}/r.pdf", "--db", "{db}"],
        "unknown format 'pdf'",
    ),
    _r(
        "export-missing-output",
        ["export", "{sid}", "--format", "md", "--db", "{db}"],
        "Missing option '--output'",
    ),
    _r("plan-unknown-session", ["plan", "nosuch", "--db", "{db}"], "no session"),
    _r(
        "plan-missing-file",
        ["plan", "{sid}", "--file", "{tmp}/nosuch.toml", "--db", "{db}"],
        "cannot read",
    ),
    _r("observe-empty", ["observe", "{sid}", "   ", "--db", "{db}"], "observation is empty"),
    _r("observe-unknown-session", ["observe", "nosuch", "a finding", "--db", "{db}"], "no session"),
    _r(
        "export-to-a-directory",
        ["export", "{sid}", "--format", "md", "--output", "{tmp}", "--db", "{db}"],
        "is a directory",
    ),
    _r(
        "export-unknown-session",
        ["export", "nosuch", "--format", "md", "--output", "{tmp}/r.md", "--db", "{db}"],
        "no session",
    ),
    # talking to a session
    _r("ask-empty-question", ["ask", "{sid}", "  \n ", "--db", "{db}"], "question is empty"),
    _r("ask-missing-question", ["ask", "{sid}", "--db", "{db}"], "Missing argument 'QUESTION'"),
    _r("ask-long-question", ["ask", "{sid}", "why " * 600, "--db", "{db}"], "keep it under"),
    _r("ask-unknown-session", ["ask", "nosuch", "why?", "--db", "{db}"], "no session 'nosuch'"),
    _r(
        "ask-dead-base-url",
        ["ask", "{osid}", "why?", "--db", "{db}", "--base-url", "http://127.0.0.1:{dead}/v1"],
        "cannot reach",
    ),
    _r("answers-unknown-session", ["answers", "nosuch", "--db", "{db}"], "no session"),
    _r(
        "answers-unknown-answer",
        ["answers", "{sid}", "--apply", "nosuch", "--db", "{db}"],
        "no answer 'nosuch'",
    ),
    # worker and doctor
    _r(
        "worker-concurrency-zero", ["worker", "--db", "{db}", "--concurrency", "0"], "--concurrency"
    ),
    _r("worker-idle-exit-negative", ["worker", "--db", "{db}", "--idle-exit", "-1"], "--idle-exit"),
    _r(
        "doctor-unknown-model",
        ["doctor", "--db", "{db}", "--model", "gpt-banana"],
        "unknown model spec",
    ),
    _r("doctor-threads-zero", ["doctor", "--db", "{db}", "--threads", "0"], "--threads"),
    # doctor takes run's role options
    _r("doctor-role-unknown", [*DOCTOR, "--role-model", "jury=scripted"], "unknown role 'jury'"),
    _r("doctor-role-no-equals", [*DOCTOR, "--role-base-url", "{fake}"], "ROLE=VALUE"),
    _r("doctor-role-concurrency-zero", [*DOCTOR, "--role-concurrency", "graph=0"], "1 to 4096"),
    _r("doctor-judge-bad-spec", [*DOCTOR, "--judge-model", "gpt-banana"], "role ranking: unknown"),
    _r(
        "doctor-judge-without-url",
        [*DOCTOR, "--judge-model", "openai-compatible"],
        "role ranking: openai-compatible needs a base URL",
    ),
    _r(
        "doctor-judge-bad-url",
        [*DOCTOR, "--judge-model", "openai-compatible", "--judge-base-url", "ftp://h/v1"],
        "role ranking: --base-url 'ftp://h/v1' is not an http(s) URL",
    ),
    _r(
        "doctor-role-from-config",
        DOCTOR,
        "unknown role 'jury'",
        config='[roles.jury]\nmodel = "scripted"\n',
    ),
    # store URLs
    _r("store-unknown-scheme", ["sessions", "--db", "nosuch://nowhere"], "nosuch://nowhere"),
    _r(
        "store-unsupported",
        ["sessions", "--db", "mysql://u@localhost/db"],
        "unsupported database 'mysql'",
    ),
    _r("store-empty-url", ["sessions", "--db", ""], "not a database URL"),
    _r("store-is-a-directory", ["sessions", "--db", "sqlite:///{tmp}"], "cannot open store"),
    _r(
        "store-postgres-nothing-listens",
        ["sessions", "--db", f"postgresql://u:{PASSWORD}@127.0.0.1:{{dead}}/db"],
        "u:***@127.0.0.1",
    ),
    _r(
        "store-from-env",
        ["sessions"],
        "unsupported database",
        env={"COSCIENTIST_DB": "mysql://x/y"},
    ),
    # the command itself, environment and config file
    _r("unknown-command", ["frobnicate"], "No such command 'frobnicate'"),
    _r("global-unknown-option", ["--version"], "No such option: --version"),
    _r(
        "env-concurrency-word",
        ["sessions", "--db", "{db}"],
        "COSCIENTIST_CONCURRENCY",
        env={"COSCIENTIST_CONCURRENCY": "lots"},
    ),
    _r(
        "config-broken-toml",
        ["sessions", "--db", "{db}"],
        "line 2",
        config='model = "scripted"\nconcurrency = = 4\n',
    ),
    _r(
        "config-bad-value",
        ["sessions", "--db", "{db}"],
        "concurrency",
        config='concurrency = "lots"\n',
    ),
    _r(
        "config-bad-price",
        ["sessions", "--db", "{db}"],
        "prices",
        config='[prices."m"]\ninput = -1\noutput = 1\n',
    ),
]
