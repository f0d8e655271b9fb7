"""Training history in an embedded SQLite database (no server).

Every write is one transaction: a session with all its sets and reps lands whole or not at all,
so a crash, a kill or a full disk never leaves half a session behind. Errors reach the user as a
`StoreError` naming the database and the problem.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
DEFAULT_DB = Path.home() / ".barback" / "history.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS athletes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    max_flexion_deg REAL,
    calibration_json TEXT,
    thresholds_json TEXT NOT NULL DEFAULT '{}',
    mvt_mps REAL,
    created_unix REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    athlete_id INTEGER REFERENCES athletes(id),
    path TEXT NOT NULL,
    exercise TEXT NOT NULL,
    date TEXT NOT NULL,
    analysed_unix REAL NOT NULL,
    n_reps INTEGER NOT NULL,
    thresholds_version TEXT,
    result_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sets (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    set_no INTEGER NOT NULL,
    load_kg REAL,
    n_reps INTEGER NOT NULL,
    best_mean_velocity_mps REAL,
    max_velocity_loss_pct REAL,
    PRIMARY KEY (session_id, set_no)
);
CREATE TABLE IF NOT EXISTS reps (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    set_no INTEGER NOT NULL,
    rep_no INTEGER NOT NULL,
    mean_velocity_mps REAL, peak_velocity_mps REAL, rom_m REAL, velocity_loss_pct REAL,
    peak_lumbar_flexion_deg REAL, peak_lumbar_flexion_pct_max REAL, peak_trunk_inclination_deg REAL,
    flags TEXT NOT NULL,
    PRIMARY KEY (session_id, set_no, rep_no)
);
CREATE TABLE IF NOT EXISTS screens (
    id INTEGER PRIMARY KEY,
    athlete_id INTEGER NOT NULL REFERENCES athletes(id),
    kind TEXT NOT NULL,
    date TEXT NOT NULL,
    passed INTEGER NOT NULL,
    result_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY,
    athlete_id INTEGER NOT NULL REFERENCES athletes(id),
    session_id INTEGER REFERENCES sessions(id),
    pain_before INTEGER NOT NULL CHECK (pain_before BETWEEN 0 AND 10),
    pain_after INTEGER NOT NULL CHECK (pain_after BETWEEN 0 AND 10),
    pain_next_day INTEGER CHECK (pain_next_day BETWEEN 0 AND 10),
    note TEXT,
    created_unix REAL NOT NULL
);
"""


class StoreError(Exception):
    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class SessionRow:
    id: int
    athlete: str | None
    exercise: str
    date: str
    path: str
    n_reps: int
    result: dict


