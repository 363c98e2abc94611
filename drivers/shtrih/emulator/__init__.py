"""The emulated Shtrih-M register.

:mod:`.device` is the register itself behind one method,
``EmulatedDevice.handle(request_body) -> answer_body``; the link modules (:mod:`.server`,
:mod:`.link`, :mod:`.api`) put it on a pseudo-terminal or a TCP socket.

Inside the device: :mod:`.core` (modes, passwords, paper, making a fiscal document), the
command handlers ``ops_*`` (one module per family, registered in :mod:`.dispatch`),
:mod:`.tables` (tables 1, 2, 17, 18, 19), :mod:`.sale` (an open receipt and its VAT),
:mod:`.documents` (what each fiscal document holds), :mod:`.archive` (the ФН: numbered,
signed FFD TLV), :mod:`.state` and :mod:`.statefile` (what survives a restart),
:mod:`.profile` (registration data, RNM check digits) and :mod:`.clock`.
"""
