"""The catalog API for the cash software: goods and groups edited at the register.

While goods sync with the back office is on, the register's catalog is the back office's
and every edit here is refused (:class:`CatalogLockedError`); with sync off, what is added
here has origin ``register`` and is deleted when sync is turned on again (with confirmation,
see :mod:`kkt_bridge.bridge.settings`).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from kkt_bridge.errors import CatalogLockedError, ConfigError
from kkt_bridge.exchange import Good, GoodsGroup
from kkt_bridge.i18n import _
from kkt_bridge.store import ORIGIN_REGISTER, Store, StoredGood, StoredGroup

LOCAL_PREFIX = "local:"


class Catalog:
    """Goods and groups of one register (``register_key``)."""

    def __init__(self, store: Store, register_key: str) -> None:
        self.store = store
        self.key = register_key

    # --- reading (always allowed) -----------------------------------------------------

    def goods(self) -> list[StoredGood]:
        return self.store.goods(self.key)

    def groups(self) -> list[StoredGroup]:
        return self.store.groups(self.key)

    def find_by_barcode(self, barcode: str) -> Good | None:
        found = self.store.find_goods_by_barcode(self.key, barcode.strip())
        return found[0].good if found else None

    def find_by_code(self, code: str) -> Good | None:
        found = self.store.find_goods_by_code(self.key, code.strip())
        return found[0].good if found else None

    # --- editing (only while goods sync is off) ---------------------------------------

    def _check_unlocked(self) -> None:
        if self.store.get_settings(self.key).goods_sync:
            raise CatalogLockedError(
                _("товары нельзя изменять на кассе, пока включена синхронизация товаров "
                  "с бэк-офисом"),
                _("измените товар в бэк-офисе или отключите синхронизацию товаров "
                  "(«Изменить настройки обновления»)"))

    def _check_good(self, good: Good) -> None:
        if not good.name.strip():
            raise ConfigError(_("у товара нет наименования"), _("укажите наименование"))
        if good.price < 0:
            raise ConfigError(_("цена товара отрицательна"), _("укажите цену в копейках, ≥ 0"))
        if good.group_id is not None and self.store.get_group(self.key, good.group_id) is None:
            raise ConfigError(_("группа {id} не найдена").format(id=good.group_id),
                              _("создайте группу или укажите существующую"))
        for barcode in good.barcodes:
            clash = [g for g in self.store.find_goods_by_barcode(self.key, barcode)
                     if g.good.id != good.id]
            if clash:
                raise ConfigError(
                    _("штрихкод {barcode} уже у товара «{name}»").format(
                        barcode=barcode, name=clash[0].good.name),
                    _("укажите другой штрихкод"))

    def _stored_good(self, good_id: str) -> StoredGood:
        stored = self.store.get_good(self.key, good_id)
        if stored is None:
            raise ConfigError(_("товар {id} не найден").format(id=good_id),
                              _("проверьте код товара"))
        return stored

    def _stored_group(self, group_id: str) -> StoredGroup:
        stored = self.store.get_group(self.key, group_id)
        if stored is None:
            raise ConfigError(_("группа {id} не найдена").format(id=group_id),
                              _("проверьте код группы"))
        return stored

    def _check_group(self, group: GoodsGroup) -> None:
        if not group.name.strip():
            raise ConfigError(_("у группы нет наименования"), _("укажите наименование"))
        self._check_parent(group)

    def _check_parent(self, group: GoodsGroup) -> None:
        parent = group.parent_id
        seen = {group.id}
        while parent is not None:
            if parent in seen:
                raise ConfigError(_("группа не может входить сама в себя"),
                                  _("выберите другую родительскую группу"))
            seen.add(parent)
            stored = self.store.get_group(self.key, parent)
            if stored is None:
                raise ConfigError(_("группа {id} не найдена").format(id=parent),
                                  _("создайте группу или укажите существующую"))
            parent = stored.group.parent_id

    def add_good(self, good: Good) -> Good:
        """Add a good; an empty ``id`` gets a local one (``local:...``)."""
        with self.store.transaction():
            self._check_unlocked()
            if not good.id:
                good = replace(good, id=LOCAL_PREFIX + uuid.uuid4().hex[:12])
            elif self.store.get_good(self.key, good.id) is not None:
                raise ConfigError(_("товар {id} уже есть").format(id=good.id),
                                  _("измените его или укажите другой код"))
            self._check_good(good)
            self.store.put_good(self.key, good, ORIGIN_REGISTER)
        return good

    def edit_good(self, good: Good) -> Good:
        with self.store.transaction():
            self._check_unlocked()
            stored = self._stored_good(good.id)
            self._check_good(good)
            # the origin stays: a back-office good edited here is replaced, not deleted,
            # when sync comes back on
            self.store.put_good(self.key, good, stored.origin)
        return good

    def delete_good(self, good_id: str) -> None:
        with self.store.transaction():
            self._check_unlocked()
            self._stored_good(good_id)
            self.store.delete_good(self.key, good_id)

    def add_group(self, group: GoodsGroup) -> GoodsGroup:
        with self.store.transaction():
            self._check_unlocked()
            if not group.id:
                group = replace(group, id=LOCAL_PREFIX + uuid.uuid4().hex[:12])
            elif self.store.get_group(self.key, group.id) is not None:
                raise ConfigError(_("группа {id} уже есть").format(id=group.id),
                                  _("измените её или укажите другой код"))
            self._check_group(group)
            self.store.put_group(self.key, group, ORIGIN_REGISTER)
        return group

    def edit_group(self, group: GoodsGroup) -> GoodsGroup:
        with self.store.transaction():
            self._check_unlocked()
            stored = self._stored_group(group.id)
            self._check_group(group)
            self.store.put_group(self.key, group, stored.origin)
        return group

    def delete_group(self, group_id: str) -> None:
        """Delete an empty group; one with goods or subgroups is refused."""
        with self.store.transaction():
            self._check_unlocked()
            self._stored_group(group_id)
            used = any(g.good.group_id == group_id for g in self.store.goods(self.key)) or any(
                g.group.parent_id == group_id for g in self.store.groups(self.key))
            if used:
                raise ConfigError(_("группа {id} не пуста").format(id=group_id),
                                  _("сначала перенесите или удалите её товары и подгруппы"))
            self.store.delete_group(self.key, group_id)
