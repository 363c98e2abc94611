"""Back-office plugin contract fixtures (filled by the plugins work)."""

__all__: list[str] = []
