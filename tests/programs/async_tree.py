"""A known asyncio task tree: main() gathers WORKERS worker tasks (argv[1],
default 3; in an asyncio.TaskGroup instead when argv[2] is "taskgroup"),
each of which awaits a sub-task of its own that spins (CPU work with an
await now and then, so that the spinners take turns). Prints each task's
name, then "ready" once every spinner has run."""
import asyncio
import sys

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
GROUP = len(sys.argv) > 2 and sys.argv[2] == "taskgroup"
started = set()


def burn(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


async def spin(k):
    while True:
        burn(20000)  # spin: burn
        started.add(k)
        if len(started) == WORKERS and not getattr(spin, "said", False):
            spin.said = True
            print("ready", flush=True)
        await asyncio.sleep(0)  # spin: sleep


async def worker(k):
    await asyncio.create_task(spin(k), name="spinner-%d" % k)  # await: worker


async def main():
    for k in range(WORKERS):
        print("task worker-%d spinner-%d" % (k, k), flush=True)
    if GROUP:
        async with asyncio.TaskGroup() as tg:  # await: group
            for k in range(WORKERS):
                tg.create_task(worker(k), name="worker-%d" % k)
        return
    await asyncio.gather(*(asyncio.create_task(worker(k), name="worker-%d" % k)  # await: main
                           for k in range(WORKERS)))


asyncio.run(main())
