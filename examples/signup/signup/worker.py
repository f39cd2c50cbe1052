"""The service's worker: `keel worker signup.worker:app`.

The App holds the handlers; its catalog, what the worker decodes, is the job types they take,
so nothing else needs listing. The mail service is a folder here (`SIGNUP_OUTBOX`): one file per
user, so a welcome delivered twice, after a crash or a replay, still sends one email.
"""

from functools import cache

from keel import App, Context, RetryPolicy

from signup.jobs import WelcomeEmail
from signup.settings import SignupSettings

app = App("signup", retry=RetryPolicy(max_attempts=5, base_delay=0.2, max_delay=10.0))


@cache
def settings() -> SignupSettings:
    """Read once, on the first job rather than at import."""
    return SignupSettings()


@app.handler(WelcomeEmail, timeout=10)
def send_welcome(job: WelcomeEmail, ctx: Context) -> None:
    """Send the welcome email: written under the user's id, so a retry overwrites it."""
    outbox = settings().outbox
    outbox.mkdir(parents=True, exist_ok=True)
    letter = f"To: {job.email}\n\nWelcome, {job.name}!\n"
    (outbox / f"{job.user_id}.txt").write_text(letter)
    ctx.logger.info("welcomed user %s", job.user_id)
