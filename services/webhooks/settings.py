"""Webhooks settings, from the environment."""
from libs.common.settings import CommonSettings, env_bool, env_float, env_int


class Settings(CommonSettings):
    service_name = "webhooks"

    def load(self, overrides):
        # A target resolving to a private, loopback or link-local address is refused unless this is
        # true (API.md §6: true under `make up`, false in compose and Kubernetes).
        self.allow_private_targets = env_bool("WEBHOOKS_ALLOW_PRIVATE_TARGETS", False)
        # One attempt's whole budget: connect, send, the answer's status line and headers.
        self.timeout_s = env_float("WEBHOOKS_TIMEOUT_S", 10.0)
        # Concurrent attempts per worker process, and per endpoint within one process: a slow
        # receiver holds at most its share of the senders, never the others'.
        self.senders = env_int("WEBHOOKS_SENDERS", 16)
        self.per_endpoint = env_int("WEBHOOKS_PER_ENDPOINT_CONCURRENCY", 4)
        # The dispatcher's longest sleep between two looks at the earliest due delivery (woken at
        # once by new deliveries; backs off from 1 s to this while nothing is due).
        self.dispatch_max_sleep = env_float("WEBHOOKS_DISPATCH_MAX_SLEEP", 30.0)
        # Deliveries in a row that end `failed` before the endpoint is disabled.
        self.max_failed_run = env_int("WEBHOOKS_MAX_FAILED_RUN", 20)
        # History: terminal deliveries older than this, or beyond the newest N of an endpoint, go.
        self.retention_days = env_int("WEBHOOKS_DELIVERY_RETENTION_DAYS", 30)
        self.keep_per_endpoint = env_int("WEBHOOKS_DELIVERIES_PER_ENDPOINT", 1000)
        # Endpoints per workspace.
        self.max_endpoints = env_int("WEBHOOKS_MAX_ENDPOINTS_PER_WORKSPACE", 50)
