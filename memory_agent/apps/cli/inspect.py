"""``memory-agent inspect``: serve the memory inspector (needs the ``inspect`` extra)."""

from __future__ import annotations

import contextlib

import click

from memory_agent.apps.cli.common import global_options, progress, say, settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (the default: this machine only)")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="port to listen on (default: a free one)")
@click.option("--no-browser", is_flag=True, help="print the address but open no browser")
@global_options
@click.pass_context
def inspect(ctx: click.Context, host: str, port: int, no_browser: bool) -> None:
    """A local web app to see, check and correct what is remembered.

    Prints an address with a secret token (open it to get in) and serves every stored user
    until Ctrl-C: profiles with each fact's source turn, in-place edits, forgetting, the
    summary tree, a recall playground with score parts, sessions and background jobs.
    """
    try:
        from memory_agent.apps.inspect import InspectorServer, open_workspace
    except ImportError as error:
        msg = (f"memory-agent inspect needs the 'inspect' extra: "
               f"pip install 'memory-agent[inspect]' ({error})")
        raise click.ClickException(msg) from error
    import webbrowser

    if host not in LOOPBACK:
        progress(f"listening on {host}: anyone who can reach it and has the token can read "
                 "and change this memory")
    s = settings(ctx)
    workspace = open_workspace(data_dir=s.data_dir, server_url=s.server_url, model=s.model,
                               n_threads=s.threads, n_ctx=s.n_ctx)
    server = InspectorServer(workspace, host=host, port=port).start()
    say(f"memory inspector: {server.url}")
    say("(the token in the address is the key; Ctrl-C stops the server)")
    if not no_browser:
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(server.url)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        workspace.close()
