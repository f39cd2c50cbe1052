"""The read-only pages of the cluster: groups, one group's lag, rates, quarantine, delayed.

GET /groups            consumer groups: state, member count
GET /groups/{group}    members (client id, host, partitions); lag and time-lag per partition;
                       its worker processes, from their heartbeats (running, buffered, rates)
GET /rates             live throughput and failure rate per job topic (polls /api/rates)
GET /api/rates         the same numbers as JSON
GET /api/groups/{group}  a group's lag as JSON
GET /quarantine        keys held per group, and the job that blocks each
GET /delayed           pending delayed jobs, earliest due first
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from keel.consumers.beats import WorkerView, read_workers
from keel.consumers.console import delayed, groups, holds
from keel.consumers.console.auth import Principal, reader
from keel.consumers.console.rates import TopicRate

router = APIRouter()
Viewer = Annotated[Principal, Depends(reader)]
DELAYED_SHOWN = 200


def _render(request: Request, page: str, principal: Principal, **context: object) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, page, {"principal": principal, **context}
    )


def _timeout(request: Request) -> float:
    return float(request.app.state.settings.timeout_s)


@router.get("/groups")
def group_list(request: Request, principal: Viewer) -> Response:
    found = groups.list_groups(request.app.state.cluster, _timeout(request))
    return _render(request, "groups.html", principal, groups=found)


@router.get("/groups/{group}")
def group_page(request: Request, principal: Viewer, group: str) -> Response:
    detail = groups.describe(request.app.state.cluster, group, _timeout(request))
    workers = [view.as_json() for view in _workers(request, group)]
    return _render(request, "group.html", principal, group=detail, workers=workers)


@router.get("/api/groups/{group}")
def group_json(request: Request, _principal: Viewer, group: str) -> dict[str, object]:
    detail = groups.describe(request.app.state.cluster, group, _timeout(request))
    return {
        "group": detail.group_id,
        "state": detail.state,
        "members": [vars(m) for m in detail.members],
        "partitions": [{**vars(p), "lag": p.lag} for p in detail.partitions],
        "workers": [view.as_json() for view in _workers(request, group)],
    }


def _workers(request: Request, group: str) -> list[WorkerView]:
    state = request.app.state
    return read_workers(state.cluster, group, settings=state.beats, timeout=_timeout(request))


@router.get("/rates")
def rate_page(request: Request, principal: Viewer) -> Response:
    return _render(request, "rates.html", principal)


@router.get("/api/rates")
def rate_json(request: Request, _principal: Viewer) -> dict[str, object]:
    found = request.app.state.rates.current(request.app.state.cluster, _timeout(request))
    return {"topics": [_rate(rate) for rate in found]}


def _rate(rate: TopicRate) -> dict[str, object]:
    return {**vars(rate), "failure_ratio": rate.failure_ratio}


@router.get("/quarantine")
def quarantine_page(request: Request, principal: Viewer) -> Response:
    held = holds.held_keys(request.app.state.cluster, _timeout(request))
    return _render(request, "quarantine.html", principal, held=held)


@router.get("/delayed")
def delayed_page(
    request: Request,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=10_000)] = DELAYED_SHOWN,
) -> Response:
    topic = request.app.state.delayed_topic
    found = delayed.pending(request.app.state.cluster, topic, limit, _timeout(request))
    return _render(request, "delayed.html", principal, pending=found, due=delayed.due)
