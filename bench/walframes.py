#!/usr/bin/env python3
"""What a write costs the disk: the WAL frames (pages) Canopy's SQLite file store appends.

  walframes.py hold DB         open a read transaction on DB and keep it until stdin closes.
                               While it is held no checkpoint can copy frames back or restart the
                               WAL, so every frame written meanwhile stays in the file.
  walframes.py mark WAL        print a mark of the WAL's end now (take it while held).
  walframes.py count WAL MARK  parse the frames appended to WAL after MARK; print JSON: frames,
                               commits, bytes, distinct pages per commit.

Frame layout (sqlite.org/fileformat2.html#walformat): a 32-byte header (page size at byte 8,
salts at 16..24), then frames of a 24-byte header (page number, database size after commit —
non-zero only on a transaction's last frame —, the two salts, a checksum) and one page. After a
checkpoint SQLite restarts the WAL from its start with new salts without shortening the file, so
the current frames are those up to the first one whose salts differ from the header's. A hold
taken when every frame had been copied back does not stop the next write from restarting the
WAL (the reader reads only the database file), but it does stop any later checkpoint: so when
the salts changed since the mark, every current frame is new.
"""
import json
import sqlite3
import struct
import sys


def hold(db):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT COUNT(*) FROM counters").fetchone()
    print("held", flush=True)
    sys.stdin.read()
    conn.execute("COMMIT")


def frames_of(wal):
    """(page size, salts, [(page number, commit size)] of the WAL's current frames)."""
    with open(wal, "rb") as f:
        data = f.read()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frame = 24 + page_size
    out = []
    for off in range(32, len(data) - frame + 1, frame):
        if data[off + 8:off + 16] != salts:
            break
        out.append(struct.unpack(">II", data[off:off + 8]))
    return page_size, salts.hex(), out


def count(wal, mark):
    page_size, salts, frames = frames_of(wal)
    mark_salts, mark_frames = mark.split(":")
    start = int(mark_frames) if salts == mark_salts else 0
    if len(frames) < start:
        sys.exit(f"the WAL holds {len(frames)} frames, fewer than the mark {start}")
    commits = distinct = 0
    pages = set()
    for pgno, commit_size in frames[start:]:
        pages.add(pgno)
        if commit_size:
            commits += 1
            distinct += len(pages)
            pages = set()
    n = len(frames) - start
    print(json.dumps({"page_size": page_size, "frames": n, "commits": commits,
                      "bytes": n * (24 + page_size), "distinct_pages": distinct}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"] and len(sys.argv) == 3:
        hold(sys.argv[2])
    elif sys.argv[1:2] == ["mark"] and len(sys.argv) == 3:
        _, salts, frames = frames_of(sys.argv[2])
        print(f"{salts}:{len(frames)}")
    elif sys.argv[1:2] == ["count"] and len(sys.argv) == 4:
        count(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
