"""Piccolo's configuration: the app registry, and the engine for Piccolo's own CLI.

At run time ``helpdesk.db.configure`` replaces ``DB`` with the engine the settings name;
the value below only serves ``piccolo`` CLI commands run from a shell.
"""

import os

from piccolo.conf.apps import AppRegistry

from helpdesk.db import engine_for
from helpdesk.settings import Settings

DB = engine_for(Settings.from_env(os.environ))

APP_REGISTRY = AppRegistry(
    apps=[
        "helpdesk.audit.piccolo_app",
        "helpdesk.auth.piccolo_app",
        "helpdesk.customers.piccolo_app",
        "helpdesk.tickets.piccolo_app",
        "helpdesk.activities.piccolo_app",
        "helpdesk.inbox.piccolo_app",
        "helpdesk.sla.piccolo_app",
        "helpdesk.queues.piccolo_app",
    ]
)
