"""A stand-in model job for runner tests: prints progress lines, stops cleanly on SIGTERM."""

import signal
import sys
import time

from purrsight_model.progress import Progress

stop = {"flag": False}
signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
steps = int(sys.argv[1])
print("a plain log line", flush=True)
for i in range(1, steps + 1):
    if stop["flag"]:
        print(Progress("align", i, steps, done=True, message="stopped on request").to_json(),
              flush=True)
        sys.exit(0)
    print(Progress("align", i, steps, loss=1.0 / i).to_json(), flush=True)
    time.sleep(0.05)
if sys.argv[2:] == ["fail"]:
    sys.exit(3)
print(Progress("align", steps, steps, done=True, message="finished").to_json(), flush=True)
