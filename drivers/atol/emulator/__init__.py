"""The emulated ATOL register: a front end over :mod:`kkt_bridge.emulation` (see
:mod:`.frontend`): the transport v3 link (:mod:`.link`) and the task handlers
(:mod:`.handlers`) over the kit's virtual register (:mod:`.register`)."""
