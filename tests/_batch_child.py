"""A batch in a process of its own, for the tests that kill it: ``python _batch_child.py URL TOKEN PHOTOS OUT
[HOLD]`` runs image_background_remover over PHOTOS into OUT against the fake at URL. With HOLD, it prints
``holding`` once the journal is taken and waits for stdin to close."""

from __future__ import annotations

import sys

from magic_hour import Client, batches


def main() -> None:
    url, token, photos, out = sys.argv[1:5]
    hold = len(sys.argv) > 5

    def on_progress(update: batches.BatchUpdate) -> None:
        if hold:
            print("holding", flush=True)
            sys.stdin.read()

    with Client(base_url=url, token=token) as client:
        summary = client.batches.run(
            batches.each_file("image_background_remover", photos),
            output_dir=out,
            max_concurrent_jobs=4,
            poll_interval=0.02,
            on_progress=on_progress,
        )
    print(summary.done, flush=True)


if __name__ == "__main__":
    main()