class Store:
    def __init__(self, path: str | Path = DEFAULT_DB, timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            # two processes opening a new database at once: switching it to WAL and creating the
            # schema take a lock that SQLite's busy timeout does not wait for; wait here instead
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    self.db.execute("PRAGMA journal_mode = WAL")
                    self.db.executescript(SCHEMA)
                    self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        except OSError as exc:
            raise StoreError(self.path, f"cannot open ({exc.strerror or exc})") from None

    def _error(self, exc: Exception) -> StoreError:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            return StoreError(self.path, "the database is locked by another barback process; try again when it is done")
        if "not a database" in msg or "malformed" in msg:
            return StoreError(self.path, "not a barback database, or damaged (file is not a valid SQLite database)")
        return StoreError(self.path, f"database error: {msg}")

    @contextmanager
    def transaction(self):
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        self.db.close()

    # -- athletes ---------------------------------------------------------------------------
    def athlete_id(self, name: str, create: bool = False) -> int:
        try:
            row = self.db.execute("SELECT id FROM athletes WHERE name = ?", (name,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        if row:
            return int(row[0])
        if not create:
            raise StoreError(self.path, f"unknown athlete {name!r} (known: {', '.join(self.athletes()) or 'none'})")
        with self.transaction() as db:  # another process may add the same athlete at the same time
            db.execute("INSERT INTO athletes (name, created_unix) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                       (name, time.time()))
            return int(db.execute("SELECT id FROM athletes WHERE name = ?", (name,)).fetchone()[0])

    def athletes(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM athletes ORDER BY name")]

    def athlete(self, name: str) -> dict:
        aid = self.athlete_id(name)
        row = self.db.execute("SELECT max_flexion_deg, calibration_json, thresholds_json, mvt_mps FROM athletes "
                              "WHERE id = ?", (aid,)).fetchone()
        return {"id": aid, "name": name, "max_flexion_deg": row[0],
                "calibration": json.loads(row[1]) if row[1] else None,
                "thresholds": json.loads(row[2] or "{}"), "mvt_mps": row[3]}

    def set_calibration(self, name: str, calibration: dict) -> None:
        aid = self.athlete_id(name, create=True)
        with self.transaction() as db:
            db.execute("UPDATE athletes SET max_flexion_deg = ?, calibration_json = ? WHERE id = ?",
                       (calibration["max_flexion_deg"], json.dumps(calibration), aid))

    def set_athlete_settings(self, name: str, thresholds: dict[str, float] | None = None, mvt_mps: float | None = None) -> None:
        aid = self.athlete_id(name, create=True)
        a = self.athlete(name)
        merged = {**a["thresholds"], **(thresholds or {})}
        with self.transaction() as db:
            db.execute("UPDATE athletes SET thresholds_json = ?, mvt_mps = COALESCE(?, mvt_mps) WHERE id = ?",
                       (json.dumps(merged), mvt_mps, aid))

    # -- sessions ---------------------------------------------------------------------------
    def has_hash(self, content_hash: str) -> bool:
        try:
            return self.db.execute("SELECT 1 FROM sessions WHERE content_hash = ?", (content_hash,)).fetchone() is not None
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def add_session(self, content_hash: str, path: str, athlete: str | None, date: str, result: dict) -> int | None:
        """Store one analysed session with its sets and reps, atomically. None when a session with
        the same content is stored already (by this run or by another batch at the same time)."""
        aid = self.athlete_id(athlete, create=True) if athlete else None
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO sessions (content_hash, athlete_id, path, exercise, date, analysed_unix, n_reps, "
                "thresholds_version, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(content_hash) DO NOTHING",
                (content_hash, aid, path, result["exercise"], date, time.time(), len(result["reps"]),
                 result.get("thresholds_version"), json.dumps(result)))
            if cur.rowcount == 0:
                return None
            sid = int(cur.lastrowid)
            db.executemany("INSERT INTO sets VALUES (?, ?, ?, ?, ?, ?)",
                           [(sid, s["set"], s.get("load_kg"), s["n_reps"], s["best_mean_velocity_mps"],
                             s["max_velocity_loss_pct"]) for s in result["sets"]])
            db.executemany("INSERT INTO reps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(sid, r["set"], r["rep"], r["mean_velocity_mps"], r["peak_velocity_mps"], r["rom_m"],
                             r.get("velocity_loss_pct"), r.get("peak_lumbar_flexion_deg"),
                             r.get("peak_lumbar_flexion_pct_max"), r.get("peak_trunk_inclination_deg"),
                             ",".join(r["flags"])) for r in result["reps"]])
        return sid

    def session_exists(self, sid: int) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is not None

    def sessions(self, athlete: str | None = None) -> list[SessionRow]:
        q = ("SELECT s.id, a.name, s.exercise, s.date, s.path, s.n_reps, s.result_json FROM sessions s "
             "LEFT JOIN athletes a ON a.id = s.athlete_id")
        args: tuple = ()
        if athlete:
            self.athlete_id(athlete)
            q += " WHERE a.name = ?"
            args = (athlete,)
        try:
            rows = self.db.execute(q + " ORDER BY s.date, s.id", args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        return [SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in rows]

    # -- journal ----------------------------------------------------------------------------
    def add_journal(self, athlete: str, before: int, after: int, next_day: int | None = None,
                    session_id: int | None = None, note: str | None = None) -> int:
        for label, v in (("--before", before), ("--after", after), ("--next-day", next_day)):
            if v is not None and not (0 <= v <= 10):
                raise StoreError(self.path, f"{label} must be a pain score from 0 to 10, got {v}")
        aid = self.athlete_id(athlete)
        if session_id is not None and not self.session_exists(session_id):
            raise StoreError(self.path, f"unknown session {session_id}")
        with self.transaction() as db:
            cur = db.execute("INSERT INTO journal (athlete_id, session_id, pain_before, pain_after, pain_next_day, "
                             "note, created_unix) VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (aid, session_id, before, after, next_day, note, time.time()))
            return int(cur.lastrowid)

    def journal(self, athlete: str | None = None) -> list[dict]:
        rows = self._of_athlete("SELECT j.id, a.name, j.session_id, j.pain_before, j.pain_after, j.pain_next_day, "
                                "j.note FROM journal j JOIN athletes a ON a.id = j.athlete_id", athlete, "j.id")
        return [dict(zip(("id", "athlete", "session_id", "before", "after", "next_day", "note"), r)) for r in rows]

    def _of_athlete(self, query: str, athlete: str | None, order: str) -> list[tuple]:
        """Rows of a query joined to athletes as `a`, of one athlete (or all), in `order`."""
        where, args = (" WHERE a.name = ?", (athlete,)) if athlete else ("", ())
        return self.db.execute(f"{query}{where} ORDER BY {order}", args).fetchall()

    # -- screens ----------------------------------------------------------------------------
    def add_screen(self, athlete: str, kind: str, date: str, result: dict) -> int:
        """A movement screen's result (the hip-hinge screen: analysis.screen.HingeScreen.to_dict())."""
        aid = self.athlete_id(athlete, create=True)
        with self.transaction() as db:
            cur = db.execute("INSERT INTO screens (athlete_id, kind, date, passed, result_json) VALUES (?, ?, ?, ?, ?)",
                             (aid, kind, date, int(bool(result.get("passed"))), json.dumps(result)))
            return int(cur.lastrowid)

    def screens(self, athlete: str | None = None) -> list[dict]:
        rows = self._of_athlete("SELECT s.id, a.name, s.kind, s.date, s.passed, s.result_json FROM screens s "
                                "JOIN athletes a ON a.id = s.athlete_id", athlete, "s.date, s.id")
        return [{"id": r[0], "athlete": r[1], "kind": r[2], "date": r[3], "passed": bool(r[4]), "result": json.loads(r[5])}
                for r in rows]

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
