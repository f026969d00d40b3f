"""Composition roots: each process builds its parts here, once."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from agi.channel import HotlineAGI
from agi.server import AgiRequest, FastAgiServer, Mode
from api.app import create_app
from asr.engine import load_engine
from hotline.db import Database, open_database
from hotline.settings import Settings
from ivr_flows.intake import run_intake
from ivr_flows.ports import CallServices
from notify.base import Notifier
from notify.channels import Fanout, LogNotifier, WebhookNotifier
from prompts.render import PromptStore
from routing.classify import Router

log = logging.getLogger(__name__)


def build_call_services(settings: Settings, db: Database) -> CallServices:
    """Loads the heavy parts (ASR model, router) once, before calls fork off."""
    asr = load_engine(settings)
    log.log(logging.INFO if asr.available else logging.WARNING, "%s", asr.status)
    router = Router.load(settings.router_model_file)
    prompts = PromptStore(settings.prompts_dir)
    return CallServices(settings=settings, session_factory=db.session_factory, prompts=prompts,
                        asr=asr, router=router)


def build_agi_server(settings: Settings, *, mode: Mode = "fork") -> FastAgiServer:
    db = open_database(settings.db_url)
    services = build_call_services(settings, db)

    def intake(agi: HotlineAGI, request: AgiRequest) -> None:
        env = request.env
        run_intake(agi, services, channel_name=env.get("agi_channel", ""),
                   uniqueid=env.get("agi_uniqueid", ""), caller=env.get("agi_callerid", ""),
                   dialed=env.get("agi_extension", ""))

    def after_fork() -> None:
        # Connections inherited from the parent must not be shared with it.
        db.engine.dispose(close=False)

    return FastAgiServer(settings.agi_host, settings.agi_port, {"/intake": intake},
                         mode=mode, after_fork=after_fork)


def build_notifier(settings: Settings) -> Fanout:
    notifiers: list[Notifier] = [LogNotifier()]
    if settings.webhook_url:
        notifiers.append(WebhookNotifier(settings.webhook_url, settings.webhook_secret))
    return Fanout(notifiers)


def build_api(settings: Settings) -> FastAPI:
    db = open_database(settings.db_url)
    return create_app(settings, db.session_factory)
