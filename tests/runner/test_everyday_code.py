"""What students write besides the chapter's snippets still runs under the seccomp allow list.

These snippets are also part of what `tests/runner/trace_syscalls.py` traces to derive
the allow list: each one stands for a kind of everyday code (threads that finish,
files in the scratch directory, clocks, hashing, JSON, NumPy I/O, figures to files).
"""

from __future__ import annotations

import pytest

from tests.runner.conftest import PoolHarness

EVERYDAY = {
    "threads-join": (
        "import threading\nresults = []\n"
        "threads = [threading.Thread(target=results.append, args=(n,)) for n in range(3)]\n"
        "for t in threads: t.start()\nfor t in threads: t.join()\nprint(sorted(results))\n",
        "[0, 1, 2]\n",
    ),
    "thread-pool": (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(max_workers=2) as pool:\n    print(sum(pool.map(lambda n: n * n, range(10))))\n",
        "285\n",
    ),
    "scratch-files": (
        "import os, pathlib, shutil, tempfile\n"
        "pathlib.Path('data').mkdir()\npathlib.Path('data/a.txt').write_text('hello')\n"
        "shutil.copy('data/a.txt', 'data/b.txt')\nos.rename('data/b.txt', 'data/c.txt')\n"
        "with tempfile.NamedTemporaryFile('w', dir='.', delete=False) as handle:\n    handle.write('x')\n"
        "os.remove(handle.name)\nprint(sorted(os.listdir('data')), os.path.getsize('data/a.txt'))\n"
        "shutil.rmtree('data')\nprint(os.path.exists('data'), os.access('.', os.W_OK))\n",
        "['a.txt', 'c.txt'] 5\nFalse True\n",
    ),
    "clocks-and-sleep": (
        "import time, datetime\nstart = time.perf_counter()\ntime.sleep(0.01)\n"
        "print(time.perf_counter() - start >= 0.01, time.process_time() >= 0, time.time() > 0)\n"
        "print(datetime.datetime.now().year > 2000, time.monotonic() > 0, time.thread_time() >= 0)\n",
        "True True True\nTrue True True\n",
    ),
    "randomness-and-hashing": (
        "import hashlib, os, random, secrets, uuid\n"
        "print(len(os.urandom(8)), len(secrets.token_hex(4)), 0 <= random.random() < 1, uuid.uuid4().version)\n"
        "print(hashlib.sha256(b'abc').hexdigest()[:8])\n",
        "8 8 True 4\nba7816bf\n",
    ),
    "json-csv-and-text": (
        "import csv, io, json, re, textwrap, collections\n"
        "print(json.loads(json.dumps({'a': [1, 2]})), collections.Counter('abca').most_common(1))\n"
        "rows = list(csv.reader(io.StringIO('x,y\\n1,2\\n')))\nprint(rows, re.findall(r'\\d', 'a1b2'))\n",
        "{'a': [1, 2]} [('a', 2)]\n[['x', 'y'], ['1', '2']] ['1', '2']\n",
    ),
    "numpy-io": (
        "import numpy as np\na = np.arange(6.0).reshape(2, 3)\nnp.save('a.npy', a)\nnp.savetxt('a.csv', a)\n"
        "print(np.array_equal(np.load('a.npy'), a), np.loadtxt('a.csv').shape, np.linalg.eigvalsh(a @ a.T).shape)\n",
        "True (2, 3) (2,)\n",
    ),
    "faulthandler-on": (
        "import faulthandler\nlog = open('crash.log', 'w')\nfaulthandler.enable(file=log)\n"
        "print(faulthandler.is_enabled())\nfaulthandler.disable()\nprint(faulthandler.is_enabled())\n",
        "True\nFalse\n",
    ),
    "figure-to-file": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.hist([1, 2, 2, 3])\nfig.savefig('h.png')\n"
        "import os\nprint(os.path.getsize('h.png') > 1000)\nplt.close(fig)\n",
        "True\n",
    ),
    "system-queries": (
        "import os, platform, resource, sys\n"
        "print(os.cpu_count() is None or os.cpu_count() >= 1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0)\n"
        "print(platform.system(), os.uname().sysname, os.getpid(), os.getcwd() in ('/tmp', '/scratch'))\n",
        "True True\nLinux Linux 1 True\n",
    ),
    "asyncio": (
        "import asyncio\nasync def twice(n):\n    await asyncio.sleep(0.01)\n    return 2 * n\n"
        "async def main():\n    return await asyncio.gather(*(twice(n) for n in range(3)))\n"
        "print(asyncio.run(main()))\n",
        "[0, 2, 4]\n",
    ),
    "unix-socketpair-and-thread": (
        "import socket, threading\nleft, right = socket.socketpair()\n"
        "worker = threading.Thread(target=lambda: left.sendall(b'ping'))\nworker.start(); worker.join()\n"
        "print(right.recv(4).decode())\n",
        "ping\n",
    ),
    "input-and-exceptions": (
        "try:\n    input()\nexcept EOFError:\n    print('no input')\n"
        "import warnings\nwarnings.warn('careful')\nprint('done')\n",
        "no input\ndone\n",
    ),
}


@pytest.mark.parametrize("name", sorted(EVERYDAY))
def test_everyday_code_runs(runner: PoolHarness, name: str) -> None:
    code, expected = EVERYDAY[name]
    result = runner.run(code)
    assert result.status == "ok", result.stderr
    assert result.stdout == expected
