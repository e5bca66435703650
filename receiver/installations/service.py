"""Who may erase an installation: admin keys any; submit keys their own (secret if one is set)."""

import hmac

from sqlalchemy.ext.asyncio import AsyncConnection

from receiver.db.transactions import Database
from receiver.installations import repository
from receiver.security.keys import Capability
from receiver.security.ownership import wrong_secret


class _NotOwner(Exception):
    pass


class DeletionService:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def erase(
        self, installation_id: str, capability: Capability, presented_hash: str | None
    ) -> int:
        async def work(connection: AsyncConnection) -> int:
            if capability is not Capability.ADMIN:
                stored = await repository.secret_hash_of(connection, installation_id)
                if stored is not None and not hmac.compare_digest(stored, presented_hash or ""):
                    raise _NotOwner
            return await repository.erase(connection, installation_id)

        try:
            return await self.database.write(work)
        except _NotOwner:
            raise wrong_secret() from None
