"""Gateway settings, from the environment."""
import ipaddress

from libs.common.settings import CommonSettings, env_bool, env_int, env_str

SERVICES = ("identity", "boards", "pilotage", "agents", "automations", "notifications", "webhooks", "mcp")
DEFAULT_PORTS = {"identity": 3101, "boards": 3102, "pilotage": 3103, "agents": 3104, "automations": 3105,
                 "notifications": 3106, "webhooks": 3107, "mcp": 3108}


class Settings(CommonSettings):
    service_name = "gateway"

    def load(self, overrides):
        self.jwt_secret = env_str("JWT_SECRET", "dev-jwt-secret-change-me")
        # <NAME>_URL, else SERVICE_URL_TEMPLATE filled with the service's name and port (Kubernetes
        # and compose: "http://{name}:{port}", so a new service needs no URL of its own).
        template = env_str("SERVICE_URL_TEMPLATE", "http://127.0.0.1:{port}")
        self.service_urls = {name: env_str(f"{name.upper()}_URL", template.format(name=name, port=port))
                             for name, port in DEFAULT_PORTS.items()}
        # The services this deployment runs: /health requires each of them; the others answer 503.
        enabled = env_str("GATEWAY_SERVICES", "identity,boards,pilotage,agents,automations,notifications,webhooks,mcp")
        self.enabled_services = tuple(s.strip() for s in enabled.split(",") if s.strip())
        self.cache_ttl = env_int("GATEWAY_CACHE_TTL", 30)
        self.max_body_bytes = env_int("MAX_BODY_BYTES", 1024 * 1024)
        self.max_upload_bytes = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
        self.cors_origins = env_str("CORS_ORIGINS", "*")
        # Addresses or CIDR ranges of the proxies in front of the gateway (e.g. an ingress's pod network):
        # only their X-Forwarded-For is believed.
        self.trusted_proxies = tuple(ipaddress.ip_network(p.strip(), strict=False)
                                     for p in env_str("TRUSTED_PROXIES", "").split(",") if p.strip())
        self.rate_limit_token_per_min = env_int("RATE_LIMIT_TOKEN_PER_MIN", 6000)
        self.rate_limit_ip_auth_per_min = env_int("RATE_LIMIT_IP_AUTH_PER_MIN", 30)
        self.rate_limit_loopback = env_bool("RATE_LIMIT_LOOPBACK", False)
        self.upstream_timeout = env_int("UPSTREAM_TIMEOUT", 60)
        # Concurrent event streams (…/stream) one user / one token may hold open, per gateway process.
        self.streams_per_user = env_int("STREAMS_PER_USER", 10)
        self.streams_per_token = env_int("STREAMS_PER_TOKEN", 10)
