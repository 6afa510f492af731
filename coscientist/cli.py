"""The command line: thin. Parses options, calls coscientist.session, prints.

Every CoscientistError (and bad input of any kind) ends as one line on stderr
and exit code 2, never a traceback; an unexpected error is one line, exit code 1,
and a log file with the traceback (cli_errors.py). Text from the store (goals,
titles, graph labels: model and scientist text) is printed through safe_text,
never as markup or raw control characters. The options live in cli_options.py;
what a command prints beyond a line or two, in the other cli_*.py modules.
Those, and everything behind them (the store, the ranking, the reports), are
imported by the commands that use them, so `--help` and a bad option answer
without loading the whole package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import anyio
import typer

from coscientist import cli_options as opts
from coscientist import cli_roles as roles_cli
from coscientist.cli_errors import fail, run_app
from coscientist.cli_options import limits_from, make_settings, open_coscientist
from coscientist.cli_output import SLOW_STEP_SECONDS, err, out
from coscientist.safe_text import console_markup, json_text

app = typer.Typer(
    name="coscientist",
    help="An open AI co-scientist: hypotheses generated, reviewed, debated in a rated tournament, evolved.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# --- running ---------------------------------------------------------------------------


@app.command()
def run(
    goal: Annotated[str, typer.Argument(metavar="GOAL", help="the research goal, in plain words")],
    db: opts.DbOpt = None,
    model: opts.ModelOpt = None,
    base_url: opts.BaseUrlOpt = None,
    concurrency: opts.ConcOpt = None,
    queue_depth: opts.QueueOpt = None,
    max_calls: opts.CallsOpt = None,
    max_hypotheses: opts.HypOpt = None,
    time_limit: opts.TimeOpt = None,
    max_cost: opts.CostOpt = None,
    confidence: opts.ConfOpt = None,
    min_gain: opts.GainOpt = None,
    seed: opts.SeedOpt = None,
    threads: opts.ThreadsOpt = None,
    embedder: opts.EmbedderOpt = None,
    literature: Annotated[
        bool | None,
        typer.Option(
            "--literature/--no-literature",
            help="search arXiv, PubMed and Europe PMC and check citations "
            "(default: on when they answer a preflight request)",
        ),
    ] = None,
    preference: opts.PreferenceOpt = None,
    constraint: opts.ConstraintOpt = None,
    role_model: roles_cli.RoleModelOpt = None,
    role_base_url: roles_cli.RoleUrlOpt = None,
    role_concurrency: roles_cli.RoleConcOpt = None,
    judge_model: roles_cli.JudgeModelOpt = None,
    judge_base_url: roles_cli.JudgeUrlOpt = None,
    tui: opts.TuiOpt = False,
    verbose: opts.VerboseOpt = False,
) -> None:
    """Start a research session on GOAL and run it until a limit is reached.

    The goal passes a safety review before anything else; the first model call turns it
    into a research plan (see `coscientist plan`), which keeps your --preference and
    --constraint items.

    The model is checked first (an endpoint must answer, take the key and serve the
    model): if it cannot serve, nothing is stored. Each role may have a model of its own
    (--judge-model, --role-model ROLE=SPEC, or [roles.ROLE] in the config file).
    """
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
    limits = limits_from(
        max_calls=max_calls,
        max_hypotheses=max_hypotheses,
        time_limit=time_limit,
        max_cost=max_cost,
        stop_confidence=confidence,
        stop_min_gain=min_gain,
    )
    # Bad options have failed by now; only then the package behind a run is loaded.
    from coscientist.cli_run import drive
    from coscientist.schemas import ResearchPlan
    from coscientist.session import CoScientist

    cs = CoScientist(settings)
    given = ResearchPlan(
        preferences=[p for p in preference or [] if p.strip()],
        constraints=[c for c in constraint or [] if c.strip()],
    )
    # The goal's safety screen, then the model preflight: both fail before a session exists.
    session = cs.start(goal, limits=limits, plan=given)
    out.print(
        f"session [bold]{session.id}[/] in {console_markup(cs.store.url_display)}", highlight=False
    )
    drive(cs, session, limits, tui=tui, verbose=verbose, db_given=db is not None)


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: opts.DbOpt = None,
    base_url: opts.BaseUrlOpt = None,
    concurrency: opts.ConcOpt = None,
    queue_depth: opts.QueueOpt = None,
    max_calls: opts.CallsOpt = None,
    max_hypotheses: opts.HypOpt = None,
    time_limit: opts.TimeOpt = None,
    max_cost: opts.CostOpt = None,
    confidence: opts.ConfOpt = None,
    min_gain: opts.GainOpt = None,
    threads: opts.ThreadsOpt = None,
    embedder: opts.EmbedderOpt = None,
    role_base_url: roles_cli.RoleUrlOpt = None,
    judge_base_url: roles_cli.JudgeUrlOpt = None,
    tui: opts.TuiOpt = False,
    verbose: opts.VerboseOpt = False,
) -> None:
    """Continue a session where it stopped (or was killed): its model and limits are remembered.

    The models are checked before the session is marked running; a new --base-url,
    --judge-base-url or --role-base-url is stored only once that check passed. A role's
    model stays the session's own (its ratings belong to its judge).
    """
    moves = roles_cli.endpoint_moves(role_base_url, judge_base_url)
    settings = make_settings(
        db=db,
        base_url=base_url,  # in full: the store masks a URL's password, the run needs it
        concurrency=concurrency,
        queue_depth=queue_depth,
        threads=threads,
        embedder=embedder,
    )
    limits = limits_from(
        max_calls=max_calls,
        max_hypotheses=max_hypotheses,
        time_limit=time_limit,
        max_cost=max_cost,
        stop_confidence=confidence,
        stop_min_gain=min_gain,
    )
    from coscientist.cli_run import drive
    from coscientist.session import CoScientist

    cs = CoScientist(roles_cli.with_moves(settings, moves))
    session = cs.session(session_id)
    if base_url:
        session.use_base_url(base_url)
    if moves:
        session.use_role_base_urls(moves)
    out.print(
        f"resuming session [bold]{session.id}[/]: {console_markup(session.info.goal)}",
        highlight=False,
    )
    drive(cs, session, limits, tui=tui, verbose=verbose, db_given=db is not None)


# --- reading -----------------------------------------------------------------------------


@app.command()
def sessions(db: opts.DbOpt = None) -> None:
    """List the sessions in the store, newest first, one per line, id first."""
    from coscientist.cli_show import print_sessions

    print_sessions(open_coscientist(db))


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: opts.DbOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100_000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Show a session's leaderboard."""
    from coscientist.cli_show import show_session

    cs = open_coscientist(db)
    show_session(cs, cs.session(session_id), top=top, as_json=as_json)


