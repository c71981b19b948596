"""Personal access tokens (PATs): created, listed and revoked with a JWT; resolved by the gateway."""
