"""pyserial URL handler for ``qemu://``: the emulated Cortex-M4 board.

Registering this package in ``serial.protocol_handler_packages`` (as :mod:`tinybench.wire.link`
does for ``tinybench.sim.urlhandler``) lets ``open_link("qemu://build/export/gesture")`` build,
boot and open the emulated board in one call.
"""
