"""Accounts: passwords, tokens, the dispatch tree, users, masking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from accounts import service
from accounts.errors import BadCredentials, UnknownUnit, UserExists
from accounts.passwords import hash_password, verify_password
from accounts.roles import Role
from foundation.db import transaction, utcnow
from foundation.errors import InvalidInput
from foundation.masking import mask_name, mask_phone
from routing.catalog import load_catalog


def test_mask_phone_and_name() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("089868901234") == "089*****1234"
    assert mask_phone("66661234") == "****1234"  # a landline: the same rule as in logs (mask_number)
    assert mask_phone("12345") == "*****"
    assert mask_phone("") == ""
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"


def test_password_hash_round_trip() -> None:
    stored = hash_password("correct horse", iterations=1000)
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("x", "garbage")
    assert hash_password("same", iterations=1000) != hash_password("same", iterations=1000)  # salted


def test_units_tree_and_subtree(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        n = service.load_units(s, catalog=load_catalog())
        assert service.load_units(s, catalog=load_catalog()) == n  # idempotent
        longhua = service.subtree(s, code="longhua")
        assert {"longhua", "longhua.jinmao", "longhua.jinmao.binhai.g1"} <= longhua
        assert "meilan" not in longhua and "meilan.bailong" not in longhua
        assert service.subtree(s, code="water") == frozenset({"water"})
        with pytest.raises(UnknownUnit):
            service.subtree(s, code="atlantis")


def test_users_tokens_and_principals(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as s:
        service.load_units(s, catalog=load_catalog())
        service.create_user(s, username="lh", password="secret-pass", role=Role.DEPARTMENT, department="longhua")
        with pytest.raises(UserExists):
            service.create_user(s, username="lh", password="secret-pass", role=Role.OPERATOR)
        with pytest.raises(InvalidInput):
            service.create_user(s, username="x", password="secret-pass", role=Role.DEPARTMENT)  # no unit
        with pytest.raises(InvalidInput):
            service.create_user(s, username="y", password="short", role=Role.OPERATOR)
        with pytest.raises(InvalidInput):
            service.create_user(s, username="z", password="secret-pass", role="wizard")
    with transaction(session_factory) as s:
        token = service.authenticate(s, username="lh", password="secret-pass")
        p = service.principal_for_token(s, token=token)
        assert (p.role, p.department, p.is_center, p.sees_full_numbers) == (Role.DEPARTMENT, "longhua", False, False)
        assert "longhua.datong" in p.units
        with pytest.raises(BadCredentials):
            service.authenticate(s, username="lh", password="wrong-pass")
        with pytest.raises(BadCredentials):
            service.authenticate(s, username="nobody", password="secret-pass")
        with pytest.raises(BadCredentials):  # expired
            service.principal_for_token(s, token=token, now=utcnow() + timedelta(days=1))
        service.revoke_token(s, token=token)
        with pytest.raises(BadCredentials):
            service.principal_for_token(s, token=token)
