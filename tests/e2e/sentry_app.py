"""A tiny app instrumented with the real sentry-sdk, run as its own process by the tests.

usage: python -m tests.e2e.sentry_app DSN USER MODE   (MODE: ok | errored | crash | request)
"""

import sys

import sentry_sdk


def main() -> None:
    dsn, user, mode = sys.argv[1:4]
    sentry_sdk.init(dsn=dsn, release="shop@1.4.0", environment="production", shutdown_timeout=5)
    sentry_sdk.set_user({"id": user})
    scope = sentry_sdk.get_isolation_scope()
    if mode == "request":
        for _ in range(5):  # a server in request mode: sessions are sent as per-minute aggregates
            scope.start_session(session_mode="request")
            scope.end_session()
        sentry_sdk.flush()
        return
    scope.start_session(session_mode="application")
    if mode == "crash":
        raise RuntimeError("unhandled: the app crashes")  # the SDK's excepthook marks the session crashed
    if mode == "errored":
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            sentry_sdk.capture_exception()
    scope.end_session()
    sentry_sdk.flush()


if __name__ == "__main__":
    main()
