"""The webhook receiver: authenticate, store the raw event durably, queue it, answer at once.

No API work happens in the request (Breezeway wants a 2xx within 10 seconds): processing is
the Celery task etl.process_webhook_event, queued once the event is committed.
"""

import hmac
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from breezeway.models import Region
from etl.credentials import webhook_secret
from etl.models import WebhookEvent
from etl.runs import DATABASE_ERRORS
from etl.webhooks.events import HANDSHAKE, Reading, read_body

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Webhook-Secret"
# Compared when the region has no secret, so an unknown region costs the same time.
NO_SECRET = "\x00" * 32


def refused() -> JsonResponse:
    # One answer for a wrong secret, a missing one, an unknown region and a region without a
    # secret: nothing tells a caller which regions exist.
    return JsonResponse({"error": "forbidden"}, status=403)


def too_large(limit: int) -> JsonResponse:
    return JsonResponse({"error": f"the body is over {limit} bytes"}, status=413)


def authenticated_region(code: str, provided: str) -> Region | None:
    """The active region whose webhook secret `provided` is, compared in constant time."""
    region = Region.objects.filter(code=code[:32], is_active=True).first()
    secret = webhook_secret(region.code) if region else ""
    matches = hmac.compare_digest(provided.encode(), (secret or NO_SECRET).encode())
    return region if region is not None and secret and matches else None


def store(region: Region, kind: str, reading: Reading) -> tuple[WebhookEvent, bool]:
    """The event's row, and whether it is new (the same delivery again is the stored row)."""
    final = WebhookEvent.Status.FAILED if reading.error else WebhookEvent.Status.PENDING
    if reading.event_type == HANDSHAKE and not reading.error:
        final = WebhookEvent.Status.PROCESSED  # acknowledged and recorded: nothing to apply
    now = timezone.now()
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                region=region,
                kind=kind,
                event_type=reading.event_type,
                object_id=reading.object_id,
                received_at=now,
                event_at=reading.event_at,
                payload=reading.payload,
                raw_body=reading.raw_body,
                digest=reading.digest,
                status=final,
                error=reading.error,
                processed_at=None if final == WebhookEvent.Status.PENDING else now,
                outcome={"handshake": True} if reading.event_type == HANDSHAKE else {},
            )
        return event, True
    except IntegrityError:
        return WebhookEvent.objects.get(region=region, kind=kind, digest=reading.digest), False


def queue(event_id: int) -> None:
    """Queue the event's processing; a broker that does not answer leaves it pending for the
    requeue sweep (etl.requeue_webhook_events) rather than failing the acknowledgement."""
    from etl.tasks import process_webhook_event

    try:
        process_webhook_event.apply_async((event_id,), retry=False)
    except Exception as exc:  # the broker, or (in-process, without one) the processing
        log.warning("webhook event %s stays pending: %s: %s", event_id, type(exc).__name__, exc)


@csrf_exempt
def receive(request: HttpRequest, region_code: str, kind: str) -> JsonResponse:
    """POST /webhooks/breezeway/<region>/<kind>/ with the region's secret in X-Webhook-Secret."""
    if request.method != "POST":
        response = JsonResponse({"error": "use POST"}, status=405)
        response["Allow"] = "POST"
        return response
    try:
        region = authenticated_region(region_code, request.headers.get(SECRET_HEADER, ""))
        if region is None:
            return refused()
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"error": "bad Content-Length"}, status=400)
        if declared > limit:
            return too_large(limit)
        body = request.read(limit + 1)
        if len(body) > limit:
            return too_large(limit)
        reading = read_body(kind, body)
        event, new = store(region, kind, reading)
    except DATABASE_ERRORS as exc:
        # Not stored: a 5xx makes the sender deliver it again.
        log.error("webhook for %s not stored: %s", region_code[:32], type(exc).__name__)
        return JsonResponse({"error": "temporarily unavailable"}, status=503)
    if not new:
        return JsonResponse({"status": "duplicate", "event": event.pk})
    if reading.error:
        return JsonResponse({"error": reading.error, "event": event.pk}, status=400)
    if event.status == WebhookEvent.Status.PENDING:
        transaction.on_commit(lambda: queue(event.pk))
    return JsonResponse({"status": "accepted", "event": event.pk})
