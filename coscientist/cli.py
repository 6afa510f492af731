"""The command line: thin. Parses options, calls session.py, prints.

Every CoscientistError (and bad input of any kind) ends as one line on stderr
and exit code 2, never a traceback; an unexpected error is one line, exit code 1,
and a log file with the traceback (cli_errors.py). Text from the store (goals,
titles, graph labels: model and scientist text) is printed through safe_text,
never as markup or raw control characters.
"""

from __future__ import annotations

import json
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn

import anyio
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from coscientist import cli_ask as show_ask
from coscientist import cli_method as show_text
from coscientist import cli_roles as roles_cli
from coscientist.cli_errors import one_line, run_app, say_error
from coscientist.config import Limits, Settings, config_file
from coscientist.errors import ConfigError
from coscientist.safe_text import console_markup, json_text, printable
from coscientist.tournament.display import confidence_line, confidence_summary, rank_rule

app = typer.Typer(
    name="coscientist",
    help="An open AI co-scientist: hypotheses generated, reviewed, debated in a rated tournament, evolved.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
SLOW_STEP_SECONDS = 1.0  # exports and graph metrics say how long they took past this

DbOpt = Annotated[
    str | None, typer.Option("--db", help="store URL (sqlite:///PATH or postgresql://...)")
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="embedded, gguf:PATH, openai-compatible[:MODEL], vllm:MODEL, scripted"
    ),
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint")]
ConcOpt = Annotated[int | None, typer.Option("--concurrency", min=1, help="tasks in flight")]
QueueOpt = Annotated[
    int | None,
    typer.Option("--queue-depth", min=0, help="tasks planned ahead for `coscientist worker`s"),
]
CallsOpt = Annotated[
    int | None, typer.Option("--max-calls", min=0, help="stop after N model calls")
]
HypOpt = Annotated[int | None, typer.Option("--max-hypotheses", min=1, help="generate at most N")]
CostOpt = Annotated[
    float | None,
    typer.Option("--max-cost", min=0, help="stop before spending USD (needs the model's price)"),
]
TimeOpt = Annotated[
    float | None, typer.Option("--time-limit", min=0.001, help="seconds of wall time")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="seed of every random choice")]
ConfOpt = Annotated[
    float | None,
    typer.Option(
        "--confidence",
        help="stop ranking once the top 10 is this sure (expected recall, default 0.8)",
    ),
]
GainOpt = Annotated[
    float | None,
    typer.Option(
        "--min-gain",
        help="or once two more matches per hypothesis would add less than this to that"
        " expected recall (default 0.01; 0 never stops on it)",
    ),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        help="proximity embeddings: hashed, openai-compatible (COSCIENTIST_EMBEDDING_BASE_URL"
        " or --base-url) or embedded",
    ),
]
TuiOpt = Annotated[bool, typer.Option("--tui/--no-tui", help="watch the run in the terminal UI")]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="print a line for every hypothesis, review and match"),
]
PreferenceOpt = Annotated[
    list[str] | None,
    typer.Option("--preference", help="what kind of answer you want (repeatable); joins the plan"),
]
ConstraintOpt = Annotated[
    list[str] | None,
    typer.Option("--constraint", help="what every hypothesis must respect (repeatable)"),
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", min=1, help="CPU threads for embedded models")
]


def fail(message: str) -> NoReturn:
    say_error(message)
    raise typer.Exit(2)


