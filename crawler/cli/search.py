"""`newsingest search`: ranked full-text search over stored articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from crawler.cli.export import article_filter, check_source_known, filter_options
from crawler.cli.main import config_of, main, read_database_url

DEFAULT_SEARCH_DAYS = 90
"""Without --since or --all-dates, search covers articles published in this many days."""


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True)
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--days",
    default=DEFAULT_SEARCH_DAYS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Articles published in the last N days (ignored with --since or --all-dates).",
)
@click.option("--all-dates", is_flag=True, help="No date window (undated articles included).")
@click.option(
    "--candidates",
    default=None,
    type=click.IntRange(min=1),
    help="Rank at most this many matches, the newest (default: 1000).",
)
@click.pass_context
def search(
    ctx: click.Context,
    words: tuple[str, ...],
    source_key: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    credit: str | None,
    full_only: bool,
    limit: int,
    days: int,
    all_dates: bool,
    candidates: int | None,
) -> None:
    """Search articles: words, "quoted phrases", OR, -excluded (web-search syntax).

    The words may be given as one argument or several (`search Hafen -Streik`,
    `search '"Hafen Streik"'`); `--` ends the options.

    Without --language each article is matched in its own language; with it, only
    articles in that language, and the query is stemmed for it. Best match first.

    Bounded: articles published in the last --days (90) unless --since or --all-dates,
    and of the matches only the newest --candidates (1000) are ranked; a line on stderr
    states the window and says when results were cut.
    """
    from storage import db, queries

    query = " ".join(words)
    filters = article_filter(source_key, language, since, until, credit, full_only)
    window = ""
    if since is None and not all_dates:
        start = (datetime.now(UTC) - timedelta(days=days)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        filters = article_filter(source_key, language, start, until, credit, full_only)
        window = (
            f"published since {start:%Y-%m-%d} (the last {days} days;"
            " --days N, --since D or --all-dates to widen)"
        )
    elif since is not None:
        window = f"published since {filters.since:%Y-%m-%d}"
    cap = candidates or queries.SEARCH_CANDIDATES
    with db.session_scope(read_database_url(config_of(ctx))) as session:
        check_source_known(session, source_key)
        result = queries.search(session, query, filters, limit=limit, candidates=cap)
    for hit in result.hits:
        date = f"{hit.published_at:%Y-%m-%d}" if hit.published_at else "----------"
        click.echo(
            f"{hit.id}  {date}  {hit.source_key or '-'}  {hit.language or '-'}  "
            f"rank={hit.rank:.3f}  {hit.url}"
        )
        if hit.title:
            click.echo(f"    {hit.title}")
        click.echo(f"    {hit.headline}")
        click.echo("")
    scope = f"articles {window}" if window else "articles of any date"
    if result.cut:
        click.echo(
            f"results cut: more than {cap} {scope} match; the newest {cap} were ranked"
            " (narrow the query or the dates, or --candidates N)",
            err=True,
        )
    elif not result.hits:
        click.echo(f"no matching articles among {scope}", err=True)
    else:
        click.echo(f"{result.candidates} matching {scope}, best {len(result.hits)} shown", err=True)
