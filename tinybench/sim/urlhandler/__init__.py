"""pyserial URL handlers that tinybench adds: ``sim://`` (the virtual board).

:mod:`tinybench.wire.link` appends this package to ``serial.protocol_handler_packages``, so
``serial.serial_for_url("sim://nano33ble?seed=1")`` finds
:mod:`tinybench.sim.urlhandler.protocol_sim`, the same way pyserial finds its own
``serial.urlhandler.protocol_loop`` for ``loop://``.
"""
