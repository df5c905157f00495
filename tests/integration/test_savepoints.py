"""Savepoints inside one unit of work, as the intake uses them (one per mail), on real databases.

On PostgreSQL a savepoint whose block succeeded is released by the next SAVEPOINT or the commit,
so these cover that bookkeeping too: siblings, nesting, and failures at every level.
"""

from __future__ import annotations

import pytest

from helpdesk.customers.tables import Account
from helpdesk.db import savepoint, transaction_cache, unit_of_work

pytestmark = pytest.mark.usefixtures("clean_db")


class Refused(Exception):
    pass


async def add(name: str, clock) -> None:
    await Account.insert(Account(name=name, created_at=clock.now(), updated_at=clock.now())).run()


async def add_then_fail(name: str, clock) -> None:
    try:
        async with savepoint():
            await add(name, clock)
            raise Refused(name)
    except Refused:
        pass


async def names() -> list[str]:
    return sorted(row["name"] for row in await Account.select(Account.name).run())


async def test_a_failed_savepoint_undoes_only_its_own_writes(clock) -> None:
    async with unit_of_work():
        for name in ("first", "second"):
            async with savepoint():
                await add(name, clock)
        await add_then_fail("failed", clock)
        async with savepoint():
            await add("after a failure", clock)
        await add("outside any savepoint", clock)
        async with savepoint():
            await add("last", clock)
    assert await names() == ["after a failure", "first", "last", "outside any savepoint", "second"]


async def test_nested_savepoints_keep_or_drop_their_inner_writes_with_the_outer_one(clock) -> None:
    async with unit_of_work():
        async with savepoint():
            await add("kept outer", clock)
            async with savepoint():
                await add("kept inner", clock)
            await add_then_fail("failed inner", clock)
        try:
            async with savepoint():
                await add("dropped outer", clock)
                async with savepoint():
                    await add("dropped inner", clock)
                raise Refused("outer")
        except Refused:
            pass
        async with savepoint():
            await add("next", clock)
    assert await names() == ["kept inner", "kept outer", "next"]


async def test_the_whole_unit_rolls_back_savepoints_that_succeeded(clock) -> None:
    with pytest.raises(Refused):
        async with unit_of_work():
            async with savepoint():
                await add("gone", clock)
            raise Refused("unit")
    async with unit_of_work():
        async with savepoint():
            await add("next unit", clock)
    assert await names() == ["next unit"]


async def test_the_transaction_cache_lives_as_long_as_the_unit_of_work() -> None:
    assert transaction_cache() is None
    async with unit_of_work():
        transaction_cache()["key"] = "value"
        async with unit_of_work():  # joins the outer unit
            assert transaction_cache() == {"key": "value"}
    assert transaction_cache() is None
    async with unit_of_work():
        assert transaction_cache() == {}
