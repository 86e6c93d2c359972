"""Domain events: the transactional outbox, Socket.IO fan-out and replay (issue 5)."""
