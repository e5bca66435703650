"""Application factory."""

from litestar import Litestar, get

from receiver import __version__


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def create_app() -> Litestar:
    return Litestar(route_handlers=[health])
