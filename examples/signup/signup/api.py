"""A FastAPI sign-up endpoint that hands the welcome email to the worker.

The publisher is opened and closed with the app (its lifespan), and the endpoint answers only
once the broker holds the job: if the process dies right after the response, the email is still
sent, because it is no longer this process's job to send it.

Run it: `uvicorn signup.api:app`, with `KEEL_ROUTES` naming the topic of `signup.jobs.WelcomeEmail`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

from fastapi import FastAPI, Request
from keel import AsyncPublisher
from pydantic import BaseModel, Field

from signup.jobs import WelcomeEmail


class SignUp(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1)


class SignedUp(BaseModel):
    user_id: UUID
    welcome_job_id: str


def create_app(publisher: AsyncPublisher | None = None) -> FastAPI:
    """The app; `publisher` defaults to one configured from the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with publisher or AsyncPublisher() as opened:
            app.state.publisher = opened
            yield

    app = FastAPI(title="signup", lifespan=lifespan)

    @app.post("/users", status_code=201)
    async def sign_up(body: SignUp, request: Request) -> SignedUp:
        user_id = uuid4()  # stands in for the row the service would insert
        jobs: AsyncPublisher = request.app.state.publisher
        welcome = WelcomeEmail(user_id=user_id, email=body.email, name=body.name)
        delivery = await jobs.publish(welcome, key=user_id)
        return SignedUp(user_id=user_id, welcome_job_id=delivery.job_id)

    return app


app = create_app()
