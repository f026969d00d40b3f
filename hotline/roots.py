"""Composition roots: each process builds its parts here, once."""

from __future__ import annotations

import logging
import multiprocessing
from typing import TYPE_CHECKING

from foundation.db import Database, make_engine, open_database
from foundation.notifications import Fanout, Notifier
from foundation.settings import Settings
from notify.channels import LogNotifier, WebhookNotifier

# Heavy parts (FastAPI, the speech engine, scikit-learn) are imported inside the function that needs
# them: the scheduler and the dialer start in a fraction of the time, and load none of them.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from agi.callback_dialer import Dialer
    from agi.server import FastAgiServer, Mode
    from asr.engine import AsrEngine
    from asr.service import RecognitionService
    from escalation.scheduler import EscalationRunner
    from foundation.leader import LeaderLock
    from ivr_flows.ports import CallServices
    from ivr_flows.replay import JournalWatcher
    from ivr_flows.survey import SurveyServices

log = logging.getLogger(__name__)


def build_call_services(settings: Settings, db: Database) -> CallServices:
    """Loads the heavy parts (router; the ASR model unless the host's recognition service owns it) once,
    before calls fork off."""
    from ivr_flows.ports import CallServices
    from prompts.render import PromptStore
    from routing import gist
    from routing.classify import Router

    asr = build_recognition_client(settings)
    log.log(logging.INFO if asr.available else logging.WARNING, "%s", asr.status)
    router = Router.load(settings.router_model_file)
    gist.warm()  # the read-back's dictionary, loaded before calls fork off
    prompts = PromptStore(settings.prompts_dir)
    return CallServices(settings=settings, session_factory=db.session_factory, prompts=prompts,
                        asr=asr, router=router)


def build_recognition_client(settings: Settings) -> AsrEngine:
    """What call processes recognise with: the host's recognition service, or an engine of their own."""
    from asr.client import RemoteEngine
    from asr.engine import load_engine

    if settings.asr_service:
        return RemoteEngine(settings.asr_socket, result_timeout_s=settings.asr_result_timeout_s)
    return load_engine(settings)


def build_recognition_service(settings: Settings) -> RecognitionService:
    """The `hotline asr-service` process: the one model on this host, served over a local socket."""
    from asr.engine import load_engine
    from asr.service import RecognitionService

    return RecognitionService(load_engine(settings), settings.asr_socket)


def build_agi_server(settings: Settings, *, mode: Mode = "fork") -> FastAgiServer:
    from agi.channel import HotlineAGI
    from agi.server import AgiRequest, FastAgiServer
    from ivr_flows.intake import run_intake

    db = open_database(settings.db_url)
    services = build_call_services(settings, db)

    def intake(agi: HotlineAGI, request: AgiRequest) -> None:
        env = request.env
        run_intake(agi, services, channel_name=env.get("agi_channel", ""),
                   uniqueid=env.get("agi_uniqueid", ""), caller=env.get("agi_callerid", ""),
                   dialed=env.get("agi_extension", ""))

    survey_services = _survey_services(settings, services)

    def survey(agi: HotlineAGI, request: AgiRequest) -> None:
        from ivr_flows.survey import run_survey

        run_survey(agi, survey_services, channel_name=request.channel, uniqueid=request.uniqueid)

    def overflow(agi: HotlineAGI, request: AgiRequest) -> None:
        from ivr_flows.overflow import run_overflow

        # agi_extension is "overflow" here: the number the citizen dialled is on the call's row.
        run_overflow(agi, services, channel_name=request.channel, uniqueid=request.uniqueid,
                     caller=request.env.get("agi_callerid", ""), dialed="")

    # Shared by every call process this server forks: at most agi_db_connections open at once.
    slots = multiprocessing.get_context("fork").BoundedSemaphore(settings.agi_db_connections)

    def after_fork() -> None:
        # Connections inherited from the parent must not be shared with it. The call gets its own engine
        # without a pool: a call writes a few short transactions over minutes, and a pooled connection
        # would hold a PostgreSQL backend per call in progress ("too many clients" at a peak).
        db.engine.dispose(close=False)
        call_engine = make_engine(settings.db_url, slots=slots, slot_wait_s=settings.agi_db_wait_s)
        db.session_factory.configure(bind=call_engine)

    routes = {"/intake": intake, "/survey": survey, "/overflow": overflow}
    return FastAgiServer(settings.agi_host, settings.agi_port, routes,
                         mode=mode, max_children=settings.agi_max_calls, after_fork=after_fork)


def _survey_services(settings: Settings, services: CallServices) -> SurveyServices:
    """Callbacks (回访): the survey applies outcomes through the ticket workflow, so it needs its rules."""
    from callbacks.rules import WorkflowDeps
    from ivr_flows.survey import SurveyServices

    return SurveyServices(calls=services, deps=WorkflowDeps.load(settings.deadline_policy_path))


