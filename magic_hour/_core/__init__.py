"""The shared HTTP core: pure request building, response parsing and retry policy, plus the two
thin I/O drivers (sync and async) that are the only places where bytes move."""
