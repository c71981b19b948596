"""Notifications settings, from the environment."""
from libs.common.settings import CommonSettings, env_duration, env_int


class Settings(CommonSettings):
    service_name = "notifications"

    def load(self, overrides):
        # Notifications older than this are deleted (TTL index + the worker's periodic purge).
        self.retention_days = env_int("NOTIFICATIONS_RETENTION_DAYS", 90)
        # Read notifications kept per user (the newest; unread ones are all kept): "mark all as read"
        # deletes the older ones, so a user's list and count cost what is recent, not their history.
        self.keep_read = env_int("NOTIFICATIONS_KEEP_READ", 500)
        self.purge_interval = env_duration("NOTIFICATIONS_PURGE_INTERVAL", "1h")
        # How often the worker logs its counters (handled, skipped, retried, deadLettered) when they moved.
        self.stats_interval = env_duration("NOTIFICATIONS_STATS_INTERVAL", "60s")
        # The SSE stream: safety poll of the database (one per web process, for all its streams; a
        # NATS wake-up usually comes first), heartbeat comment, and the longest a stream stays open
        # before the client reconnects.
        self.stream_poll_ms = env_int("NOTIFICATIONS_STREAM_POLL_MS", 5000)
        self.stream_heartbeat = env_duration("NOTIFICATIONS_STREAM_HEARTBEAT", "15s")
        self.stream_max_age = env_duration("NOTIFICATIONS_STREAM_MAX_AGE", "1h")
