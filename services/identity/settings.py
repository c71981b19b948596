"""Identity settings, from the environment."""
from libs.common.settings import CommonSettings, env_duration, env_int, env_str


class Settings(CommonSettings):
    service_name = "identity"

    def load(self, overrides):
        self.jwt_secret = env_str("JWT_SECRET", "dev-jwt-secret-change-me")
        self.jwt_expires_in = env_duration("JWT_EXPIRES_IN", "7d")
        self.password_time_cost = env_int("PASSWORD_HASH_TIME_COST", 3)
        self.password_memory_kib = env_int("PASSWORD_HASH_MEMORY_KIB", 65536)
        self.password_concurrency = env_int("PASSWORD_HASH_CONCURRENCY", 4)
        self.login_max_failures = env_int("LOGIN_MAX_FAILURES", 5)                  # per (account, address)
        self.login_account_max_failures = env_int("LOGIN_ACCOUNT_MAX_FAILURES", 50)  # per account, from anywhere
        self.login_lock_seconds = env_int("LOGIN_LOCK_SECONDS", 30)
        self.login_lock_max_seconds = env_int("LOGIN_LOCK_MAX_SECONDS", 900)
        self.invitation_ttl = env_duration("INVITATION_TTL", "7d")
        self.smtp_url = env_str("SMTP_URL")
        self.smtp_from = env_str("SMTP_FROM", "stellary@localhost")
        self.public_url = env_str("PUBLIC_URL", "http://localhost:3001")
