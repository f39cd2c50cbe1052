"""The pages of one job's status, by its id: the lookup form, the status page and its JSON.

GET /jobs                  the lookup form; `?id=...` leads to that job's page
GET /jobs/{job_id}         state, attempt, times, worker, error, reason, next attempt, result,
                           and the job a parked job waits behind (a link to its page)
GET /api/jobs/{job_id}     the same as JSON (`keel jobs status --json`'s fields, result decoded)

A job nothing is known about is answered 404 with its `unknown` status and the reason (never
published or not tracked, past the retention); an id that is not a UUID is 400, naming the
field. Read role is enough: a status shows no more than the dead letters do.
"""

from typing import Annotated

from confluent_kafka import KafkaError, KafkaException
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from keel.consumers.console.auth import Principal, reader
from keel.consumers.console.job_status import JobView, MalformedJobIdError, checked, view
from keel.producers.status import StatusReader

router = APIRouter()
Viewer = Annotated[Principal, Depends(reader)]


@router.get("/jobs")
def lookup_page(
    request: Request, principal: Viewer, job_id: Annotated[str | None, Query(alias="id")] = None
) -> Response:
    if job_id is None or not job_id.strip():
        templates = request.app.state.templates
        return templates.TemplateResponse(  # type: ignore[no-any-return]
            request, "jobs.html", {"principal": principal}
        )
    return RedirectResponse(f"/jobs/{_checked('id', job_id)}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, principal: Viewer, job_id: str) -> Response:
    shown = _look_up(request, _checked("job_id", job_id))
    templates = request.app.state.templates
    context = {"principal": principal, "job": shown}
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "job.html", context, status_code=200 if shown.known else 404
    )


@router.get("/api/jobs/{job_id}")
def job_json(request: Request, _principal: Viewer, job_id: str) -> Response:
    shown = _look_up(request, _checked("job_id", job_id))
    return JSONResponse(shown.as_json(), status_code=200 if shown.known else 404)


def _checked(field: str, job_id: str) -> str:
    try:
        return checked(field, job_id)
    except MalformedJobIdError as error:
        raise HTTPException(400, str(error)) from error


def _look_up(request: Request, job_id: str) -> JobView:
    state = request.app.state
    statuses: StatusReader = state.statuses
    try:
        found = statuses.status(job_id, timeout=float(state.settings.timeout_s))
    except KafkaException as error:
        if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise
        topic = statuses.settings.topic
        detail = f"no status topic {topic}: `keel topics ensure --status` creates it"
        raise HTTPException(503, detail) from error
    return view(found, state.bodies)
