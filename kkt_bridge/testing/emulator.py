"""The kkt_emulator fixture (filled by the emulator work)."""

__all__: list[str] = []
