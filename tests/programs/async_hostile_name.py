"""A task whose name would drive a terminal and forge lines and frames: it
spins, and prints "ready" once it runs."""
import asyncio

NAME = "evil\x1b]0;pwned\x07;x\nforged (a.py:1) 99\r\u202e"


def burn(n):
    x = 0
    for i in range(n):
        x += i
    return x


async def spin():
    print("ready", flush=True)
    while True:
        burn(10000)
        await asyncio.sleep(0)


async def main():
    await asyncio.create_task(spin(), name=NAME)


asyncio.run(main())
