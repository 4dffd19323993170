"""The schema, as named migrations for each SQL dialect.

A database records the names of the migrations applied to it (table `migrations`); opening it
applies the missing ones in order. Migrations only ever add: nothing is dropped or rewritten,
so opening an older database upgrades it without losing a row.
"""

from __future__ import annotations

from tuilabel.store.base import MAX_K

_LABEL_COLS_SQLITE = ",\n    ".join(
    f"label{i} TEXT, score{i} REAL" for i in range(1, MAX_K + 1)
)
_LABEL_COLS_MYSQL = ",\n    ".join(
    f"label{i} VARCHAR(255) NULL, score{i} DOUBLE NULL" for i in range(1, MAX_K + 1)
)

LABEL_COLUMNS = [c for i in range(1, MAX_K + 1) for c in (f"label{i}", f"score{i}")]

SQLITE_MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "0001_initial",
        [
            f"""CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    tweet_id TEXT NOT NULL,
    media_id TEXT,
    url TEXT NOT NULL,
    url_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    k INTEGER NOT NULL,
    {_LABEL_COLS_SQLITE},
    rand_key INTEGER NOT NULL,
    n_ratings INTEGER NOT NULL DEFAULT 0,
    labeled_at TEXT NOT NULL
)""",
            "CREATE UNIQUE INDEX images_photo ON images (model, url_hash, tweet_id)",
            "CREATE INDEX images_queue_random ON images (n_ratings, rand_key)",
            "CREATE INDEX images_queue_oldest ON images (n_ratings, id)",
            "CREATE INDEX images_queue_uncertain ON images (n_ratings, score1)",
            """CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images (id),
    rater TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('top1', 'top5', 'none', 'unrateable')),
    rated_at TEXT NOT NULL
)""",
            "CREATE UNIQUE INDEX ratings_image_rater ON ratings (image_id, rater)",
            "CREATE INDEX ratings_rater ON ratings (rater)",
            """CREATE TABLE failures (
    id INTEGER PRIMARY KEY,
    tweet_id TEXT NOT NULL,
    url TEXT NOT NULL,
    url_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 1,
    failed_at TEXT NOT NULL
)""",
            "CREATE UNIQUE INDEX failures_photo ON failures (model, url_hash, tweet_id)",
            """CREATE TABLE claims (
    image_id INTEGER NOT NULL,
    rater TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (image_id, rater)
)""",
        ],
    ),
]

MYSQL_MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "0001_initial",
        [
            f"""CREATE TABLE images (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tweet_id VARCHAR(64) NOT NULL,
    media_id VARCHAR(64) NULL,
    url TEXT NOT NULL,
    url_hash CHAR(40) NOT NULL,
    model VARCHAR(191) NOT NULL,
    k INT NOT NULL,
    {_LABEL_COLS_MYSQL},
    rand_key BIGINT NOT NULL,
    n_ratings INT NOT NULL DEFAULT 0,
    labeled_at VARCHAR(32) NOT NULL,
    UNIQUE KEY images_photo (model, url_hash, tweet_id),
    KEY images_queue_random (n_ratings, rand_key),
    KEY images_queue_oldest (n_ratings, id),
    KEY images_queue_uncertain (n_ratings, score1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            """CREATE TABLE ratings (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    image_id BIGINT NOT NULL,
    rater VARCHAR(191) NOT NULL,
    verdict VARCHAR(16) NOT NULL,
    rated_at VARCHAR(32) NOT NULL,
    UNIQUE KEY ratings_image_rater (image_id, rater),
    KEY ratings_rater (rater),
    CONSTRAINT ratings_image FOREIGN KEY (image_id) REFERENCES images (id),
    CONSTRAINT ratings_verdict CHECK (verdict IN ('top1', 'top5', 'none', 'unrateable'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            """CREATE TABLE failures (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tweet_id VARCHAR(64) NOT NULL,
    url TEXT NOT NULL,
    url_hash CHAR(40) NOT NULL,
    model VARCHAR(191) NOT NULL,
    reason VARCHAR(64) NOT NULL,
    detail TEXT NOT NULL,
    attempts INT NOT NULL DEFAULT 1,
    failed_at VARCHAR(32) NOT NULL,
    UNIQUE KEY failures_photo (model, url_hash, tweet_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            """CREATE TABLE claims (
    image_id BIGINT NOT NULL,
    rater VARCHAR(191) NOT NULL,
    expires_at DOUBLE NOT NULL,
    PRIMARY KEY (image_id, rater)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
        ],
    ),
]
