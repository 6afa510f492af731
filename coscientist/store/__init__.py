"""The store: sqlmodel tables, Alembic migrations and the Store repository.

Everything outside this package talks to the database through Store, which
takes and returns the pydantic objects of coscientist.schemas.
"""

from coscientist.store.apply import Applied
from coscientist.store.ledger import OwnerInfo
from coscientist.store.liveness import owner_is_dead
from coscientist.store.repository import Store
from coscientist.store.tournament import AppliedMatch

__all__ = ["Applied", "AppliedMatch", "OwnerInfo", "Store", "owner_is_dead"]
