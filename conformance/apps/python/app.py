"""A small Python program that reports to crash-cache through sentry-sdk, one scenario per run.

Usage: SENTRY_DSN=... CC_MARKER=... CC_RELEASE=... python app.py <scenario>
"""
import os
import sys
import time

import sentry_sdk
from sentry_sdk.crons import capture_checkin
from sentry_sdk.crons.consts import MonitorStatus

MARKER = os.environ.get("CC_MARKER", "")


class ConformanceError(Exception):
    pass


# A few frames deep so the event carries a real stack trace with in-app frames.
def fail_deep(what):
    fail_deeper(what)


def fail_deeper(what):
    raise ConformanceError(f"conformance {what} {MARKER}")


def before_send(event, hint):
    if sys.argv[1] == "unhandled":
        print(f"event_id={event.get('event_id')}", flush=True)  # known only here; the suite finds the event by it
    if "drop-me" in str((event.get("logentry") or {}).get("message") or event.get("message") or ""):
        return None  # recorded as a client report (reason before_send)
    return event


def report(event_id):
    # The suite finds exactly this run's event by the id printed here.
    print(f"event_id={event_id}", flush=True)


def main(scenario):
    sentry_sdk.init(
        dsn=os.environ["SENTRY_DSN"],
        release=os.environ.get("CC_RELEASE"),
        environment="conformance",
        traces_sample_rate=1.0,
        before_send=before_send,
        auto_session_tracking=scenario in ("session", "crash"),
    )
    if scenario == "handled":
        try:
            fail_deep("handled")
        except ConformanceError as e:
            report(sentry_sdk.capture_exception(e))
    elif scenario == "crash":
        sentry_sdk.start_session(session_mode="application")
        fail_deep("crash")  # unhandled: the excepthook integration marks the session crashed
    elif scenario == "unhandled":
        fail_deep("unhandled")  # the SDK's excepthook integration captures and flushes it
    elif scenario == "message":
        report(sentry_sdk.capture_message(f"conformance message {MARKER}"))
    elif scenario == "chained":
        try:
            try:
                fail_deep("inner")
            except ConformanceError as inner:
                raise ConformanceError(f"conformance outer {MARKER}") from inner
        except ConformanceError as e:
            report(sentry_sdk.capture_exception(e))
    elif scenario == "breadcrumbs":
        for i in range(1, 4):
            sentry_sdk.add_breadcrumb(category="conformance", message=f"crumb-{i} {MARKER}", level="info")
        report(sentry_sdk.capture_message(f"conformance breadcrumbs {MARKER}"))
    elif scenario == "context":
        sentry_sdk.set_tag("cc_marker", MARKER)
        sentry_sdk.set_user({"id": f"user-{MARKER}", "email": "conformance@example.com"})
        sentry_sdk.set_context("conformance", {"marker": MARKER, "answer": 42})
        report(sentry_sdk.capture_message(f"conformance context {MARKER}"))
    elif scenario == "release":
        report(sentry_sdk.capture_message(f"conformance release {MARKER}"))
    elif scenario == "session":
        sentry_sdk.start_session(session_mode="application")
        try:
            fail_deep("session")
        except ConformanceError as e:
            report(sentry_sdk.capture_exception(e))
        sentry_sdk.end_session()
    elif scenario == "transaction":
        with sentry_sdk.start_transaction(op="conformance", name=f"conformance-tx-{MARKER}"):
            with sentry_sdk.start_span(op="conformance.step"):
                time.sleep(0.005)
    elif scenario == "attachment":
        with sentry_sdk.new_scope() as scope:
            scope.add_attachment(bytes=f"attachment-bytes {MARKER}\n".encode(), filename="conformance.txt", content_type="text/plain")
            report(sentry_sdk.capture_message(f"conformance attachment {MARKER}"))
    elif scenario == "checkin":
        slug = os.environ["CC_MONITOR"]
        cid = capture_checkin(monitor_slug=slug, status=MonitorStatus.IN_PROGRESS)
        capture_checkin(monitor_slug=slug, check_in_id=cid, status=MonitorStatus.OK, duration=1.0)
    elif scenario == "client_report":
        sentry_sdk.capture_message(f"drop-me {MARKER}")
        report(sentry_sdk.capture_message(f"conformance client_report {MARKER}"))
    elif scenario == "compression":
        sentry_sdk.set_context("payload", {"text": f"compressible conformance payload {MARKER} " * 1500})
        report(sentry_sdk.capture_message(f"conformance compression {MARKER}"))
    elif scenario == "ratelimit":
        # One event at a time, each flushed, so the 429's X-Sentry-Rate-Limits is known before the next.
        for i in range(1, 26):
            sentry_sdk.capture_message(f"conformance ratelimit {i} {MARKER}")
            sentry_sdk.flush(timeout=5)
    else:
        print(f"unsupported scenario {scenario}", file=sys.stderr)
        sys.exit(3)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1])
