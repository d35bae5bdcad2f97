"""AWS adapters for the API's operating routes (event sources, invoke, logs, metrics).

Made on first use per region and shared by every request: boto3 clients are slow to make
and safe to share across threads.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from laambda.config import Settings
from laambda.deploy import observe, triggers
from laambda.deploy.observe import Observer
from laambda.deploy.triggers import Triggers


class Cloud:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._triggers: dict[str, Triggers] = {}
        self._observers: dict[str, Observer] = {}
        self._lock = threading.Lock()

    def triggers(self, region: str) -> Triggers:
        with self._lock:
            if region not in self._triggers:
                self._triggers[region] = triggers.for_region(self.settings, region)
            return self._triggers[region]

    def observer(self, region: str) -> Observer:
        with self._lock:
            if region not in self._observers:
                self._observers[region] = observe.for_region(self.settings, region)
            return self._observers[region]


def get_cloud(request: Request) -> Cloud:
    state = request.app.state
    with _lock:
        if getattr(state, "cloud", None) is None:
            state.cloud = Cloud(state.settings)
    cloud: Cloud = state.cloud
    return cloud


_lock = threading.Lock()
CloudDep = Annotated[Cloud, Depends(get_cloud)]
