"""The WSGI application: auth, data endpoints with faults, and the /_sim/ control endpoints."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from simulator import changes
from simulator import query as qp
from simulator.records import Maker
from simulator.world import World, served

if TYPE_CHECKING:
    from simulator.core import Simulator

AUTH_PREFIX = "/public/auth/v1"
API_PREFIX = "/public/inventory/v1"
DATE_FILTERS = ("checkin_date", "checkout_date", "created_at", "updated_at")

StartResponse = Callable[..., Any]


@dataclass
class Response:
    status: int
    payload: bytes  # encoded at once: data answers share objects with the locked state
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(body).encode(), list(headers or []))


def error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response(status, {"error": message, "status": status}, headers)


@dataclass
class Route:
    template: str  # the endpoint name used in stats and fail_paths
    pattern: re.Pattern[str]
    handler: str


ROUTES = [
    Route(template, re.compile(regex), handler)
    for template, regex, handler in (
        ("/property", r"^/property$", "list_properties"),
        ("/reservation", r"^/reservation$", "list_reservations"),
        ("/reservation/{id}/tasks", r"^/reservation/(\d+)/tasks$", "reservation_tasks"),
        ("/supplies", r"^/supplies$", "list_supplies"),
        ("/people", r"^/people$", "list_people"),
        ("/task/tags", r"^/task/tags$", "list_tags"),
        ("/task", r"^/task$", "list_tasks"),
        ("/task/{id}", r"^/task/(\d+)$", "get_task"),
        ("/task/{id}/requirements", r"^/task/(\d+)/requirements$", "task_requirements"),
        ("/task/{id}/comments", r"^/task/(\d+)/comments$", "task_comments"),
    )
]


def match(path: str) -> tuple[Route | None, list[str]]:
    for route in ROUTES:
        found = route.pattern.match(path)
        if found:
            return route, list(found.groups())
    return None, []


class SimulatorApp:
    """WSGI callable over a Simulator's state; every state access holds sim.lock."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            if path == "/_sim" or path.startswith("/_sim/"):
                response = self._control(method, path.rstrip("/"), params, environ)
            elif path.rstrip("/") in (AUTH_PREFIX, AUTH_PREFIX + "/refresh"):
                response = self._auth(method, path.rstrip("/"), environ)
            elif path.startswith(API_PREFIX + "/"):
                response = self._data(method, path[len(API_PREFIX) :], params, environ)
            else:
                response = error(404, f"No such path: {path}")
        except qp.BadRequest as exc:
            response = error(400, str(exc))
        reason = HTTPStatus(response.status).phrase
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(response.payload))),
            *response.headers,
        ]
        start_response(f"{response.status} {reason}", headers)
        return [response.payload]

    # --- auth ----------------------------------------------------------------------------

    def _auth(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        if method != "POST":
            return error(405, "Use POST", [("Allow", "POST")])
        sim = self.sim
        if path == AUTH_PREFIX:
            try:
                body = json.loads(_read_body(environ) or b"null")
            except ValueError:
                body = None
            with sim.lock:
                client_id, result = sim.tokens.obtain(body)
                sim.stats_counter.auth("obtain", client_id, result.status)
        else:
            with sim.lock:
                client_id, result = sim.tokens.refresh(environ.get("HTTP_AUTHORIZATION", ""))
                sim.stats_counter.auth("refresh", client_id, result.status)
        return json_response(result.status, result.body, result.headers)

    # --- data ----------------------------------------------------------------------------

    def _data(self, method: str, rel: str, params: qp.Params, environ: dict[str, Any]) -> Response:
        sim = self.sim
        rel = rel.rstrip("/") or "/"  # "/task/" is the documented spelling of "/task"
        route, args = match(rel)
        endpoint = route.template if route else "unknown"
        with sim.lock:
            sim.stats_counter.request(endpoint)
        try:
            response = self._data_response(method, rel, route, args, endpoint, params, environ)
        except qp.BadRequest as exc:
            response = error(400, str(exc))
        with sim.lock:
            sim.stats_counter.status(response.status)
        return response

    def _data_response(
        self,
        method: str,
        rel: str,
        route: Route | None,
        args: list[str],
        endpoint: str,
        params: qp.Params,
        environ: dict[str, Any],
    ) -> Response:
        sim = self.sim
        if method != "GET":
            return error(405, "The data API is read-only: use GET", [("Allow", "GET")])
        with sim.lock:
            claims = sim.tokens.authenticate(environ.get("HTTP_AUTHORIZATION", ""))
            latency = sim.faults.latency
            if claims is None and latency > 0:
                sim.stats_counter.fault("latency")
        if claims is None:
            # Latency applies to every data request; the other faults need a credential.
            if latency > 0:
                time.sleep(latency)
            return error(401, "Missing, invalid or expired token")
        with sim.lock:
            sim.stats_counter.arrival(claims["client_id"])
            injection = sim.injector.decide(
                sim.faults, claims["client_id"], rel, endpoint, qp.page_number(params)
            )
            for kind in injection.kinds:
                sim.stats_counter.fault(kind)
        if injection.delay > 0:
            time.sleep(injection.delay)  # outside the lock: other requests carry on
        if injection.raw is not None:
            return Response(injection.status or 200, injection.raw.encode(), injection.headers)
        if injection.status is not None:
            return json_response(injection.status, injection.body, injection.headers)
        if route is None:
            return error(404, f"No such endpoint: {rel}")
        with sim.lock:
            world = sim.world(claims["company_id"])
            asked = qp.int_list(params, "company_id")
            if asked and any(c != world.company.company_id for c in asked):
                return error(403, "This token cannot see that company")
            handler = getattr(self, route.handler)
            return handler(world, params, *args)

    def _shift(self, world: World, params: qp.Params) -> Maker | None:
        """A Maker (drawing from the fault RNG) when the page-shift fault fires: page 2 or
        later of a list gets a brand-new record at its head first, a real one that stays."""
        sim = self.sim
        if sim.injector.page_shift(sim.faults, qp.page_number(params)):
            sim.stats_counter.fault("page_shift")
            return Maker(world, sim.injector.rng)
        return None

    def list_properties(self, world: World, params: qp.Params) -> Response:
        qp.paging(params)
        maker = self._shift(world, params)
        if maker:
            changes.new_property(world, maker, self.sim.config, self.sim.now)
        return json_response(200, qp.envelope(list(world.properties.values()), params))

    def list_reservations(self, world: World, params: qp.Params) -> Response:
        qp.paging(params)
        property_ids = qp.int_list(params, "property_id")
        predicates: list[qp.Predicate] = []
        for name in ("checkin_date", "checkout_date"):
            predicates += qp.comparisons(params, name, qp.record_date(name), dates=True)
        predicates += qp.comparisons(params, "created_at", lambda r: r["_created"], dates=False)
        predicates += qp.comparisons(params, "updated_at", lambda r: r["_updated"], dates=False)
        if not qp.has_comparisons(params, DATE_FILTERS):
            # Without a date filter only current and future stays come back (reference §7.1).
            today = self.sim.now.date()
            predicates.append(lambda r: date.fromisoformat(r["checkout_date"]) >= today)
        if property_ids:
            wanted = set(property_ids)
            predicates.append(lambda r: r["property_id"] in wanted)
        maker = self._shift(world, params)
        if maker and world.properties:
            candidates = [p for p in property_ids or [] if p in world.properties]
            pid = candidates[0] if candidates else maker.rng.choice(sorted(world.properties))
            changes.new_reservation(
                world, maker, self.sim.config, self.sim.now, world.properties[pid]
            )
        records = [r for r in world.reservations.values() if all(p(r) for p in predicates)]
        return json_response(200, qp.envelope(records, params))

    def list_supplies(self, world: World, params: qp.Params) -> Response:
        qp.paging(params)
        maker = self._shift(world, params)
        if maker:
            changes.new_supply(world, maker, self.sim.config, self.sim.now)
        return json_response(200, qp.envelope(list(world.supplies.values()), params))

    def list_people(self, world: World, params: qp.Params) -> Response:
        # A bare array: limit and page are ignored, the whole list comes back (reference §9).
        status = qp.first(params, "status")
        people = [world.people[k] for k in sorted(world.people)]
        if status:
            people = [p for p in people if p["_status"] == status]
        return json_response(200, [served(p) for p in people])

    def list_tags(self, world: World, params: qp.Params) -> Response:
        return json_response(200, [served(world.tags[k]) for k in sorted(world.tags)])

    def list_tasks(self, world: World, params: qp.Params) -> Response:
        home_id = qp.one_int(params, "home_id")
        reference = (qp.first(params, "reference_property_id") or "").strip()
        if home_id is None and not reference:
            return error(400, "home_id or reference_property_id is required")
        qp.paging(params)
        if home_id is None:
            found = [
                p["id"]
                for p in world.properties.values()
                if p["reference_property_id"] == reference
            ]
            home_id = found[0] if found else None
        if home_id in world.bad_property_ids:
            return error(422, f"Unable to process tasks for property {home_id}")
        predicates: list[qp.Predicate] = []
        department = qp.first(params, "type_department")
        if department:
            predicates.append(lambda t: t["type_department"] == department)
        assignees = qp.int_list(params, "assignee_ids")
        if assignees:
            wanted = set(assignees)
            predicates.append(lambda t: any(a["assignee_id"] in wanted for a in t["assignments"]))
        for name, get, dates in (
            ("scheduled_date", qp.record_date("scheduled_date"), True),
            ("created_at", lambda t: t["_created"], False),
            ("updated_at", lambda t: t["_updated"], False),
            ("finished_at", qp.record_moment("finished_at"), False),
        ):
            predicate = qp.span(params, name, get, dates)
            if predicate:
                predicates.append(predicate)
        maker = self._shift(world, params)
        if maker and home_id in world.properties:
            changes.new_task(world, maker, self.sim.config, self.sim.now, world.properties[home_id])
        ids = world.tasks_by_property.get(home_id, set()) if home_id is not None else set()
        tasks = [
            world.tasks[tid]
            for tid in ids
            if tid not in world.hidden_task_ids and all(p(world.tasks[tid]) for p in predicates)
        ]
        return json_response(200, qp.envelope(tasks, params))

    def get_task(self, world: World, params: qp.Params, task_id: str) -> Response:
        # Hidden tasks answer here too: only the list omits them.
        task = world.tasks.get(int(task_id))
        if task is None:
            return error(404, "Task not found")
        return json_response(200, served(task))

    def task_requirements(self, world: World, params: qp.Params, task_id: str) -> Response:
        if int(task_id) not in world.tasks:
            return error(404, "Task not found")
        return json_response(200, world.requirements[int(task_id)])

    def task_comments(self, world: World, params: qp.Params, task_id: str) -> Response:
        if int(task_id) not in world.tasks:
            return error(404, "Task not found")
        return json_response(200, world.comments[int(task_id)])

    def reservation_tasks(self, world: World, params: qp.Params, reservation_id: str) -> Response:
        reservation = world.reservations.get(int(reservation_id))
        if reservation is None or reservation.get("_null_id"):
            return error(404, "Reservation not found")
        rid = reservation["id"]
        tasks = [
            served(world.tasks[tid])
            for tid in sorted(world.tasks)
            if (world.tasks[tid]["linked_reservation"] or {}).get("id") == rid
        ]
        return json_response(200, tasks)

    # --- control -------------------------------------------------------------------------

    def _control(
        self, method: str, path: str, params: qp.Params, environ: dict[str, Any]
    ) -> Response:
        sim = self.sim
        routes: dict[tuple[str, str], Callable[[], Response]] = {
            ("POST", "/_sim/tick"): lambda: json_response(
                200, sim.tick(_hours(params), deliver=_flag(params, "deliver", True))
            ),
            ("GET", "/_sim/companies"): lambda: json_response(
                200, [c.as_dict() for c in sim.companies]
            ),
            ("GET", "/_sim/stats"): lambda: json_response(200, sim.stats),
            ("POST", "/_sim/stats/reset"): lambda: (
                sim.reset_stats(),
                json_response(200, sim.stats),
            )[1],
            ("GET", "/_sim/snapshot"): lambda: self._snapshot(params),
            ("GET", "/_sim/faults"): lambda: json_response(200, sim.faults.as_dict()),
            ("POST", "/_sim/faults"): lambda: self._faults(environ),
            ("GET", "/_sim/webhooks"): lambda: json_response(200, sim.webhook_state()),
            ("POST", "/_sim/webhooks"): lambda: self._subscribe(environ),
            ("DELETE", "/_sim/webhooks"): lambda: self._unsubscribe(params),
            ("POST", "/_sim/webhooks/delivery"): lambda: self._delivery(environ),
            # Delivery runs in this request's thread, outside the lock: a receiver that calls
            # the simulator back meanwhile is served by the other threads.
            ("POST", "/_sim/webhooks/deliver"): lambda: json_response(200, sim.deliver_webhooks()),
        }
        handler = routes.get((method, path))
        if handler is None:
            if any(p == path for _, p in routes):
                return error(405, f"Wrong method for {path}")
            return error(404, f"No such control endpoint: {path}")
        return handler()

    def _snapshot(self, params: qp.Params) -> Response:
        company_id = qp.one_int(params, "company_id")
        if company_id is None:
            raise qp.BadRequest("company_id is required")
        try:
            return json_response(200, self.sim.snapshot(company_id))
        except KeyError:
            return error(404, f"No company {company_id}")

    def _faults(self, environ: dict[str, Any]) -> Response:
        try:
            changes_ = json.loads(_read_body(environ) or b"{}")
            if not isinstance(changes_, dict):
                raise ValueError("expected a JSON object")
            with self.sim.lock:
                self.sim.faults.update(changes_)
        except ValueError as exc:
            raise qp.BadRequest(str(exc)) from None
        return json_response(200, self.sim.faults.as_dict())

    def _subscribe(self, environ: dict[str, Any]) -> Response:
        body = _json_object(environ)
        allowed = {"company_id", "tasks_url", "property_status_url", "secret", "handshake"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise qp.BadRequest(f"unknown fields: {', '.join(unknown)}")
        if "company_id" not in body:
            raise qp.BadRequest("company_id is required")
        company_id = body["company_id"]
        try:
            handshake = self.sim.subscribe_webhooks(
                company_id,
                tasks_url=body.get("tasks_url"),
                property_status_url=body.get("property_status_url"),
                secret=body.get("secret", ""),
                handshake=body.get("handshake", True),
            )
        except KeyError:
            return error(404, f"No company {company_id}")
        except ValueError as exc:
            raise qp.BadRequest(str(exc)) from None
        with self.sim.lock:
            subscription = self.sim.webhook_sender.subscriptions.get(company_id)
            shown = subscription.as_dict() if subscription else None
        return json_response(200, {"subscription": shown, "handshake": handshake})

    def _unsubscribe(self, params: qp.Params) -> Response:
        company_id = qp.one_int(params, "company_id")
        if company_id is None:
            raise qp.BadRequest("company_id is required")
        if not self.sim.unsubscribe_webhooks(company_id):
            return error(404, f"Company {company_id} has no webhook subscription")
        return json_response(200, self.sim.webhook_state())

    def _delivery(self, environ: dict[str, Any]) -> Response:
        try:
            self.sim.webhook_delivery(**_json_object(environ))
        except ValueError as exc:
            raise qp.BadRequest(str(exc)) from None
        return json_response(200, self.sim.webhook_state()["delivery"])


def _json_object(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(_read_body(environ) or b"{}")
    except ValueError:
        raise qp.BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise qp.BadRequest("expected a JSON object")
    return body


def _flag(params: qp.Params, name: str, default: bool) -> bool:
    value = qp.first(params, name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise qp.BadRequest(f"{name} must be 0 or 1")


def _hours(params: qp.Params) -> int:
    hours = qp.one_int(params, "hours")
    hours = 1 if hours is None else hours
    if not 0 <= hours <= 24 * 366:
        raise qp.BadRequest("hours must be between 0 and 8784")
    return hours


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""
