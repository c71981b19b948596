"""Sessions: login (a JWT for an email and password), failed-password throttling, and the principal the
gateway resolves a JWT's subject to."""
