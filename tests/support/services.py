"""Reachability of the external services the PostgreSQL pass needs.

Run as `python -m tests.support.services`: exits 0 when DATABASE_URL's PostgreSQL and
REDIS_URL's Redis both answer, 1 (with one line saying which) otherwise.
"""

import os
import sys

import environ


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL at `url` accepts a connection, else why not."""
    import psycopg

    cfg = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(
            host=cfg["HOST"] or None,
            port=cfg["PORT"] or None,
            user=cfg["USER"] or None,
            password=cfg["PASSWORD"] or None,
            dbname=cfg["NAME"],
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {url} is not reachable: {exc}".strip()


def redis_problem(url: str) -> str | None:
    """None when Redis at `url` answers PING, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return None
    except redis.RedisError as exc:
        return f"Redis at {url} is not reachable: {exc}"


def main() -> int:
    problems = [
        p
        for p in (
            postgres_problem(os.environ["DATABASE_URL"]),
            redis_problem(os.environ["REDIS_URL"]),
        )
        if p
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
