# SPDX-License-Identifier: BSD-2-Clause
# json encodes objects only its default function can: the C encoder
# (_json) calls back into Python for each. The encoder is made once, as
# json.dumps(obj, default=python_default) would make it, so that no Python
# frame comes and goes with each call. Expected stack in the callback with
# --native, root first:
#   <module>;main;dump_it;encode (json/encoder.py);iterencode (json/encoder.py);
#   <_json frames>;python_default
# (encoder_listencode_list ... where the build has the names; frames of
# _json's file, or of the interpreter's where _json is built in).
import json
import os
import sys
import time


class Point(object):
    def __init__(self, x):
        self.x = x


def python_default(obj):
    n = obj.x
    for _ in range(20):
        n = n * 3 % 1000003
    return n


def dump_it(encoder, data, end):
    while time.time() < end:
        encoder.encode(data)


def main(seconds):
    encoder = json.JSONEncoder(default=python_default)
    data = [Point(i) for i in range(2000)]
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    dump_it(encoder, data, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
