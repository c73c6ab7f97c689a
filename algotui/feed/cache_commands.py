"""``algotui cache``: list or clear the on-disk cache of downloaded market data."""

import typer

cache_app = typer.Typer(help="The on-disk cache of downloaded market data.")


@cache_app.callback(invoke_without_command=True)
def _cache_default(ctx: typer.Context) -> None:
    """With no subcommand, ``algotui cache`` lists the cache."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(cache_list)


@cache_app.command("list")
def cache_list() -> None:
    """List cached downloads with their size and age."""
    from algotui.feed.cache import cache_dir, format_age, list_cache

    entries = list_cache()
    print(f"cache: {cache_dir()}")
    if not entries:
        print("(empty)")
    for e in entries:
        rows = "?" if e.rows is None else f"{e.rows:,}"
        age = "unreadable" if e.age_seconds is None else f"{format_age(e.age_seconds)} ago"
        print(f"{e.name:<48} {rows:>9} rows {e.size / 1024:>9,.1f} KiB  {age}")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached download."""
    from algotui.feed.cache import cache_dir, clear_cache

    print(f"removed {clear_cache()} cached files from {cache_dir()}")
