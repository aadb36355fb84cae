"""Gradio's floor: a one-line echo app with the app's queue settings, for the benchmark.

    python -m benchmarks.echo --port 7861

/echo returns its text. Whatever it costs through gradio_client (the queue, the SSE stream, the
transport) is the floor under every request to the real app, measured in the same run.
"""

from __future__ import annotations

import argparse

import gradio as gr

from bertviz_lite.ui import CONCURRENCY, QUEUE_SIZE, SESSIONS


def echo(text: str) -> str:
    return text


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        text, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(echo, text, out, api_name="echo", concurrency_id="model")
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.echo", description=__doc__)
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args(argv)
    demo = build()
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    demo.launch(server_name="127.0.0.1", server_port=args.port, show_error=False,
                state_session_capacity=SESSIONS)  # fmt: skip


if __name__ == "__main__":
    main()
