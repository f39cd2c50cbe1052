"""The operator console: `keel console` serves it (the 'console' extra).

    settings          ConsoleSettings (KEEL_CONSOLE_*): tokens and roles, replay rate, page size
    auth              who asks: bearer token, cookie or `?token=`; `read` and `operator` roles
    session           the login form and its cookie; `/` -> `/groups`
    errors            401 / 403 / 400 (naming the field) / 404, as a page or as JSON
    offsets           partitions and their first and end offsets, in one request
    groups            consumer groups, members, lag and time-lag
    rates             throughput and failure rate per job topic, sampled from end offsets
    filters           the dead-letter filters from query parameters: a replay `Selection`
    letters           one page of dead letters, without reading the rest of the topic
    bodies            a record's value decoded by its writer schema from the registry
    replays           count (the confirmation), then replay with the operator's name
    holds             quarantined keys per group
    delayed           pending delayed jobs
    job_status        one job's status by id (StatusReader), its result decoded
    dead_letter_pages, cluster_pages, job_pages   the routes
    app               create_app: the one composition root
    cli               `keel console`

Every cluster and registry client comes from `keel.schemas.clients`, so a secured cluster needs
nothing of the console beyond the usual client settings.
"""

from keel.consumers.console.app import create_app
from keel.consumers.console.settings import ConsoleSettings, Role

__all__ = ["ConsoleSettings", "Role", "create_app"]
