"""A process of the multi-instance election test: run_while_leader with a unit of work that appends
'<pid> <time>' to a shared file. Usage: python -m tests.faults.leader_worker DB_URL LOCK_DIR OUT_FILE"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from foundation.db import open_database
from foundation.leader import LeaderLock
from hotline.singleton import run_while_leader


def main() -> None:
    url, lock_dir, out = sys.argv[1:4]
    lock = LeaderLock(open_database(url).engine, "scheduler", Path(lock_dir))

    def work() -> None:
        with open(out, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {time.time():.3f}\n")

    run_while_leader(lock, work, interval_s=0.1, stop=threading.Event())


if __name__ == "__main__":
    main()