def make_settings(**options: Any) -> Settings:
    given = {k: v for k, v in options.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        env = "COSCIENTIST_" + where.upper().replace(".", "__")
        cfg = config_file()
        sources = f"the option, {env}" + (f" or {cfg}" if cfg.is_file() else "")
        raise ConfigError(f"{where}: {first['msg']} (check {sources})") from exc


def _open(db: str | None, **options: Any) -> Any:
    from coscientist.session import CoScientist

    return CoScientist(make_settings(db=db, **options))


def _limits(**values: Any) -> Limits:
    try:
        return Limits(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"bad limit: {exc.errors()[0]['msg']}") from exc


# --- running ---------------------------------------------------------------------------


@app.command()
def run(
    goal: Annotated[str, typer.Argument(metavar="GOAL", help="the research goal, in plain words")],
    db: DbOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: ConcOpt = None,
    queue_depth: QueueOpt = None,
    max_calls: CallsOpt = None,
    max_hypotheses: HypOpt = None,
    time_limit: TimeOpt = None,
    max_cost: CostOpt = None,
    confidence: ConfOpt = None,
    min_gain: GainOpt = None,
    seed: SeedOpt = None,
    threads: ThreadsOpt = None,
    embedder: EmbedderOpt = None,
    literature: Annotated[
        bool | None,
        typer.Option(
            "--literature/--no-literature",
            help="search arXiv, PubMed and Europe PMC and check citations "
            "(default: on when they answer a preflight request)",
        ),
    ] = None,
    preference: PreferenceOpt = None,
    constraint: ConstraintOpt = None,
    role_model: roles_cli.RoleModelOpt = None,
    role_base_url: roles_cli.RoleUrlOpt = None,
    role_concurrency: roles_cli.RoleConcOpt = None,
    judge_model: roles_cli.JudgeModelOpt = None,
    judge_base_url: roles_cli.JudgeUrlOpt = None,
    tui: TuiOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Start a research session on GOAL and run it until a limit is reached.

    The goal passes a safety review before anything else; the first model call turns it
    into a research plan (see `coscientist plan`), which keeps your --preference and
    --constraint items.

    The model is checked first (an endpoint must answer, take the key and serve the
    model): if it cannot serve, nothing is stored. Each role may have a model of its own
    (--judge-model, --role-model ROLE=SPEC, or [roles.ROLE] in the config file).
    """
    from coscientist.schemas import ResearchPlan
    from coscientist.session import CoScientist

    if not goal.strip():
        fail("the research goal is empty: say what you want to find out")
    settings_opts = dict(
        model=model,
        base_url=base_url,
        concurrency=concurrency,
        queue_depth=queue_depth,
        seed=seed,
        threads=threads,
        literature=literature,
        embedder=embedder,
    )
    settings = roles_cli.with_roles(
        make_settings(db=db, **settings_opts),
        role_model=role_model,
        role_base_url=role_base_url,
        role_concurrency=role_concurrency,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
    )
    cs = CoScientist(settings)
    limits = _limits(
        max_calls=max_calls,
        max_hypotheses=max_hypotheses,
        time_limit=time_limit,
        max_cost=max_cost,
        stop_confidence=confidence,
        stop_min_gain=min_gain,
    )
    given = ResearchPlan(
        preferences=[p for p in preference or [] if p.strip()],
        constraints=[c for c in constraint or [] if c.strip()],
    )
    # The goal's safety screen, then the model preflight: both fail before a session exists.
    session = cs.start(goal, limits=limits, plan=given)
    out.print(
        f"session [bold]{session.id}[/] in {console_markup(cs.store.url_display)}", highlight=False
    )
    _drive(cs, session, limits, tui=tui, verbose=verbose, db_given=db is not None)


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: DbOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: ConcOpt = None,
    queue_depth: QueueOpt = None,
    max_calls: CallsOpt = None,
    max_hypotheses: HypOpt = None,
    time_limit: TimeOpt = None,
    max_cost: CostOpt = None,
    confidence: ConfOpt = None,
    min_gain: GainOpt = None,
    threads: ThreadsOpt = None,
    embedder: EmbedderOpt = None,
    role_base_url: roles_cli.RoleUrlOpt = None,
    judge_base_url: roles_cli.JudgeUrlOpt = None,
    tui: TuiOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Continue a session where it stopped (or was killed): its model and limits are remembered.

    The models are checked before the session is marked running; a new --base-url,
    --judge-base-url or --role-base-url is stored only once that check passed. A role's
    model stays the session's own (its ratings belong to its judge).
    """
    from coscientist.session import CoScientist

    moves = roles_cli.endpoint_moves(role_base_url, judge_base_url)
    settings = make_settings(
        db=db,
        base_url=base_url,  # in full: the store masks a URL's password, the run needs it
        concurrency=concurrency,
        queue_depth=queue_depth,
        threads=threads,
        embedder=embedder,
    )
    cs = CoScientist(roles_cli.with_moves(settings, moves))
    session = cs.session(session_id)
    limits = _limits(
        max_calls=max_calls,
        max_hypotheses=max_hypotheses,
        time_limit=time_limit,
        max_cost=max_cost,
        stop_confidence=confidence,
        stop_min_gain=min_gain,
    )
    if base_url:
        session.use_base_url(base_url)
    if moves:
        session.use_role_base_urls(moves)
    out.print(
        f"resuming session [bold]{session.id}[/]: {console_markup(session.info.goal)}",
        highlight=False,
    )
    _drive(cs, session, limits, tui=tui, verbose=verbose, db_given=db is not None)


def _drive(
    cs: Any, session: Any, limits: Limits, *, tui: bool, verbose: bool, db_given: bool
) -> None:
    calls_before = _calls(cs, session.id)
    error: str | None = None
    if tui:
        from coscientist.tui import run_tui

        run_tui(cs, session, limits)
        _print_leaderboard(session.leaderboard(top=10), title="Top hypotheses")
    else:
        from coscientist.progress import run_with_progress

        summary = anyio.run(partial(run_with_progress, session, limits, out, verbose=verbose))
        cost = float(cs.store.call_stats(session.id).get("cost_usd", 0.0))
        out.print(
            f"stopped: {summary.stop_reason} after {summary.elapsed_s:.1f} s: "
            f"{summary.calls} model calls{f' ({cost:.4f} USD)' if cost else ''}, "
            f"{summary.hypotheses} hypotheses, {summary.matches} matches",
            highlight=False,
            markup=False,
        )
        _print_leaderboard(session.leaderboard(top=10), title="Top hypotheses")
        error = summary.error
    _print_next_steps(cs, session, calls_before=calls_before, db_given=db_given)
    if error:  # a fault stopped the run (a bug, an unreachable model): say so, exit 1
        fail_run(error, session.id)


def _calls(cs: Any, session_id: str) -> int:
    return int(cs.store.call_stats(session_id).get("calls", 0))


def _print_next_steps(cs: Any, session: Any, *, calls_before: int, db_given: bool) -> None:
    from coscientist.run_status import next_steps
    from coscientist.session import DEFAULT_MAX_CALLS

    info = session.info
    calls = _calls(cs, info.id)
    steps = next_steps(
        program_name(),
        info.id,
        stop_reason=info.stop_reason or "stopped",
        calls=calls,
        limits=Limits(**info.limits),
        run_calls=calls - calls_before,
        db=cs.store.url_display if db_given else None,
        default_calls=DEFAULT_MAX_CALLS,
    )
    width = max(len(step.command) for step in steps)
    out.print("next:", style="bold")
    for step in steps:
        line = f"  {step.command:<{width}}  # {step.why}"  # a shell comment: pasting is safe
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def program_name() -> str:
    """How the user called us: `coscientist`, or a path such as `.venv/bin/coscientist`
    when the environment is not activated, so the commands printed work as shown."""
    called = sys.argv[0] if sys.argv else ""
    if Path(called).name != "coscientist" or Path(called).parent == Path():
        return "coscientist"
    on_path = shutil.which("coscientist")
    if on_path is not None and Path(on_path).resolve() == Path(called).resolve():
        return "coscientist"
    return called


def fail_run(error: str, session_id: str) -> NoReturn:
    say_error(
        f"the run stopped early: {error}; fix the cause, then `coscientist resume {session_id}`"
    )
    raise typer.Exit(1)


# --- reading -----------------------------------------------------------------------------


@app.command()
def sessions(db: DbOpt = None) -> None:
    """List the sessions in the store, newest first, one per line, id first."""
    cs = _open(db)
    for info in cs.sessions():
        n = cs.store.count_hypotheses(info.id)
        created = info.created_at.strftime("%Y-%m-%d %H:%M")
        goal = printable(one_line(info.goal))
        print(f"{info.id}\t{info.status.value}\t{created}\t{n} hypotheses\t{goal[:80]}")


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: DbOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100_000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show a session's leaderboard."""
    from coscientist.reports.role_models import model_lines, model_use

    cs = _open(db)
    session = cs.session(session_id)
    board = session.leaderboard(top=top)
    confidence = session.confidence()
    if as_json:
        fields = (
            "id",
            "rank",
            "title",
            "statement",
            "mu",
            "sigma",
            "elo",
            "matches",
            "wins",
            "origin",
            "elo_mean",
            "elo_low",
            "elo_high",
            "rated_by",
            "in_top",
        )
        from coscientist.reports.literature import board_citations
        from coscientist.reports.summary import method_summary

        latest = cs.store.graph_series(session.id, limit=1)
        cited = board_citations(cs.store, session.id, [e.id for e in board])
        payload = {
            "session": session.info.model_dump(mode="json"),
            "confidence": confidence_summary(session.info, confidence),
            "leaderboard": [
                {**e.model_dump(mode="json", include=set(fields)), "citations": cited.get(e.id, [])}
                for e in board
            ],
            **method_summary(cs.store, session.id),
            # The graph's figures at its latest stored point (`coscientist graph` for more).
            "graph": latest[0].model_dump(mode="json") if latest else None,
            # Requested and used embedder, why it fell back, vectors stored per embedder.
            "embedder": cs.store.session_embedder(session.id),
            # Which model each role used, and the calls and tokens per model.
            "models": model_use(cs.store, session.info).model_dump(mode="json"),
            "answers": show_ask.answers_json(session.answers()),
        }
        print(json_text(json.dumps(payload, indent=2, ensure_ascii=False)))
        return
    from coscientist.reports.summary import method_summary

    info = session.info
    out.print(
        f"[bold]{info.id}[/] ({info.status.value}) {console_markup(info.goal)}", highlight=False
    )
    summary = method_summary(cs.store, session.id)
    show_text.print_plan(out, info.plan)
    _print_leaderboard(board, title="Leaderboard")
    if board:
        out.print(confidence_line(info, confidence), highlight=False)
    show_text.print_method(out, summary)
    for line in model_lines(model_use(cs.store, info)):
        out.print(line, highlight=False, markup=False)
    show_ask.print_count(out, session.answers(), f"{program_name()} answers {info.id}")


def _print_leaderboard(board: list[Any], *, title: str) -> None:
    rule = rank_rule(board[0].rated_by if board else "trueskill")
    table = Table(title=title, show_lines=False, caption=rule)
    for col in ("rank", "elo", "95% interval", "P(top)", "W-L", "id", "origin", "title"):
        table.add_column(col, overflow="fold")
    for e in board:  # Text cells: a title is never parsed as markup
        table.add_row(
            str(e.rank),
            f"{e.elo:.0f}",
            f"{e.elo_low:.0f}-{e.elo_high:.0f}",
            "" if e.in_top is None else f"{e.in_top:.2f}",
            f"{e.wins}-{e.matches - e.wins}",
            e.id,
            Text(printable(e.origin)),
            Text(printable(one_line(e.title))),
        )
    if not board:
        out.print("(no ranked hypotheses yet)")
    else:
        out.print(table)


@app.command()
def add(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    text: Annotated[str, typer.Argument(help="your hypothesis")],
    db: DbOpt = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
) -> None:
    """Add your own hypothesis to a session; it is reviewed and ranked like the others."""
    cs = _open(db)
    h = cs.session(session_id).add_hypothesis(text, title=title)
    print(h.id)


@app.command()
def plan(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: DbOpt = None,
    objective: Annotated[str | None, typer.Option("--objective")] = None,
    preference: PreferenceOpt = None,
    constraint: ConstraintOpt = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="what makes a good hypothesis here (repeatable)"),
    ] = None,
    out_of_scope: Annotated[
        list[str] | None, typer.Option("--out-of-scope", help="what not to pursue (repeatable)")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="TOML with objective, preferences, constraints, attributes, out_of_scope"
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="the lists given replace the stored ones")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show or edit a session's research plan; tasks that start afterwards use the new plan."""
    cs = _open(db)
    session = cs.session(session_id)
    given = show_text.read_plan_file(file) if file is not None else {}
    lists = {
        "preferences": [*given.get("preferences", []), *(preference or [])],
        "constraints": [*given.get("constraints", []), *(constraint or [])],
        "attributes": [*given.get("attributes", []), *(attribute or [])],
        "out_of_scope": [*given.get("out_of_scope", []), *(out_of_scope or [])],
    }
    new_objective = objective if objective is not None else given.get("objective")
    if new_objective is not None or any(lists.values()):
        session.update_plan(objective=new_objective, replace=replace, **lists)
    if as_json:
        print(json.dumps(session.plan.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    show_text.print_plan(out, session.plan)


@app.command()
def observe(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    text: Annotated[str, typer.Argument(help="a finding hypotheses should explain")],
    db: DbOpt = None,
) -> None:
    """Add an observation: observation reviews check top hypotheses against it."""
    cs = _open(db)
    observation = cs.session(session_id).add_observation(text)
    print(observation.id)


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    fmt: Annotated[str, typer.Option("--format", help="md, html, json or graphml")],
    output: Annotated[Path, typer.Option("--output", help="file to write")],
    db: DbOpt = None,
) -> None:
    """Export a session as a report (Markdown, HTML, JSON) or its knowledge graph (GraphML)."""
    from coscientist.progress import status
    from coscientist.reports import FORMATS, export_session

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    cs = _open(db)
    session = cs.session(session_id)
    with status(err, f"exporting session {session.id} as {fmt}", quiet_below=SLOW_STEP_SECONDS):
        path = export_session(cs.store, session.id, fmt, output)
    print(path)


@app.command()
def graph(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: DbOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100_000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Knowledge-graph figures of a session: size, power law, communities, hubs, bridges, growth."""
    from coscientist.progress import status
    from coscientist.reports.knowledge import knowledge_part
    from coscientist.reports.text import graph_lines

    cs = _open(db)
    session = cs.session(session_id)
    with status(err, "computing the graph metrics", quiet_below=SLOW_STEP_SECONDS):
        part = knowledge_part(cs.store, session.id, session.info.seed, k=top)
    if as_json:
        print(json_text(json.dumps(part.model_dump(mode="json"), indent=2, ensure_ascii=False)))
        return
    for line in graph_lines(part):
        print(printable(line))  # concept names are model text


@app.command()
def ask(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="about the session")],
    db: DbOpt = None,
    base_url: BaseUrlOpt = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="apply the follow-up the answer proposes, if any")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Ask the session a question: answered from its stored state, citing hypothesis ids.

    The answer is stored with the session (`coscientist answers`). It may propose a
    follow-up (a refined goal, a plan preference, a review or a new hypothesis):
    --apply takes it at once, or the command printed takes it later.
    """
    from coscientist.conversation import check_question
    from coscientist.progress import status

    check_question(question)  # an empty question fails before the store is opened
    cs = _open(db)
    session = cs.session(session_id)
    if base_url:
        session.use_base_url(base_url)
    with status(err, f"asking {session.info.model_spec}", quiet_below=SLOW_STEP_SECONDS):
        answer = anyio.run(session.ask, question)
    if apply and answer.follow_up is not None:
        answer = session.apply_follow_up(answer.id)
    if as_json:
        print(json_text(json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=False)))
        return
    _print_answers(cs, session, [answer], db_given=db is not None)
    if apply and answer.follow_up is None:
        out.print("nothing to apply: the answer proposes no follow-up", highlight=False)


@app.command()
def answers(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: DbOpt = None,
    apply: Annotated[
        str | None, typer.Option("--apply", metavar="ANSWER", help="apply this answer's follow-up")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The questions asked about a session and their answers, oldest first."""
    cs = _open(db)
    session = cs.session(session_id)
    if apply is not None:
        _print_answers(cs, session, [session.apply_follow_up(apply)], db_given=db is not None)
        return
    found = session.answers()
    if as_json:
        print(json_text(json.dumps(show_ask.answers_json(found), indent=2, ensure_ascii=False)))
        return
    _print_answers(cs, session, found, db_given=db is not None)


def _print_answers(cs: Any, session: Any, found: list[Any], *, db_given: bool) -> None:
    titles = {h.id: h.title for h in session.hypotheses()}
    command = f"{program_name()} answers {session.id} --apply {{}}"
    if db_given:
        command += f" --db {cs.store.url_display}"
    show_ask.print_answers(out, found, titles, command)


@app.command()
def tui(
    session_id: Annotated[str | None, typer.Argument(metavar="[SESSION]")] = None,
    db: DbOpt = None,
) -> None:
    """Browse sessions in the terminal UI (watch a running one live)."""
    from coscientist.tui import browse

    cs = _open(db)
    browse(cs, session_id)


@app.command()
def worker(
    db: DbOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    concurrency: ConcOpt = None,
    threads: ThreadsOpt = None,
    idle_exit: Annotated[
        float | None,
        typer.Option("--idle-exit", min=0, help="exit after SECONDS with nothing to claim"),
    ] = None,
) -> None:
    """Claim and run tasks of running sessions from a shared store (scale-out).

    Sessions started with --queue-depth N queue tasks for workers. A worker runs
    each task on the session's own model, within the session's call budget.
    """
    from coscientist.scheduler.worker import SessionWork, run_worker

    cs = _open(db, model=model, base_url=base_url, concurrency=concurrency, threads=threads)

    def report(work: SessionWork) -> None:
        print(
            f"session {work.session_id}: {work.tasks_done} tasks done, "
            f"{work.tasks_failed} failed ({work.stop_reason})",
            flush=True,
        )

    print(f"worker on {printable(cs.store.url_display)}", flush=True)
    summary = anyio.run(partial(run_worker, cs, idle_exit=idle_exit, on_session=report))
    print(f"worker done: {summary.tasks_done} tasks done, {summary.tasks_failed} failed")


@app.command()
def doctor(
    db: DbOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    threads: ThreadsOpt = None,
    role_model: roles_cli.RoleModelOpt = None,
    role_base_url: roles_cli.RoleUrlOpt = None,
    role_concurrency: roles_cli.RoleConcOpt = None,
    judge_model: roles_cli.JudgeModelOpt = None,
    judge_base_url: roles_cli.JudgeUrlOpt = None,
) -> None:
    """Which backends work here, where the store is, and for every model the roles use (the
    options of `run`, [roles.ROLE] in the config file) the preflight and a structured call."""
    from coscientist.doctor import run_doctor

    settings = roles_cli.with_roles(
        make_settings(db=db, model=model, base_url=base_url, threads=threads),
        role_model=role_model,
        role_base_url=role_base_url,
        role_concurrency=role_concurrency,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
    )
    ok = anyio.run(run_doctor, settings, out)
    if not ok:
        raise typer.Exit(1)


def main() -> None:
    run_app(app, sys.argv[1:])


if __name__ == "__main__":
    main()
