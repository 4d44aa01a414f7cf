"""Where student code runs: in this process's own sandboxed pool, or on a fleet of runner services.

The web app holds one `CodeRunner` (code_runner.py) and does not care which it is:

* `LocalRunner`: today's in-process `RunnerPool` (the default; `./dev serve` is one command);
* `RemoteRunners`: the web app's client of `textbook runner serve` processes listed in
  `TEXTBOOK_RUNNER_URLS` (remote.py), spread, health-checked and retried (endpoints.py).

`service.py` is the runner service itself: the pool behind `POST /v1/run` and `GET /v1/health`.
"""