@app.command()
def add(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    text: Annotated[str, typer.Argument(help="your hypothesis")],
    db: opts.DbOpt = None,
    title: Annotated[str | None, typer.Option("--title")] = None,
) -> None:
    """Add your own hypothesis to a session; it is reviewed and ranked like the others."""
    cs = open_coscientist(db)
    h = cs.session(session_id).add_hypothesis(text, title=title)
    print(h.id)


@app.command()
def plan(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: opts.DbOpt = None,
    objective: Annotated[str | None, typer.Option("--objective")] = None,
    preference: opts.PreferenceOpt = None,
    constraint: opts.ConstraintOpt = None,
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
    from coscientist import cli_method as show_text

    cs = open_coscientist(db)
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
    db: opts.DbOpt = None,
) -> None:
    """Add an observation: observation reviews check top hypotheses against it."""
    cs = open_coscientist(db)
    observation = cs.session(session_id).add_observation(text)
    print(observation.id)


@app.command()
def export(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    fmt: Annotated[str, typer.Option("--format", help="md, html, json or graphml")],
    output: Annotated[Path, typer.Option("--output", help="file to write")],
    db: opts.DbOpt = None,
) -> None:
    """Export a session as a report (Markdown, HTML, JSON) or its knowledge graph (GraphML)."""
    from coscientist.progress import status
    from coscientist.reports import FORMATS, export_session

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    cs = open_coscientist(db)
    session = cs.session(session_id)
    with status(err, f"exporting session {session.id} as {fmt}", quiet_below=SLOW_STEP_SECONDS):
        path = export_session(cs.store, session.id, fmt, output)
    print(path)


@app.command()
def graph(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: opts.DbOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, max=100_000)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Knowledge-graph figures of a session: size, power law, communities, hubs, bridges, growth."""
    from coscientist.cli_show import show_graph

    cs = open_coscientist(db)
    show_graph(cs, cs.session(session_id), top=top, as_json=as_json)


@app.command()
def ask(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="about the session")],
    db: opts.DbOpt = None,
    base_url: opts.BaseUrlOpt = None,
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
    from coscientist import cli_ask as show_ask
    from coscientist.conversation import check_question
    from coscientist.progress import status

    check_question(question)  # an empty question fails before the store is opened
    cs = open_coscientist(db)
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
    show_ask.print_session_answers(cs, session, [answer], db_given=db is not None)
    if apply and answer.follow_up is None:
        out.print("nothing to apply: the answer proposes no follow-up", highlight=False)


@app.command()
def answers(
    session_id: Annotated[str, typer.Argument(metavar="SESSION")],
    db: opts.DbOpt = None,
    apply: Annotated[
        str | None, typer.Option("--apply", metavar="ANSWER", help="apply this answer's follow-up")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The questions asked about a session and their answers, oldest first."""
    from coscientist import cli_ask as show_ask

    cs = open_coscientist(db)
    session = cs.session(session_id)
    if apply is not None:
        show_ask.print_session_answers(
            cs, session, [session.apply_follow_up(apply)], db_given=db is not None
        )
        return
    found = session.answers()
    if as_json:
        print(json_text(json.dumps(show_ask.answers_json(found), indent=2, ensure_ascii=False)))
        return
    show_ask.print_session_answers(cs, session, found, db_given=db is not None)


@app.command()
def tui(
    session_id: Annotated[str | None, typer.Argument(metavar="[SESSION]")] = None,
    db: opts.DbOpt = None,
) -> None:
    """Browse sessions in the terminal UI (watch a running one live)."""
    from coscientist.tui import browse

    cs = open_coscientist(db)
    browse(cs, session_id)


@app.command()
def worker(
    db: opts.DbOpt = None,
    model: opts.ModelOpt = None,
    base_url: opts.BaseUrlOpt = None,
    concurrency: opts.ConcOpt = None,
    threads: opts.ThreadsOpt = None,
    idle_exit: Annotated[
        float | None,
        typer.Option("--idle-exit", min=0, help="exit after SECONDS with nothing to claim"),
    ] = None,
) -> None:
    """Claim and run tasks of running sessions from a shared store (scale-out).

    Sessions started with --queue-depth N queue tasks for workers. A worker runs
    each task on the session's own model, within the session's call budget.
    """
    from coscientist.cli_run import run_worker_printing

    cs = open_coscientist(
        db, model=model, base_url=base_url, concurrency=concurrency, threads=threads
    )
    run_worker_printing(cs, idle_exit)


@app.command()
def doctor(
    db: opts.DbOpt = None,
    model: opts.ModelOpt = None,
    base_url: opts.BaseUrlOpt = None,
    threads: opts.ThreadsOpt = None,
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
