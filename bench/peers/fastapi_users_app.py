"""The bench's peer: fastapi-users' documented full example, the app a team would pick instead.

Its "Full example" page (SQLAlchemy, JWT authentication), the version pinned in
requirements.txt: the ``app/db.py``, ``app/schemas.py``, ``app/users.py`` and ``app/app.py``
of that page, kept in one file. What differs from the page, and why:

- PostgreSQL through asyncpg (``PEER_DATABASE_URL``, its own throwaway database) instead of
  SQLite, as the gateway's bench runs on PostgreSQL;
- the JWT secret from ``PEER_JWT_SECRET`` instead of a constant;
- passwords hashed with bcrypt only, at ``BCRYPT_COST`` rounds, the gateway's cost (the
  library's own "Password hash" page: a pwdlib ``PasswordHash`` handed to ``PasswordHelper``),
  so that a login of either pays the same bcrypt check;
- uvicorn on ``HOST``/``PORT`` without its access log or proxy headers, as the bench's
  baseline runs (the page's ``uvicorn.run`` logs every request).

Runs only in the peer's virtualenv (bench/peer.py installs it), never in the gateway's.
"""

import os
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = os.environ["PEER_DATABASE_URL"]  # postgresql+asyncpg://…
SECRET = os.environ["PEER_JWT_SECRET"]
password_helper = PasswordHelper(PasswordHash((BcryptHasher(rounds=int(os.environ["BCRYPT_COST"])),)))


# app/db.py


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


engine = create_async_engine(DATABASE_URL)
async_session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def create_db_and_tables() -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def get_async_session() -> AsyncGenerator[AsyncSession, None]:
    async with async_session_maker() as session:
        yield session


async def get_user_db(
    session: AsyncSession = Depends(get_async_session),  # noqa: B008 - FastAPI's dependency declaration
) -> AsyncGenerator[SQLAlchemyUserDatabase[User, uuid.UUID], None]:
    yield SQLAlchemyUserDatabase(session, User)


# app/schemas.py


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


# app/users.py


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET

    async def on_after_register(self, user: User, request: Request | None = None) -> None:
        print(f"User {user.id} has registered.")

    async def on_after_forgot_password(self, user: User, token: str, request: Request | None = None) -> None:
        print(f"User {user.id} has forgot their password. Reset token: {token}")

    async def on_after_request_verify(self, user: User, token: str, request: Request | None = None) -> None:
        print(f"Verification requested for user {user.id}. Verification token: {token}")


async def get_user_manager(
    user_db: SQLAlchemyUserDatabase[User, uuid.UUID] = Depends(get_user_db),  # noqa: B008 - as above
) -> AsyncGenerator[UserManager, None]:
    yield UserManager(user_db, password_helper)


bearer_transport = BearerTransport(tokenUrl="auth/jwt/login")


def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(name="jwt", transport=bearer_transport, get_strategy=get_jwt_strategy)

fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])

current_active_user = fastapi_users.current_user(active=True)


# app/app.py


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
    await create_db_and_tables()  # the page's way (it says: not needed with a migration system)
    yield


app = FastAPI(lifespan=lifespan)

app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_verify_router(UserRead), prefix="/auth", tags=["auth"])
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"])


@app.get("/authenticated-route")
async def authenticated_route(user: User = Depends(current_active_user)) -> dict[str, str]:  # noqa: B008
    return {"message": f"Hello {user.email}!"}


if __name__ == "__main__":
    uvicorn.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        proxy_headers=False,
        access_log=False,
    )
