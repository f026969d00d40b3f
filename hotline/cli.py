"""The `hotline` command."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import timedelta
from functools import partial
from pathlib import Path
from types import FrameType

from foundation import logs
from foundation.errors import DomainError
from foundation.settings import VOSK_MODEL_NAME, Settings

log = logging.getLogger("hotline")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "api_port", None):
        overrides["api_port"] = args.api_port
    if getattr(args, "agi_port", None):
        overrides["agi_port"] = args.agi_port
    if getattr(args, "simulate", False):
        overrides["simulated_parties"] = True
    return Settings(**overrides)


def cmd_setup(args: argparse.Namespace) -> int:
    from hotline.asterisk import render_config
    from hotline.stack import prepare

    settings = _settings(args)
    prepare(settings)
    render_config(settings)
    print(f"home: {settings.home}  database: migrated  prompts: rendered  asterisk config: rendered")
    if args.skip_model:
        return 0
    _install_vosk(settings)
    _install_whisper(settings)
    from asr.engine import load_engine

    engine = load_engine(settings)  # what `hotline up` will serve calls with
    print(f"speech recognition: {engine.status}" + ("" if engine.available else
          " Calls are recorded and marked for operator transcription."))
    close = getattr(engine, "close", None)
    if close is not None:
        close()
    return 0


def _install_vosk(settings: Settings) -> None:
    from asr.model import ModelUnavailable, ensure_model
    from foundation.settings import VOSK_MODEL_SHA256, VOSK_MODEL_SIZE

    try:
        def progress(done: int, total: int) -> None:
            print(f"\rdownloading {VOSK_MODEL_NAME}: {done * 100 // max(total, 1)}%", end="", flush=True)

        path = ensure_model(settings.vosk_model_dir, settings.vosk_model_url, VOSK_MODEL_SHA256,
                            VOSK_MODEL_SIZE, progress)
        print(f"\nVosk model ready at {path} (SHA-256 verified)")
    except ModelUnavailable as e:
        print(f"\nVosk model not installed: {e}. Whisper serves instead where its model is installed.")


def _install_whisper(settings: Settings) -> None:
    from asr.whisper_install import ModelInstallError, ensure_whisper_base

    if settings.whisper_model_path is not None:
        return  # the city's own converted Whisper (small, medium, large-v3 …): nothing to install
    try:
        path = ensure_whisper_base(settings.whisper_model_dir)
        print(f"Whisper base model ready at {path} (SHA-256 verified)")
    except (ModelInstallError, OSError) as e:
        print(f"Whisper model not installed: {e}. Calls are recorded and marked for operator transcription.")


def cmd_asr_service(args: argparse.Namespace) -> int:
    from hotline.roots import build_recognition_service

    settings = _settings(args)
    service = build_recognition_service(settings)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.shutdown()
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    """PATH<TAB>TEXT per file, through the recognition service if one runs, else in this process."""
    from asr.transcribe import transcribe_files
    from hotline.roots import build_recognition_client

    settings = _settings(args)
    failed = 0
    for path, text, error in transcribe_files(settings, [Path(a) for a in args.audio],
                                              remote=build_recognition_client(settings) if settings.asr_service
                                              else None):
        if error:
            failed += 1
            print(f"hotline transcribe: {path}: {error}", file=sys.stderr)
        print(f"{path}\t{text}", flush=True)
    return 1 if failed else 0


def cmd_up(args: argparse.Namespace) -> int:
    from hotline.stack import Stack

    settings = _settings(args)
    stack = Stack(settings)
    stack.start()
    print(f"hotline up: API {stack.api_url}  FastAGI {settings.agi_host}:{settings.agi_port}  "
          f"AMI {settings.ami_host}:{settings.ami_port}  home {settings.home}", flush=True)
    return stack.wait()


def cmd_agi_server(args: argparse.Namespace) -> int:
    from hotline.roots import build_agi_server, build_journal_watcher

    settings = _settings(args)
    server = build_agi_server(settings, mode=args.mode)
    replayer = build_journal_watcher(settings)  # journals of calls made while the database was down

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    log.info("FastAGI listening on %s:%d", settings.agi_host, server.bound_port)
    replayer.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        replayer.stop()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from functools import cache

    from callbacks.rules import WorkflowDeps
    from foundation.db import open_database
    from ivr_flows.replay import LazyClassifier, replay_journal
    from routing.classify import Router

    settings = _settings(args)
    db = open_database(settings.db_url)
    try:
        report = replay_journal(db.session_factory, settings.journal_dir,
                                router=LazyClassifier(lambda: Router.load(settings.router_model_file)),
                                deps=cache(lambda: WorkflowDeps.load(settings.deadline_policy_path)))
    finally:
        db.engine.dispose()
    print(report.summary(), flush=True)
    return 1 if report.waiting or report.rejected else 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from hotline.roots import build_api

    settings = _settings(args)
    # Open console pages hold SSE streams that never finish: stop waiting for them after a moment.
    uvicorn.run(build_api(settings), host=settings.api_host, port=settings.api_port, log_level="warning",
                timeout_graceful_shutdown=2)
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    from escalation.scheduler import run_forever
    from hotline.roots import build_escalation_runner

    settings = _settings(args)
    runner = build_escalation_runner(settings)
    if args.once:
        runner.check_schema()
        print(runner.tick().summary(), flush=True)
        return 0
    run_forever(runner, interval_s=settings.scheduler_interval_s)
    return 0


def cmd_dialer(args: argparse.Namespace) -> int:
    import threading

    from hotline.roots import build_dialer, build_leader_lock
    from hotline.singleton import run_as_leader

    settings = _settings(args)
    dialer = build_dialer(settings)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("callback dialer %s started; waiting to lead", dialer.dialer_id)
    try:
        # One active dialer per installation (PostgreSQL advisory lock); others stand by. The claims
        # in the database already make two active dialers safe; the election keeps pacing global.
        lost = run_as_leader(build_leader_lock(settings, "dialer"), dialer.run, stop=stop)
    finally:
        dialer.close()
    return 3 if lost else 0


def cmd_report(args: argparse.Namespace) -> int:
    from reports.cli import run_report

    run_report(_settings(args), period=args.period, day=args.date, out=Path(args.out) if args.out else None,
               pdf=not args.no_pdf)
    return 0


def cmd_cdr_import(args: argparse.Namespace) -> int:
    from reports.cli import import_cdrs

    result = import_cdrs(_settings(args), Path(args.file) if args.file else None)
    print(result.summary())
    return 1 if result.rejected else 0


def cmd_call(args: argparse.Namespace) -> int:
    from hotline.simcall import place_call

    settings = _settings(args)
    result = place_call(settings, Path(args.audio), caller=args.caller, dialed=args.dialed,
                        then=args.then or [], timeout_s=args.timeout)
    print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    return 0


def cmd_router(args: argparse.Namespace) -> int:
    from routing import cli as rcli

    settings = _settings(args)
    model_file = Path(args.model) if args.model else settings.router_model_file
    if args.router_cmd == "train":
        from tickets.routing_decisions import read_decisions

        return rcli.cmd_train(args.csv, args.text_col, args.label_col, model_file,
                              decisions=partial(read_decisions, settings.db_url) if args.from_tickets else None)
    return rcli.cmd_eval(args.csv, args.text_col, args.label_col, model_file)


def cmd_classify(args: argparse.Namespace) -> int:
    from routing import cli as rcli

    settings = _settings(args)
    return rcli.cmd_classify(args.text, settings.router_model_file, dialed_number=args.dialed)


def cmd_user(args: argparse.Namespace) -> int:
    import secrets as pysecrets

    from accounts import service as accounts
    from foundation.db import open_database, transaction
    from hotline.stack import prepare

    settings = _settings(args)
    prepare(settings)
    db = open_database(settings.db_url)
    with transaction(db.session_factory) as session:
        if args.user_cmd == "add":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else pysecrets.token_urlsafe(12)
            user = accounts.create_user(session, username=args.username, password=password, role=args.role,
                                        department=args.department, display_name=args.name)
            print(json.dumps({"username": user.username, "role": user.role, "department": user.department,
                              **({} if args.password_stdin else {"password": password})}, ensure_ascii=False))
        else:
            user_id = accounts.user_id(session, username=args.username)
            print(accounts.issue_token(session, user_id=user_id, ttl=timedelta(days=args.days)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hotline.demo import run_demo

    return run_demo(_settings(args), keep_running=not args.exit, speech=Path(args.speech) if args.speech else None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="12345 government service hotline")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("setup", help="create HOTLINE_HOME, migrate, render prompts, install the speech models")
    s.add_argument("--skip-model", action="store_true")
    s.set_defaults(func=cmd_setup)

    s = sub.add_parser("asr-service", help="run the host's recognition service (owns the speech model)")
    s.set_defaults(func=cmd_asr_service)

    s = sub.add_parser("transcribe", help="transcribe audio files; prints PATH<TAB>TEXT per file")
    s.add_argument("audio", nargs="+", help="WAV files of any common rate")
    s.set_defaults(func=cmd_transcribe)

    s = sub.add_parser("up", help="run the whole stack in the foreground")
    s.add_argument("--api-port", type=int)
    s.add_argument("--agi-port", type=int)
    s.add_argument("--simulate", action="store_true",
                   help="operators and emergency lines are simulated answering parties")
    s.set_defaults(func=cmd_up)

    s = sub.add_parser("agi-server", help="run only the FastAGI server")
    s.add_argument("--agi-port", type=int)
    s.add_argument("--mode", choices=["fork", "thread"], default="fork")
    s.set_defaults(func=cmd_agi_server)

    s = sub.add_parser("replay", help="write call journals (intake, overflow, survey) kept while the database "
                                      "was down into it (the AGI server also does it at start and every few seconds)")
    s.set_defaults(func=cmd_replay)

    s = sub.add_parser("api", help="run only the HTTP API")
    s.add_argument("--api-port", type=int)
    s.set_defaults(func=cmd_api)

    s = sub.add_parser("scheduler", help="run the overdue sweep (督办) and notification delivery every "
                                         "HOTLINE_SCHEDULER_INTERVAL_S seconds")
    s.add_argument("--once", action="store_true", help="one sweep and one delivery pass, then exit")
    s.set_defaults(func=cmd_scheduler)

    s = sub.add_parser("dialer", help="run the satisfaction callback dialer (回访) over AMI")
    s.set_defaults(func=cmd_dialer)

    # Reports (issue 6): the briefing report and the import of Asterisk's call records behind 接通率.
    s = sub.add_parser("report", help="write report.html and report.pdf for a day, week or month")
    s.add_argument("--period", choices=["day", "week", "month"], default="day")
    s.add_argument("--date", help="any day of the period, YYYY-MM-DD (default: today, Asia/Shanghai)")
    s.add_argument("--out", help="output folder (default: HOTLINE_HOME/reports/<period>-<first day>)")
    s.add_argument("--no-pdf", action="store_true", help="HTML only")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("cdr-import", help="import new Asterisk CDRs (cdr-csv/Master.csv) into call_records")
    s.add_argument("--file", help="a Master.csv (default: the stack's, under HOTLINE_HOME/asterisk/log)")
    s.set_defaults(func=cmd_cdr_import)

    s = sub.add_parser("call", help="place a simulated call into a running stack; prints the ticket")
    s.add_argument("audio", help="the caller's first utterance (any WAV)")
    s.add_argument("--caller", default="13800138000")
    s.add_argument("--dialed", default="12345")
    s.add_argument("--then", nargs="*", metavar="STEP",
                   help="answers to the next prompts: AUDIO.wav, dtmf:DIGITS, silence:SECONDS, or hangup "
                        "(at once, while the previous step is still being recorded)")
    s.add_argument("--timeout", type=float, default=180)
    s.set_defaults(func=cmd_call)

    s = sub.add_parser("router", help="train or evaluate the department router")
    rs = s.add_subparsers(dest="router_cmd", required=True)
    for name in ("train", "eval"):
        r = rs.add_parser(name)
        r.add_argument("--csv", required=name == "eval")
        if name == "train":
            r.add_argument("--from-tickets", action="store_true",
                           help="also learn from operators' corrections, 退单 and re-dispatches in the database")
        r.add_argument("--text-col", default="text")
        r.add_argument("--label-col", default="label")
        r.add_argument("--model", help="model file (default: HOTLINE_HOME/models/router.joblib)")
    s.set_defaults(func=cmd_router)

    s = sub.add_parser("classify", help="classify one request; prints JSON")
    s.add_argument("text")
    s.add_argument("--dialed")
    s.set_defaults(func=cmd_classify)

    s = sub.add_parser("user", help="add a user, or issue a long-lived token (for Open311 clients, scripts)")
    us = s.add_subparsers(dest="user_cmd", required=True)
    u = us.add_parser("add")
    u.add_argument("username")
    u.add_argument("--role", required=True, choices=["operator", "dispatcher", "department", "system", "admin"])
    u.add_argument("--department", help="the unit code of a department user (GET /api/units lists them)")
    u.add_argument("--name", default="", help="display name")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin "
                   "(default: generate one and print it once)")
    u = us.add_parser("token")
    u.add_argument("username")
    u.add_argument("--days", type=int, default=365)
    s.set_defaults(func=cmd_user)

    s = sub.add_parser("demo", help="start the stack, place one simulated call, print the ticket")
    s.add_argument("--api-port", type=int)
    s.add_argument("--exit", action="store_true", help="stop the stack after the call")
    s.add_argument("--speech", help="a real recording of a citizen's request (any WAV); default: the shared "
                                    "evaluation clip beside the repository, if present")
    s.set_defaults(func=cmd_demo, simulate=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    logs.setup(settings.log_level, settings.logs_dir / "hotline.log", fmt=settings.log_format)
    try:
        return int(args.func(args))
    except DomainError as e:
        print(f"hotline: {e.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
