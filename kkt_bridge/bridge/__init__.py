"""The bridge itself: pairing, exchange settings, the catalog API, sync jobs, scheduler,
watcher and daemon.

Entry points for other code:

- :func:`kkt_bridge.bridge.pairing.pair` — «Подключить ККТ» by a sync code;
- :func:`kkt_bridge.bridge.settings.preview_settings` / :func:`~.settings.apply_settings`
  — «Изменить настройки обновления» with the confirmation token;
- :class:`kkt_bridge.bridge.catalog.Catalog` — goods and groups for the cash software;
- :class:`kkt_bridge.bridge.scheduler.Scheduler` — jobs on their periods, «Обновить сейчас»;
- :class:`kkt_bridge.bridge.watcher.Watcher` and :class:`kkt_bridge.bridge.daemon.Daemon`;
- :func:`kkt_bridge.bridge.status.bridge_status` — what ``kkt-bridge status`` adds.
"""
