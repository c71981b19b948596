"""Password hashing with argon2id (argon2-cffi), parameters from settings; and the digest of the secrets
identity hands out (invitation tokens, PATs), which is all it stores of them."""
import hashlib
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int, concurrency: int = 4):
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Each hash takes `memory_kib`: bound how many run at once so a burst of logins cannot
        # take threads × 64 MiB.
        self.slots = threading.BoundedSemaphore(max(1, concurrency))
        # A hash to verify against when the account does not exist, so that timing does not
        # reveal which emails are registered.
        self._decoy = self.hasher.hash("decoy-password-for-unknown-accounts")

    def hash(self, password: str) -> str:
        with self.slots:
            return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            with self.slots:
                return self.hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
