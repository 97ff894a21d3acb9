"""The composition root: read the environment, open the event store and the keystore, and wire
them into the Registry. Adapters (CLI, HTTP) call this and nothing below it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from registry.application import Config, Registry
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only
from registry.store.settings import StoreSettings, describe, eventsourcing_env


def open_registry(environ: Mapping[str, str] | None = None) -> Registry:
    environ = os.environ if environ is None else environ
    settings = StoreSettings.from_environ(environ)
    config = Config.from_environment(environ)
    keystore = Keystore(config.keys_dir, environ.get("REGISTRY_KEYSTORE_PASSPHRASE") or None)
    registry = Registry(config=config, keystore=keystore, env=eventsourcing_env(settings))
    enforce_append_only(registry)
    registry.store_description = describe(settings)
    return registry
