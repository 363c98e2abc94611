"""The emulated Shtrih-M register.

:mod:`.device` is the register itself (state, tables, ФН archive) behind one method,
``EmulatedDevice.handle(request_body) -> answer_body``; the link modules put it on a
pseudo-terminal or a TCP socket.
"""