def build_dialer(settings: Settings) -> Dialer:
    """The `hotline dialer` process: satisfaction callbacks over AMI (agi/callback_dialer.py)."""
    import os
    import socket

    from agi.ami import AmiClient
    from agi.callback_dialer import Dialer
    from callbacks.rules import CallbackRules, WorkflowDeps
    from hotline.asterisk import ami_secret_for

    rules = CallbackRules.from_settings(settings)  # bad calling hours stop the process here, clearly
    db = open_database(settings.db_url)
    ami = AmiClient(settings.ami_host, settings.ami_port, settings.ami_user, ami_secret_for(settings))
    return Dialer(settings=settings, session_factory=db.session_factory, ami=ami, rules=rules,
                  deps=WorkflowDeps.load(settings.deadline_policy_path),
                  dialer_id=settings.dialer_id or f"{socket.gethostname()}:{os.getpid()}")


def build_journal_watcher(settings: Settings) -> JournalWatcher:
    """The AGI server parent's trigger for `hotline replay` (faults, issue 7): intake journals kept
    while the database was down are written in at start and every few seconds. The database work
    runs in a subprocess: never SQLite in a thread of a process that forks per call."""
    import sys

    from ivr_flows.replay import JournalWatcher

    return JournalWatcher(settings.journal_dir, command=[sys.executable, "-m", "hotline.cli", "replay"],
                          interval_s=settings.journal_replay_interval_s)


def build_leader_lock(settings: Settings, name: str) -> LeaderLock:
    """The election of a singleton worker (scheduler, dialer) on its own small engine."""
    from foundation.leader import LeaderLock

    return LeaderLock(make_engine(settings.db_url), name, settings.home / "locks")


def build_notifier(settings: Settings) -> Fanout:
    notifiers: list[Notifier] = [LogNotifier()]
    if settings.webhook_url:
        notifiers.append(WebhookNotifier(settings.webhook_url, settings.webhook_secret))
    return Fanout(notifiers)


def build_api(settings: Settings) -> FastAPI:
    from api.app import create_app

    db = open_database(settings.db_url)
    app = create_app(settings, db.session_factory)
    _attach_console(app, settings, db)
    return app


def _attach_console(app: FastAPI, settings: Settings, db: Database) -> None:
    """Operator desk: the starter knowledge base on first start; the AMI queue follower running inside
    the API process, so a screen pop reaches the page with no database round trip; and on PostgreSQL
    the relay, so pages connected to another API instance get it too."""
    from sqlalchemy.exc import IntegrityError

    from agi.ami import AmiClient
    from agi.queue_feed import FollowerRunner
    from console.desk import Background, Desk, run_while_serving
    from console.relay import NotifyListener, Relay
    from foundation.db import libpq_dsn, transaction
    from hotline.asterisk import ami_secret_for
    from knowledge.service import seed_if_empty

    try:
        with transaction(db.session_factory) as s:
            seed_if_empty(s, catalog=app.state.catalog)
    except IntegrityError:
        log.info("knowledge base seeded by another API instance starting at the same time")
    dsn = libpq_dsn(db.engine)
    relay = Relay(app.state.console_hub, db.session_factory, notify=dsn is not None)
    app.state.console_relay = relay
    parts: list[Background] = []
    if dsn is not None:
        parts.append(NotifyListener(dsn, relay.receive))
    if settings.console_follow_ami:
        secret = ami_secret_for(settings)
        desk = Desk(db.session_factory, relay)
        parts.append(FollowerRunner(desk.follower, lambda: AmiClient(settings.ami_host, settings.ami_port,
                                                                     settings.ami_user, secret)))
    run_while_serving(app, *parts)


def build_escalation_runner(settings: Settings) -> EscalationRunner:
    """The `hotline scheduler` process: overdue sweep + outbox delivery through the configured notifiers,
    plus the early-warning sweep and the import of Asterisk's call records (接通率)."""
    from datetime import datetime

    from deadlines.policy import Policy
    from escalation.scheduler import EscalationRunner
    from foundation.db import transaction
    from reports import alerts, cdr
    from routing.catalog import load_catalog

    db = open_database(settings.db_url)
    fanout = build_notifier(settings)

    def early_warning(now: datetime) -> None:
        with transaction(db.session_factory) as session:
            alerts.sweep(session, now=now, notifier=fanout, settings=settings)

    def import_cdr(now: datetime) -> None:
        with transaction(db.session_factory) as session:
            cdr.import_file(session, path=cdr.cdr_file(settings))

    notifiers = {n.name: n for n in fanout.notifiers}
    return EscalationRunner(factory=db.session_factory, policy=Policy.load(settings.deadline_policy_path),
                            catalog=load_catalog(), notifiers=notifiers,
                            extra_jobs=(("early_warning", early_warning), ("cdr_import", import_cdr)),
                            leader=build_leader_lock(settings, "scheduler"))
