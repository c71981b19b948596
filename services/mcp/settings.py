"""mcp settings, from the environment."""
from libs.common.settings import CommonSettings, env_duration, env_float, env_int, env_str


class Settings(CommonSettings):
    service_name = "mcp"

    def load(self, overrides):
        # Every tool calls the REST API here, with the caller's own bearer token (see README.md).
        self.gateway_url = env_str("GATEWAY_URL", "http://127.0.0.1:3001").rstrip("/")
        # How long one REST call of a tool may take.
        self.upstream_timeout = env_float("MCP_UPSTREAM_TIMEOUT", 30.0)
        # Recorded tool calls are kept this many days (a TTL index, and an hourly indexed delete).
        self.call_retention_days = env_int("MCP_CALL_RETENTION_DAYS", 30)
        self.prune_interval = env_duration("MCP_PRUNE_INTERVAL", "1h")
        # The most cards get_board returns (the board's first cards by column order).
        self.board_max_cards = env_int("MCP_BOARD_MAX_CARDS", 1000)
