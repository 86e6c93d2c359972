"""The kernel: what every context stands on.

Settings (`config`), engines and the dialect seam (`db`), the tables (`models`), moments in UTC
(`clock`), migrations (`migrate`, `migrations/`), the error family (`errors`), idempotency keys
(`idempotency`), the reloading caches (`reloading`), shared-store checks (`shared_stores`) and the
process's `runtime`.

One rule for transactions (the unit of work):
- The adapter owns the unit of work and commits it: a request's view (gridsvc.web, mobile_api), a CLI
  command (gridsvc.cli), a loop with a session of its own (the deadline sweep, case by case; the
  events relay), a fixture loader.
- A domain function works in the caller's transaction: it flushes and never commits or rolls back
  ("flushes; the caller commits" in its docstring). A refusal it raises leaves the rollback to the
  adapter (closing the session without a commit is one).
- Where the database settles a race (a client UUID, an acknowledgement, a photo, a rating, a patrol
  batch, a case's row version), the domain function writes inside a SAVEPOINT (`with
  session.begin_nested():` and a flush), catches the IntegrityError and reads the winner: only the
  savepoint is rolled back, the caller's transaction goes on. On SQLite a savepoint opens the
  transaction as a writer when none is open yet (`db._begin_before_savepoint` says why).
- A sign-in is committed in two steps by its view: the attempt first, then the check, so that
  simultaneous guesses all count (gridsvc.accounts.users.record_attempt).

May import: gridsvc.geo only.
"""
