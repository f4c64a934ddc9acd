"""Reads an event file with TensorBoard's own loader and prints one JSON line.

The loader is `plugin_event_accumulator.EventAccumulator`, which TensorBoard
itself uses, with sampling off (every point kept), as the conformance corpus
was read. Only the load is timed, not the interpreter start or the import.
"""

import json
import sys
import time

from tensorboard.backend.event_processing import plugin_event_accumulator


def main() -> None:
    path = sys.argv[1]
    started = time.perf_counter()
    accumulator = plugin_event_accumulator.EventAccumulator(
        path, size_guidance={plugin_event_accumulator.TENSORS: 0}
    )
    accumulator.Reload()
    points = sum(len(accumulator.Tensors(tag)) for tag in accumulator.Tags()["tensors"])
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "points": points}))


if __name__ == "__main__":
    main()
