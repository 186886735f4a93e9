"""What every app may use: paging, capped counts, rate limits, text checks, the admin guard
and the outbox. It imports no app of the platform."""
