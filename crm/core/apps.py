import os

from django.apps import AppConfig
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "crm.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self):
        # A test and operations hook: CRM_EXTRA_EVENT_HANDLERS="pkg.module.handler,..." adds
        # event handlers (the worker tests plug a slow handler into a real worker this way).
        from crm.core.events import EVENT_HANDLERS

        for path in os.environ.get("CRM_EXTRA_EVENT_HANDLERS", "").split(","):
            if path.strip() and (handler := import_string(path.strip())) not in EVENT_HANDLERS:
                EVENT_HANDLERS.append(handler)
