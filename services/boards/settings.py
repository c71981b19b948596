"""Boards settings, from the environment."""
from libs.common.settings import CommonSettings, env_int, env_str


class Settings(CommonSettings):
    service_name = "boards"

    def load(self, overrides):
        self.s3_endpoint = env_str("S3_ENDPOINT", "http://127.0.0.1:8333")
        self.s3_bucket = env_str("S3_BUCKET", "stellary-attachments")
        self.s3_access_key = env_str("S3_ACCESS_KEY", "stellary")
        self.s3_secret_key = env_str("S3_SECRET_KEY", "stellary-secret")
        self.s3_region = env_str("S3_REGION", "us-east-1")
        self.max_upload_bytes = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
