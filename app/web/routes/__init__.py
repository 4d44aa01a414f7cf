"""One router per area: pages, exercises, instruments, runner, api."""
