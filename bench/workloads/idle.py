# SPDX-License-Identifier: BSD-2-Clause
"""A Python process that sleeps (never on a CPU): prints 'ready', then
sleeps until killed."""
import sys
import time

sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    time.sleep(3600)
