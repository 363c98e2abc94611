"""pyserial URL handlers of kkt-bridge (``serial.protocol_handler_packages`` entry).

pyserial imports ``<package>.protocol_<scheme>`` for a ``<scheme>://`` URL; this package
holds ``protocol_usb``. :func:`kkt_bridge.link.opener.register_handlers` adds it.
"""
