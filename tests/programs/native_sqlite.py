# SPDX-License-Identifier: BSD-2-Clause
# A query calls a Python function registered with create_function, so
# SQLite calls back into Python. Expected stack in the callback with
# --native, root first:
#   <module>;main;query_it;<_sqlite3 frames>;<libsqlite3 frames>;py_func
# (sqlite3_step, sqlite3VdbeExec ... where the build has the names).
import os
import sqlite3
import sys
import time


def py_func(x):
    n = x
    for _ in range(50):
        n = n * 3 % 1000003
    return n


def query_it(conn, end):
    while time.time() < end:
        conn.execute("select f(x) from t").fetchall()


def main(seconds):
    conn = sqlite3.connect(":memory:")
    conn.create_function("f", 1, py_func)
    conn.execute("create table t (x integer)")
    conn.executemany("insert into t values (?)", [(i,) for i in range(1000)])
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    query_it(conn, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
