"""The ATOL driver: protocol 3.1 over transport v3 (serial, USB CDC, TCP 5555)."""
