"""The roles people and robots act in; accounts owns them, every other domain reads them."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"  # 话务员
    DISPATCHER = "dispatcher"  # 派单员/班长: supervisor at the center
    DEPARTMENT = "department"  # 承办单位
    SYSTEM = "system"  # timers, callback robot
    ADMIN = "admin"
